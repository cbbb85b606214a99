"""Fitting a render into an existing repository: Renovate's configuration under each of its
names, and an add-on turned off."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from outfitter.cli import main
from outfitter.render.shared import PRESET_FILE, RENOVATE_FILES


@pytest.mark.parametrize("name", [n for n in RENOVATE_FILES if n != "package.json"])
def test_every_renovate_config_name_is_extended_never_doubled(
        name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / name
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('{\n  "extends": [\n    "config:recommended"\n  ]\n}\n')
    assert main(["render", "--out", str(tmp_path)]) == 0
    extends = json.loads(config.read_text())["extends"]  # still plain JSON
    assert extends == ["config:recommended",
                       f"local>homelab/cluster//{PRESET_FILE}"]
    # No Git origin and the profile's example address: the name is a guess, and said so.
    assert "comes from the profile's example gitops.repoURL" in \
        capsys.readouterr().err.replace("\n", "")
    assert (tmp_path / PRESET_FILE).is_file()
    others = [n for n in RENOVATE_FILES if n != name and (tmp_path / n).exists()]
    assert others == []


def test_package_json_without_extends_gets_the_line_printed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    package = tmp_path / "package.json"
    package.write_text('{"name": "x", "renovate": {"automerge": true}}\n')
    assert main(["render", "--out", str(tmp_path)]) == 0
    assert package.read_text() == '{"name": "x", "renovate": {"automerge": true}}\n'
    err = capsys.readouterr().err.replace("\n", "")
    assert f'add "local>homelab/cluster//{PRESET_FILE}" to the `extends` list' in err
    assert not (tmp_path / "renovate.json").exists()


def test_turning_an_add_on_off_says_what_stays(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "repo"
    assert main(["render", "--out", str(repo)]) == 0
    assert (repo / "kubernetes/apps/longhorn-system/longhorn/app/helmrelease.yaml").exists()
    namespace = (repo / "kubernetes/apps/longhorn-system/namespace.yaml").read_text()
    assert "kustomize.toolkit.fluxcd.io/prune: disabled" in namespace
    off = tmp_path / "off.yaml"
    off.write_text("addons:\n  longhorn:\n    enabled: false\n  loki:\n    enabled: false\n"
                   "  log-shipper:\n    enabled: false\n")
    capsys.readouterr()
    assert main(["render", "--out", str(repo), "--profile", str(off)]) == 0
    assert not (repo / "kubernetes/apps/longhorn-system").exists()
    err = capsys.readouterr().err.replace("\n", " ")
    assert "longhorn: turned off; its Flux objects are removed" in err
    assert "namespace longhorn-system" in err
    assert "loki: turned off" in err and "loki-chunks" in err
    record = json.loads((repo / ".outfitter.json").read_text())
    assert "longhorn" not in record["addons"] and "tempo" in record["addons"]


def test_the_preset_is_named_as_the_users_own_presets_name_this_repository(
        tmp_path: Path) -> None:
    # bjw-s-labs/home-ops style: shared presets of another repository first, then the
    # repository's own (`local>…//.renovate/groups.json5`, a file in this repository).
    (tmp_path / ".renovate").mkdir()
    (tmp_path / ".renovate/groups.json5").write_text("{}\n")
    config = tmp_path / ".renovaterc.json5"
    config.write_text('{\n  extends: [\n'
                      '    "github>home-operations/renovate-presets//apps/searxng.json5#8.1.0",\n'
                      '    "local>someone/home-ops//.renovate/groups.json5",\n  ],\n}\n')
    assert main(["render", "--out", str(tmp_path)]) == 0
    assert config.read_text().splitlines()[4] == (
        f'    "local>someone/home-ops//{PRESET_FILE}",')


def test_without_a_preset_naming_this_repository_the_git_origin_names_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "remote", "add", "origin",
                    "git@github.com:someone/home-ops.git"], check=True)
    config = tmp_path / ".renovaterc.json5"
    config.write_text('{\n  extends: [\n    "github>home-operations/renovate-presets#8.1.0",\n'
                      '  ],\n}\n')
    assert main(["render", "--out", str(tmp_path)]) == 0
    assert config.read_text().splitlines()[3] == (
        f'    "local>someone/home-ops//{PRESET_FILE}",')
    assert "example gitops.repoURL" not in capsys.readouterr().err.replace("\n", "")


HELMRELEASE = """apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: longhorn
spec:
  interval: 1h
  chart:
    spec:
      chart: longhorn
      sourceRef: {kind: HelmRepository, name: longhorn, namespace: flux-system}
"""


def test_the_namespace_a_parent_kustomization_sets_is_read_as_the_model_reads_it(
        tmp_path: Path) -> None:
    from outfitter.render.repository import scan

    outer = tmp_path / "kustomization.yaml"  # above the repository: never read
    outer.write_text("namespace: outside\nresources: [repo]\n")
    repo = tmp_path / "repo"
    app = repo / "kubernetes/apps/storage/longhorn/app"
    app.mkdir(parents=True)
    (app / "helmrelease.yaml").write_text(HELMRELEASE)
    # kustomize's other file name, in the namespace folder, as community layouts have it.
    (repo / "kubernetes/apps/storage/kustomization.yml").write_text(
        "namespace: longhorn-system\nresources: [./longhorn/app/helmrelease.yaml]\n")
    [found] = scan(repo, set()).releases
    assert (found.rel, found.namespace, found.chart) == (
        "kubernetes/apps/storage/longhorn/app/helmrelease.yaml", "longhorn-system", "longhorn")
    (repo / "kubernetes/apps/storage/kustomization.yml").unlink()
    [found] = scan(repo, set()).releases
    assert found.namespace == ""


FLUX_APPS = """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 10m
  path: {path}
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
"""


@pytest.mark.parametrize(("path", "noted"), [
    ("./apps/production", True),  # flux2-kustomize-helm-example: apps/, infrastructure/
    ("./kubernetes/apps", False),  # home-ops: cluster-apps applies the tree's root
    ("./kubernetes", False),  # above it: Flux generates the kustomization, every folder in
])
def test_a_tree_no_flux_kustomization_applies_is_said_once(
        path: str, noted: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ks = tmp_path / "clusters" / "production" / "apps.yaml"
    ks.parent.mkdir(parents=True)
    ks.write_text(FLUX_APPS.format(path=path))
    assert main(["render", "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err.replace("\n", " ")
    line = ("kubernetes/apps (gitops.path): no Flux Kustomization of the repository has that "
            "path or one above it")
    assert (err.count(line) == 1) is noted
    assert ks.read_text() == FLUX_APPS.format(path=path)
