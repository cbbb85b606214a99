"""The commands that write into the user's repository, under fault: files they cannot edit
safely (CRLF, BOM), modes, symlinks inside and outside the repository, and SIGKILL between
two writes followed by a rerun that completes."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest
from harness import assert_clean_failure, kubeconfig_for, run_cli, sums
from peers import Peer

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "flux-repo"

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: apps
spec:
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      containers:
        - name: app
          image: nginx:1.27
          envFrom:
            - configMapRef:
                name: {name}-settings
"""


def deployment(name: str) -> str:
    return DEPLOYMENT.format(name=name)


def test_crlf_and_bom_files_are_skipped_and_write_exits_1(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "plain.yaml").write_text(deployment("plain"))
    (repo / "crlf.yaml").write_bytes(deployment("crlf").replace("\n", "\r\n").encode())
    (repo / "bom.yaml").write_bytes(b"\xef\xbb\xbf" + deployment("bom").encode())
    before = sums(tmp_path)
    outcome = run_cli(["reloader", "plan", "repo", "--write"], tmp_path)
    assert "Traceback" not in outcome.err
    assert outcome.code == 1, outcome.err
    after = sums(tmp_path)
    changed = sorted(rel for rel in before if before[rel] != after[rel])
    assert changed == ["repo/plain.yaml"]  # written around the two it could not edit
    assert "2 not edited" in outcome.err
    assert run_cli(["reloader", "plan", "repo"], tmp_path).code == 0  # a preview: exit 0


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o600, 0o664])
def test_an_edit_keeps_the_file_mode(mode: int, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    target = repo / "app.yaml"
    target.write_text(deployment("app"))
    target.chmod(mode)
    assert run_cli(["reloader", "plan", "repo", "--write"], tmp_path).code == 0
    assert "reloader.stakater.com/auto" in target.read_text()
    assert stat.S_IMODE(target.stat().st_mode) == mode


def test_a_symlinked_manifest_is_edited_at_its_target(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "shared").mkdir(parents=True)
    (repo / "apps").mkdir()
    (repo / "shared" / "app.yaml").write_text(deployment("app"))
    (repo / "apps" / "app.yaml").symlink_to("../shared/app.yaml")
    assert run_cli(["reloader", "plan", "repo", "--write"], tmp_path).code == 0
    link = repo / "apps" / "app.yaml"
    assert link.is_symlink() and str(link.readlink()) == "../shared/app.yaml"
    assert "reloader.stakater.com/auto" in (repo / "shared" / "app.yaml").read_text()


def test_a_symlink_leading_outside_the_repository_is_refused(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "app.yaml").write_text(deployment("app"))
    (repo / "inside.yaml").write_text(deployment("inside"))
    (repo / "app.yaml").symlink_to(outside / "app.yaml")
    before = sums(tmp_path)
    outcome = run_cli(["reloader", "plan", "repo", "--write"], tmp_path)
    assert "Traceback" not in outcome.err and outcome.code == 2
    errors = [m for m in outcome.messages if m.startswith("error:")]
    assert any("lies outside repo; not written" in m for m in errors), errors
    assert sums(tmp_path) == before  # all or nothing: not even inside.yaml


# -- SIGKILL between two writes ------------------------------------------------------------

KILLER = """\
import os, signal, sys
kill_at, count, real = int(os.environ["KILL_AT_REPLACE"]), [0], os.replace
def replace(src, dst, **kw):
    count[0] += 1
    if count[0] == kill_at:  # the temporary file is complete; the rename has not happened
        os.kill(os.getpid(), signal.SIGKILL)
    return real(src, dst, **kw)
os.replace = replace
from outfitter.cli import main
sys.exit(main(sys.argv[1:]))
"""


def run_killed(args: list[str], cwd: Path, kill_at: int) -> int:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    env.update({"HOME": str(cwd), "KILL_AT_REPLACE": str(kill_at)})
    proc = subprocess.run([sys.executable, "-c", KILLER, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode


def visible(tree: dict[str, str]) -> dict[str, str]:
    """Without hidden files and folders: the temporary files a kill leaves beside their
    target, and outfitter's own record and merge bases (`.outfitter.json`, `.outfitter/`),
    which a rerun after a kill may bring up to date later than a clean run does."""
    return {rel: s for rel, s in tree.items()
            if not any(part.startswith(".") for part in Path(rel).parts)}


def killed_then_rerun(tmp_path: Path, setup: object, args: list[str]) -> None:
    reference, victim = tmp_path / "reference", tmp_path / "victim"
    for box in (reference, victim):
        box.mkdir()
        setup(box)  # type: ignore[operator]
    original = sums(victim)
    done = run_cli(args, reference, bound=120)
    assert "Traceback" not in done.err
    final = sums(reference)
    changed = [rel for rel in original if original[rel] != final.get(rel)]
    assert len(changed) >= 2, "the case needs two writes to kill between"

    assert run_killed(args, victim, kill_at=2) == -9
    assert temporaries(victim), "the kill left the interrupted write's temporary file"
    half = visible(sums(victim))
    for rel, value in half.items():  # each file is the old one or the new one, whole
        assert value in (original.get(rel), final.get(rel)), rel
    assert sum(half[rel] == final.get(rel) != original.get(rel) for rel in half) == 1

    again = run_cli(args, victim, bound=120)
    assert "Traceback" not in again.err and again.code == done.code, again.err
    assert visible(sums(victim)) == visible(final)
    assert temporaries(victim) == []  # the rerun removed what the killed run left


def temporaries(root: Path) -> list[str]:
    """outfitter's temporary files (`.<name>.<8 random>.tmp`) anywhere under root."""
    from outfitter.files import TEMPORARY

    return sorted(str(p.relative_to(root)) for p in root.rglob(".*.tmp")
                  if TEMPORARY.match(p.name))


def _flux_repo(box: Path) -> None:
    shutil.copytree(FIXTURE, box / "repo")


def test_reloader_write_killed_then_rerun(tmp_path: Path) -> None:
    killed_then_rerun(tmp_path, _flux_repo, ["reloader", "plan", "repo", "--write"])


def test_certs_migrate_write_killed_then_rerun(tmp_path: Path) -> None:
    killed_then_rerun(tmp_path, _flux_repo, ["certs", "migrate", "repo", "--write"])


def test_policy_enforce_killed_then_rerun(tmp_path: Path, empty_api: Peer) -> None:
    """Against a fake API server that serves nothing (no policy, no report): --force is
    needed, and the edit is the tree's policies and the profile."""
    profile = "addons:\n  kyverno:\n    mode: audit\n"

    def setup(box: Path) -> None:
        (box / "outfitter.yaml").write_text(profile)
        kubeconfig_for(box / "kubeconfig", empty_api)
        assert run_cli(["render", "--out", "repo", "--profile", "outfitter.yaml"], box,
                       bound=120).code == 0

    killed_then_rerun(tmp_path, setup, [
        "policy", "enforce", "require-labels", "disallow-host-path", "--force",
        "--repo", "repo", "--profile", "outfitter.yaml", "--kubeconfig", "kubeconfig",
        "--request-timeout", "5"])


def test_policy_enforce_refuses_before_writing_when_the_server_is_not_kubernetes(
    tmp_path: Path, empty_api: Peer
) -> None:
    from peers import closed_port

    (tmp_path / "outfitter.yaml").write_text("addons:\n  kyverno:\n    mode: audit\n")
    assert run_cli(["render", "--out", "repo", "--profile", "outfitter.yaml"], tmp_path,
                   bound=120).code == 0
    with closed_port() as peer:
        kubeconfig_for(tmp_path / "kubeconfig", peer)
        before = sums(tmp_path)
        outcome = run_cli(["policy", "enforce", "require-labels", "--force", "--repo", "repo",
                           "--profile", "outfitter.yaml", "--kubeconfig", "kubeconfig"],
                          tmp_path)
    assert "connection refused" in assert_clean_failure(outcome, 2)
    assert sums(tmp_path) == before
