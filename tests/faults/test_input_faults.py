"""Bad input files and options: one line, exit 2, no traceback, bounded, nothing written —
checked before any connection is attempted (the frozen peer would make a late check slow)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from harness import assert_clean_failure, kubeconfig_for, run_cli, sums
from peers import frozen_server


def _nested(levels: int) -> bytes:
    return ("cluster:\n" + "".join(f"{' ' * (i + 1)}k{i}:\n" for i in range(levels))
            + " " * (levels + 1) + "v: 1\n").encode()


PROFILES: dict[str, tuple[bytes, str]] = {
    "binary": (bytes(range(256)) * 16, "binary"),
    "utf-16": ("cluster:\n  name: lab\n".encode("utf-16"), "UTF-16"),
    "nested-10000": (b"a: " + b"[" * 10_000 + b"]" * 10_000 + b"\n", "deep"),
    "nested-block": (_nested(2000), "nesting depth"),
    "duplicate-keys": (b"cluster:\n  name: lab\n  name: other\n", "duplicate"),
    "bad-namespace": (b'monitoring:\n  namespace: "Mon itoring\\n"\n', "not a DNS label"),
}


@pytest.mark.parametrize("case", sorted(PROFILES))
@pytest.mark.parametrize("command", [["plan"], ["render", "--out", "out"], ["status"]])
def test_a_bad_profile_is_one_line_and_exit_2(case: str, command: list[str],
                                              tmp_path: Path) -> None:
    data, expected = PROFILES[case]
    (tmp_path / "outfitter.yaml").write_bytes(data)
    before = sums(tmp_path)
    outcome = run_cli([*command, "--profile", "outfitter.yaml"], tmp_path)
    line = assert_clean_failure(outcome, 2)
    assert expected in line, line
    assert sums(tmp_path) == before


def test_a_100_mb_profile_is_refused_without_reading_it(tmp_path: Path) -> None:
    with open(tmp_path / "outfitter.yaml", "wb") as fh:  # sparse: 100 MB on the size check
        fh.truncate(100 * 1024 * 1024)
    outcome = run_cli(["plan", "--profile", "outfitter.yaml"], tmp_path, bound=20)
    assert "too large" in assert_clean_failure(outcome, 2, bound=20)


@pytest.mark.parametrize("what", ["--profile", "--update-roadmap"])
def test_a_fifo_is_refused_not_waited_on(what: str, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "input.yaml")
    args = ["status", what, "input.yaml"]
    outcome = run_cli(args, tmp_path, bound=20)
    assert "not a regular file" in assert_clean_failure(outcome, 2, bound=20)


@pytest.mark.parametrize(("args", "expected"), [
    (["drill", "backup", "--namespace", "BAD NS"], "--namespace: 'BAD NS' is not a DNS label"),
    (["drill", "backup", "--namespace", "apps", "--timeout", "-5"],
     "--timeout -5: must be a positive number of seconds"),
    (["drill", "backup", "--namespace", "apps", "--drill-namespace", "x" * 70],
     "longer than 63 characters"),
])
def test_drill_options_are_checked_before_connecting(args: list[str], expected: str,
                                                     tmp_path: Path) -> None:
    with frozen_server() as peer:  # connecting would cost the whole request timeout
        kubeconfig_for(tmp_path / "kubeconfig", peer)
        outcome = run_cli([*args, "--kubeconfig", "kubeconfig", "--request-timeout", "20"],
                          tmp_path, bound=15)
    messages = outcome.messages
    assert outcome.code == 2 and "Traceback" not in outcome.err
    assert any(expected in m for m in messages), messages
    assert not any("did not answer" in m for m in messages)
