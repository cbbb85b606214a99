"""Rendering into living repositories: a cluster-template layout (Flux generates the apps
kustomization) and a home-ops layout (an explicit one, Reloader and Descheduler already in
kube-system, cert-manager already there, a `.renovaterc.json5`).

Every app Flux applied before render is still applied after it (checked with `kubectl
kustomize` along the Flux Kustomizations), and no byte outside the tree changes except
outfitter's record, its preset and one added `extends` line.
"""

from __future__ import annotations

import difflib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from flux_walk import applied

from outfitter import yamlio
from outfitter.cli import main
from outfitter.render import writer

FIXTURES = Path(__file__).parents[1] / "fixtures" / "repos"
TREE = "kubernetes/apps/"
ADOPT_HOME_OPS = """\
addons:
  cert-manager:
    installed: {namespace: cert-manager, release: cert-manager}
  reloader:
    installed: {namespace: kube-system, release: reloader}
  descheduler:
    installed: {namespace: kube-system, release: descheduler}
"""
ADOPT_CLUSTER_TEMPLATE = """\
gitops:
  repoURL: ssh://git@github.com/homelab/cluster.git
addons:
  cert-manager:
    installed: {namespace: cert-manager}
"""
PROFILES = {"home-ops": ADOPT_HOME_OPS, "cluster-template": ADOPT_CLUSTER_TEMPLATE}

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")


def copy(name: str, tmp: Path) -> Path:
    repo = tmp / name
    shutil.copytree(FIXTURES / name, repo)
    return repo


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def profile(tmp: Path, text: str, name: str = "outfitter.yaml") -> str:
    path = tmp / name
    path.write_text(text)
    return str(path)


def added_lines(before: bytes, after: bytes) -> tuple[list[str], list[str]]:
    removed, added = [], []
    for line in difflib.ndiff(before.decode().splitlines(), after.decode().splitlines()):
        if line.startswith("- "):
            removed.append(line[2:])
        elif line.startswith("+ "):
            added.append(line[2:])
    return removed, added


@pytest.mark.parametrize("name", ["cluster-template", "home-ops"])
def test_every_app_stays_applied_and_nothing_outside_the_tree_changes(
        name: str, tmp_path: Path) -> None:
    repo = copy(name, tmp_path)
    before_apps = applied(repo)
    before = snapshot(repo)
    assert main(["render", "--out", str(repo), "--profile",
                 profile(tmp_path, PROFILES[name])]) == 0
    after_apps = applied(repo)
    after = snapshot(repo)

    assert before_apps <= after_apps, sorted(before_apps - after_apps)
    ours = {k for k in after_apps - before_apps if k[0] == "Kustomization"}
    assert {"velero", "kyverno", "loki"} <= {k[2] for k in ours}
    # Every dependsOn names a Kustomization where kustomize puts it (a user's namespace
    # folder moves outfitter's Kustomizations into its namespace).
    for ks in repo.glob(f"{TREE}*/*/ks.yaml"):
        for obj in yamlio.load_all(ks.read_text()):
            for dep in obj["spec"].get("dependsOn", []):
                assert ("Kustomization", dep["namespace"], dep["name"]) in after_apps, dep
    # Adopted add-ons get nothing: no second cert-manager, Reloader or Descheduler.
    releases = [k for k in after_apps if k[0] == "HelmRelease"]
    for chart in ("cert-manager", "reloader", "descheduler"):
        assert len([k for k in releases if k[2] == chart]) <= 1, chart

    outside = {rel for rel in set(before) | set(after)
               if not rel.startswith(TREE) and before.get(rel) != after.get(rel)}
    expected = {".outfitter.json", ".renovate/outfitter.json5", ".renovaterc.json5"}
    assert {r for r in outside if not r.startswith(".outfitter/base/")} == expected
    removed, added = added_lines(before[".renovaterc.json5"], after[".renovaterc.json5"])
    assert removed == [] and len(added) == 1 and "//.renovate/outfitter.json5" in added[0]
    assert not any(rel.startswith("renovate.json") for rel in after)  # no second config

    # Inside the tree the user's files change only by outfitter's added entries.
    for rel in before:
        if rel.startswith(TREE) and before[rel] != after.get(rel):
            removed, added = added_lines(before[rel], after[rel])
            assert rel.endswith("kustomization.yaml") and removed == [], rel
            assert all(line.strip().startswith("- ./") for line in added), (rel, added)
    if name == "cluster-template":
        assert f"{TREE}kustomization.yaml" not in after  # Flux generates it
    else:
        removed, added = added_lines(before[f"{TREE}kustomization.yaml"],
                                     after[f"{TREE}kustomization.yaml"])
        assert "  - ./velero" in added and "  - ./observability" not in added


def test_a_second_copy_of_an_add_on_is_refused_with_the_lines_that_adopt_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = copy("home-ops", tmp_path)
    before = snapshot(repo)
    assert main(["render", "--out", str(repo)]) == 2
    err = capsys.readouterr().err
    assert snapshot(repo) == before
    lines = [line for line in err.splitlines() if line.startswith("error")]
    assert len(lines) == 3
    reloader = next(line for line in lines if "reloader/app/helmrelease.yaml" in line)
    assert "kubernetes/apps/kube-system/reloader/app/helmrelease.yaml" in reloader
    assert ("addons: {reloader: {installed: {namespace: kube-system, release: reloader}}}"
            in reloader)


def test_adopting_without_saying_where_is_one_line_and_writes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = copy("home-ops", tmp_path)
    before = snapshot(repo)
    bad = "addons:\n  reloader:\n    installed: true\n  descheduler:\n    installed: {}\n"
    assert main(["render", "--out", str(repo), "--profile", profile(tmp_path, bad)]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error")]
    assert err == [
        "error: addons.reloader.installed: say where it runs: installed: {namespace: "
        "<namespace>, release: reloader}",
        "error: addons.descheduler.installed: say where it runs: installed: {namespace: "
        "<namespace>, release: descheduler}"]
    assert snapshot(repo) == before


@pytest.mark.parametrize("resources", [
    "resources: [./cert-manager, ./kube-system, ./media, ./observability]\n",
    "resources:\n{% for ns in namespaces %}\n  - ./{{ ns }}\n{% endfor %}\n",
])
def test_a_parent_kustomization_that_cannot_be_edited_safely_stops_the_render(
        resources: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = copy("home-ops", tmp_path)
    parent = repo / TREE / "kustomization.yaml"
    parent.write_text("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
                      + resources)
    before = snapshot(repo)
    assert main(["render", "--out", str(repo), "--profile",
                 profile(tmp_path, ADOPT_HOME_OPS)]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error")]
    assert len(err) == 1 and str(parent) in err[0] and "./velero" in err[0]
    assert snapshot(repo) == before


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True, env=env).stdout


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_renovate_bumps_survive_a_re_render_and_a_real_conflict_is_reported(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = copy("home-ops", tmp_path)
    git(repo, "init", "-q")
    prof = profile(tmp_path, ADOPT_HOME_OPS)
    assert main(["render", "--out", str(repo), "--profile", prof]) == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "outfitter render")

    # Renovate's pull request: the chart version and an image tag in the values.
    release = repo / TREE / "velero/velero/app/helmrelease.yaml"
    text = release.read_text()
    assert "version: 12.1.0" in text and "velero-plugin-for-aws:v1.14.0" in text
    release.write_text(text.replace("version: 12.1.0", "version: 12.2.0")
                       .replace("velero-plugin-for-aws:v1.14.0", "velero-plugin-for-aws:v1.14.1"))
    git(repo, "commit", "-qam", "feat(helm): update chart velero to 12.2.0")

    # A profile change elsewhere in the same file: both survive, the change lands.
    changed = ADOPT_HOME_OPS + ("  velero:\n    values:\n      nodeAgent:\n        resources:\n"
                                "          limits:\n            memory: 2Gi\n")
    assert main(["render", "--out", str(repo), "--profile",
                 profile(tmp_path, changed, "changed.yaml")]) == 0
    merged = release.read_text()
    assert "version: 12.2.0" in merged and "velero-plugin-for-aws:v1.14.1" in merged
    assert "memory: 2Gi" in merged
    assert main(["render", "--out", str(repo), "--profile", str(tmp_path / "changed.yaml"),
                 "--check"]) == 0  # nothing left to write: the tree is as render wants it

    # The profile pins another version: a real conflict, reported with its diff; that file
    # is left alone, the others are written.
    pinned = changed.replace("  velero:\n", "  velero:\n    chart:\n      version: 12.1.5\n")
    ks = repo / TREE / "velero/velero/ks.yaml"
    ks_before = ks.read_bytes()
    capsys.readouterr()
    assert main(["render", "--out", str(repo), "--profile",
                 profile(tmp_path, pinned, "pinned.yaml")]) == 2
    err = capsys.readouterr().err
    assert f"conflict: {release}" in err.replace("\n", " ").replace("  ", " ")
    assert "-      version: 12.2.0" in err and "+      version: 12.1.5" in err
    assert release.read_text() == merged
    assert ks.read_bytes() == ks_before
    assert main(["render", "--out", str(repo), "--profile", str(tmp_path / "pinned.yaml"),
                 "--check"]) == 1
    # --force takes the render's side of the conflict.
    assert main(["render", "--out", str(repo), "--profile", str(tmp_path / "pinned.yaml"),
                 "--force"]) == 0
    assert "version: 12.1.5" in release.read_text()


RENDER = ("import sys; from outfitter.cli import main; "
          "sys.exit(main(['render', '--out', sys.argv[1], '--profile', sys.argv[2]]))")


def _render_process(repo: Path, prof: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", RENDER, str(repo), prof],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_for_writes(repo: Path, process: subprocess.Popen[bytes]) -> float:
    """Block until the render starts writing (its record appears); the time it did."""
    while not (repo / ".outfitter.json").exists() and process.poll() is None:
        time.sleep(0.001)
    return time.monotonic()


def test_a_render_killed_at_a_random_point_runs_again_to_the_clean_tree(tmp_path: Path) -> None:
    prof = profile(tmp_path, ADOPT_HOME_OPS)
    clean = copy("home-ops", tmp_path / "clean")
    process = _render_process(clean, prof)
    writing = _wait_for_writes(clean, process)
    assert process.wait() == 0
    write_phase = time.monotonic() - writing
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    partial = 0
    # Three kills at least; more (up to ten) until one has landed while render was writing:
    # a kill after the last write proves nothing, and the timing varies from run to run.
    for attempt in range(10):
        if attempt >= 3 and partial:
            break
        repo = copy("home-ops", tmp_path / f"killed-{attempt}")
        process = _render_process(repo, prof)
        _wait_for_writes(repo, process)
        time.sleep(rng.uniform(0, write_phase * 0.9))
        process.send_signal(signal.SIGKILL)
        process.wait()
        partial += snapshot(repo) != snapshot(clean)
        assert _render_process(repo, prof).wait() == 0, f"seed {seed}"
        assert snapshot(repo) == snapshot(clean), f"seed {seed}, attempt {attempt}"
    assert partial, f"seed {seed}: no kill landed while render was writing"


class _Killed(BaseException):
    """Stands in for SIGKILL: raised right after the render's k-th write lands on disk."""


def _kill_points(root: Path, written: list[Path]) -> list[int]:
    """Which writes to stop a render after: every edit of a file the user owns, the first
    write of each kind of file outfitter owns (by name and depth: a namespace's
    kustomization.yaml is not an app's), and six spread over its record and its merge
    bases, first and last included. All 400-odd points pass (measured once; 14 minutes)."""
    kinds: dict[str, list[int]] = {}
    for point, path in enumerate(written, start=1):
        rel = path.relative_to(root).as_posix()
        kind = ("record" if rel == ".outfitter.json" else "base" if rel.startswith(".outfitter/")
                else "shared" if (FIXTURES / "home-ops" / rel).exists()
                else f"{rel.count('/')}/{path.name}")
        kinds.setdefault(kind, []).append(point)
    chosen = {*kinds.pop("shared"), *(points[0] for points in kinds.values())}
    for spread in (kinds["record"], kinds["base"]):
        chosen.update(spread[i * (len(spread) - 1) // 5] for i in range(6))
    return sorted(chosen)


def test_a_render_killed_after_any_kind_of_write_runs_again_to_the_clean_tree(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The journal at chosen points, not random ones: the render is stopped right after a
    write (a file it owns, one it edits, a merge base, its record), then run again."""
    prof = profile(tmp_path, ADOPT_HOME_OPS)
    clean = copy("home-ops", tmp_path / "clean")
    real_write = writer.atomic_write
    written: list[Path] = []
    kill_after = 0

    def write_then_maybe_die(path: Path, data: bytes) -> None:
        real_write(path, data)
        written.append(path)
        if len(written) == kill_after:
            raise _Killed

    monkeypatch.setattr(writer, "atomic_write", write_then_maybe_die)
    assert main(["render", "--out", str(clean), "--profile", prof]) == 0
    for point in _kill_points(clean, written):
        written.clear()
        kill_after = point
        repo = copy("home-ops", tmp_path / f"killed-{point}")
        with pytest.raises(_Killed):
            main(["render", "--out", str(repo), "--profile", prof])
        kill_after = 0
        assert main(["render", "--out", str(repo), "--profile", prof]) == 0, point
        assert snapshot(repo) == snapshot(clean), point
        shutil.rmtree(repo)
