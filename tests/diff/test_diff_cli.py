"""`outfitter diff` on a real two-commit Git repository, charts templated by the real helm."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from helm_fixtures import CHART, flux_kustomization, flux_sync, helm_binary, release, tree, write
from outfitter.cli import main

SECRET = """
    apiVersion: v1
    kind: Secret
    metadata: {{name: web-extra, namespace: apps}}
    stringData: {{token: {token}}}
    """


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@x",
                    *args], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = write(tmp_path / "repo", {**tree(), "apps/secret.yaml": SECRET.format(
        token="first-value"), "apps/other.yaml": release("other", "host: other.example.com")})
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "base")
    return root


@pytest.fixture
def charts(tmp_path: Path) -> Path:
    return write(tmp_path / "charts" / "web", CHART).parent


def run_diff(repo: Path, charts: Path, capsys: pytest.CaptureFixture[str], *args: str
             ) -> tuple[int, str]:
    code = main(["diff", *args, "--repo", str(repo), "--charts", str(charts), "--helm-bin",
                 helm_binary(), "--offline"])
    return code, capsys.readouterr().out


def test_no_change_exits_0(repo: Path, charts: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    # The chart generates a random token: the same release on both sides is still no change.
    code, out = run_diff(repo, charts, capsys)
    assert code == 0
    assert "no change to any object" in out


def test_a_values_change_is_shown_in_the_rendered_objects(
    repo: Path, charts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(repo, {"apps/web.yaml": (repo / "apps/web.yaml").read_text().replace(
        "host: web.example.com", "host: www.example.com\n    port: 8080"),
        "apps/secret.yaml": SECRET.format(token="second-value")})
    git(repo, "commit", "-q", "-am", "head")
    code, out = run_diff(repo, charts, capsys, "main~1", "main", "--json")
    assert code == 1
    data = json.loads(out)
    changes = {(c["owner"], c["object"]["kind"], c["object"]["name"]):
               {f["path"]: (f["before"], f["after"]) for f in c["fields"]}
               for c in data["changes"]}
    assert changes[("HelmRelease apps/web", "ConfigMap", "web-config")] == {
        "data.host": ("web.example.com", "www.example.com")}
    assert changes[("HelmRelease apps/web", "Service", "web")] == {
        "spec.ports[http].port": (80, 8080)}
    assert changes[("(no Flux Kustomization)", "Secret", "web-extra")] == {
        "stringData.token": ("(masked)", "(masked)")}
    assert "first-value" not in out and "second-value" not in out
    # The HelmRelease itself changed in the tree too.
    assert ("(no Flux Kustomization)", "HelmRelease", "web") in changes
    # The chart's random token changes with every template of a changed release…
    assert changes[("HelmRelease apps/web", "Secret", "web-token")] == {
        "data.token": ("(masked)", "(masked)")}
    # …but a release whose inputs are the same on both sides is templated once: no change.
    assert not any(owner == "HelmRelease apps/other" for owner, _, _ in changes)
    # Same input, same bytes; Markdown for the pull request.
    assert run_diff(repo, charts, capsys, "main~1", "main", "--json") == (1, out)
    code, markdown = run_diff(repo, charts, capsys, "main~1", "main", "--markdown")
    assert code == 1
    assert "<summary><b>HelmRelease apps/web</b> (3 changed)</summary>" in markdown
    assert "!     spec.ports[http].port: 80 → 8080" in markdown


def test_the_working_tree_against_the_merge_base(
    repo: Path, charts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    git(repo, "checkout", "-q", "-b", "renovate/web")
    (repo / "apps/datasource.yaml").unlink()
    code, out = run_diff(repo, charts, capsys)
    assert code == 1
    assert "- ConfigMap apps/datasources (removed)" in out


def test_bad_input_exits_2(repo: Path, charts: Path, tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", "no-such-ref", "--repo", str(repo), "--no-helm"]) == 2
    assert "no-such-ref: not a commit in this repository" in capsys.readouterr().err
    (tmp_path / "plain").mkdir()
    assert main(["diff", "--repo", str(tmp_path / "plain"), "--no-helm"]) == 2


def test_a_source_whose_spec_ignore_leaves_files_out(
    tmp_path: Path, charts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The own GitRepository's spec.ignore keeps all but kube/ out of Flux's artifact
    (JJGadgets/Biohazard): validate reads the tree again without the rest, and so must
    diff (before: a traceback, the engine's internal restart left uncaught)."""
    sync = flux_sync("https://github.com/me/home-ops", "./kube/cluster").replace(
        "ref: {branch: main}}", "ref: {branch: main}, ignore: \"/*\\n!/kube\\n\"}")
    root = write(tmp_path / "ignored", {
        "kube/cluster/flux-system/gotk-sync.yaml": sync,
        "kube/cluster/apps.yaml": flux_kustomization("apps", "./kube/apps"),
        "kube/apps/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, "
                             "namespace: default}\ndata: {k: one}\n",
        "docs/example.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, "
                             "namespace: default}\n",
    })
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "base")
    write(root, {"kube/apps/cm.yaml": (root / "kube/apps/cm.yaml").read_text().replace(
        "k: one", "k: two")})
    code, out = run_diff(root, charts, capsys, "--no-helm")
    assert code == 1
    assert "data.k: one → two" in out
