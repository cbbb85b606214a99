"""Every cluster command against every misbehaving peer: one line, exit 2, no traceback, no
hang, nothing written — and `status --update-roadmap` leaves the roadmap byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import EXPECTED, PEERS, assert_clean_failure, kubeconfig_for, run_cli, sums
from peers import Peer

TIMEOUT = ["--request-timeout", "2"]
COMMANDS: dict[str, list[str]] = {
    "status": ["status"],
    "policy-readiness": ["policy", "readiness"],
    "drill-backup": ["drill", "backup", "--namespace", "apps"],
    "logs-compare": ["logs", "compare"],
    "reloader-live": ["reloader", "plan", "--live"],
    "validate-server": ["validate", "tree", "--server"],
}
ROADMAP = """\
# Homelab roadmap

## Priority: High

### Velero - Backups
**Status:** Done

- [x] Install Velero
- [x] Configure S3-compatible backend
- [x] Test restore procedure
"""


def sandbox(tmp_path: Path, peer: Peer) -> Path:
    kubeconfig_for(tmp_path / "kubeconfig", peer)
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: apps\n")
    (tmp_path / "ROADMAP.md").write_text(ROADMAP)
    return tmp_path


@pytest.mark.parametrize("peer", PEERS, indirect=True)
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_misbehaving_peer_is_one_line_and_exit_2(command: str, peer: Peer,
                                                   request: pytest.FixtureRequest,
                                                   tmp_path: Path) -> None:
    box = sandbox(tmp_path, peer)
    before = sums(box)
    outcome = run_cli([*COMMANDS[command], "--kubeconfig", "kubeconfig", *TIMEOUT], box)
    line = assert_clean_failure(outcome, 2)
    name = request.node.callspec.params["peer"]
    assert EXPECTED[name] in line, line
    assert sums(box) == before


@pytest.mark.parametrize("peer", ["ingress-404", "frozen", "closed-port"], indirect=True)
def test_update_roadmap_never_unticks_when_the_cluster_cannot_be_read(peer: Peer,
                                                                       tmp_path: Path) -> None:
    box = sandbox(tmp_path, peer)
    before = sums(box)
    outcome = run_cli(["status", "--kubeconfig", "kubeconfig", "--update-roadmap", "ROADMAP.md",
                       *TIMEOUT], box)
    assert_clean_failure(outcome, 2)
    assert (box / "ROADMAP.md").read_text() == ROADMAP
    assert sums(box) == before


def test_the_empty_api_server_gets_past_discovery(empty_api: Peer, tmp_path: Path) -> None:
    """The contrast that keeps the cases above honest: the same kubeconfig shape against a
    server that does answer like an API server reaches the checks (exit 1: nothing is
    installed there), and only then may a check read "not installed"."""
    box = sandbox(tmp_path, empty_api)
    outcome = run_cli(["status", "--kubeconfig", "kubeconfig", "--json", *TIMEOUT], box)
    assert "Traceback" not in outcome.err
    assert outcome.code == 1, outcome.err
    assert '"not installed: ' in outcome.out


KUBECONFIGS: dict[str, tuple[bytes, str]] = {
    "no-clusters": (b"apiVersion: v1\nkind: Config\ncurrent-context: x\ncontexts: []\n"
                    b"users: []\n", "defines no clusters"),
    "binary": (bytes(range(256)) * 8, "binary"),
    "utf-16": ("apiVersion: v1\nkind: Config\n".encode("utf-16"), "UTF-16"),
    "duplicate-keys": (b"apiVersion: v1\nclusters: []\nclusters: []\n", "duplicate"),
    "unknown-context": (b"apiVersion: v1\nkind: Config\ncurrent-context: gone\nclusters:\n"
                        b"- name: c\n  cluster: {server: 'https://127.0.0.1:1'}\n"
                        b"contexts: []\n", "no context 'gone'"),
    "list-not-map": (b"- just\n- a list\n", "not a kubeconfig"),
    "bad-ca-data": (b"apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n"
                    b"- name: c\n  cluster: {server: 'https://127.0.0.1:1', "
                    b"certificate-authority-data: bm90IGEgY2VydA==}\n"
                    b"contexts:\n- name: c\n  context: {cluster: c}\n", "kubeconfig"),
}


@pytest.mark.parametrize("case", sorted(KUBECONFIGS))
@pytest.mark.parametrize("command", ["status", "policy-readiness", "drill-backup",
                                     "logs-compare", "reloader-live"])
def test_an_unusable_kubeconfig_is_one_line_and_exit_2(case: str, command: str,
                                                       tmp_path: Path) -> None:
    data, expected = KUBECONFIGS[case]
    (tmp_path / "kubeconfig").write_bytes(data)
    before = sums(tmp_path)
    outcome = run_cli([*COMMANDS[command], "--kubeconfig", "kubeconfig", *TIMEOUT], tmp_path)
    line = assert_clean_failure(outcome, 2)
    assert expected in line, line
    assert sums(tmp_path) == before


def test_a_fifo_as_kubeconfig_does_not_block(tmp_path: Path) -> None:
    import os

    os.mkfifo(tmp_path / "kubeconfig")
    outcome = run_cli(["status", "--kubeconfig", "kubeconfig", *TIMEOUT], tmp_path)
    assert "not a regular file" in assert_clean_failure(outcome, 2)


def test_kubeconfig_lists_are_merged_as_kubectl_does(empty_api: Peer, tmp_path: Path) -> None:
    """KUBECONFIG=a:b — b's context, a's cluster: the first file to define a name wins, and
    a file in the list that does not exist is skipped."""
    kubeconfig_for(tmp_path / "a", empty_api)
    (tmp_path / "b").write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: lab\nclusters:\n"
        "- name: lab\n  cluster: {server: 'https://127.0.0.1:1'}\n")
    env = {"KUBECONFIG": f"{tmp_path / 'missing'}:{tmp_path / 'a'}:{tmp_path / 'b'}"}
    outcome = run_cli(["reloader", "plan", "--live", *TIMEOUT], tmp_path, env=env)
    assert outcome.code == 0, outcome.err
    outcome = run_cli(["reloader", "plan", "--live", "--context", "nope", *TIMEOUT], tmp_path,
                      env=env)
    assert "no context 'nope'" in assert_clean_failure(outcome, 2)
