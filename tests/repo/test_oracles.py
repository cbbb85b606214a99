"""The repository model's builds compared, object for object, with Flux's own
(`flux build kustomization --dry-run`, from the flux CLI) and with flate's, on the oracle
fixture (tests/fixtures/repos/validate-oracle: generated kustomizations, a Component with
${APP}, a parent's patches on its children, targetNamespace, a configMapGenerator,
postBuild substitution with defaults)."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest
from oracle_tools import documents, key, normalised, run, tool

from outfitter import yamlio
from outfitter.repo import model
from outfitter.validate.engine import Options, validate

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "repos" / "validate-oracle"
pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None,
                                reason="kubectl (kustomize) not on PATH")


def ours(root: Path) -> dict[str, list[dict[str, Any]]]:
    built: dict[str, list[dict[str, Any]]] = {}

    def seen(applied_by: str, obj: dict[str, Any]) -> None:
        built.setdefault(applied_by, []).append(normalised(obj))

    validate(root, Options(checks=frozenset({"flux"}), on_object=seen))
    return {ks: sorted(objs, key=key) for ks, objs in built.items()}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURE, tmp_path / "repo"))


BUILDS = {
    "validate-oracle": ["flux-system/apps", "flux-system/flux-system", "flux-system/jellyfin",
                        "flux-system/radarr"],
    "validate-home-ops": ["flux-system/cluster-apps", "flux-system/flux-instance",
                          "flux-system/flux-system", "media/plex", "media/sonarr"],
}


@pytest.mark.parametrize("fixture", sorted(BUILDS))
def test_every_build_matches_flux_build_dry_run(fixture: str, tmp_path: Path) -> None:
    flux = tool("flux")
    repo = Path(shutil.copytree(FIXTURE.parent / fixture, tmp_path / "repo"))
    mine = ours(repo)
    the_model = model.load(repo)
    assert sorted(mine) == sorted(b.ks.key.ref for b in the_model.builds) == BUILDS[fixture]
    for build in the_model.builds:
        assert build.folder is not None
        ks_file = tmp_path / f"{build.ks.key.name}.yaml"
        # The Kustomization as its parent applies it (patches in force).
        ks_file.write_text(yamlio.dump(build.ks.raw))
        out = run([str(flux), "build", "kustomization", build.ks.key.name,
                   "--namespace", build.ks.key.namespace, "--path", build.folder,
                   "--kustomization-file", str(ks_file), "--dry-run"], tmp_path)
        theirs = sorted((normalised(o) for o in documents(out)), key=key)
        assert [key(o) for o in mine[build.ks.key.ref]] == [key(o) for o in theirs], \
            build.ks.key.ref
        assert mine[build.ks.key.ref] == theirs, build.ks.key.ref


def test_every_build_matches_flate(repo: Path, tmp_path: Path) -> None:
    flate = tool("flate")
    mine = ours(repo)
    out = run([str(flate), "build", "ks", "--path", str(repo), "-o", "yaml",
               "--skip-secrets=false", "--skip-crds=false"], tmp_path)
    theirs = sorted((normalised(o) for o in documents(out)), key=key)
    everything = sorted((o for objs in mine.values() for o in objs), key=key)
    assert [key(o) for o in everything] == [key(o) for o in theirs]
    assert everything == theirs


@pytest.mark.parametrize("cluster", ["main", "test"])
def test_each_cluster_of_a_multi_cluster_repository_matches_flux(cluster: str,
                                                                 tmp_path: Path) -> None:
    """One cluster of tests/fixtures/repos/validate-multicluster-home-ops (`--path`): the
    children as the model applies them (`${CLUSTER}` from the parent's ConfigMap in their
    paths, targetNamespace from a kustomize replacement) build what flux builds."""
    flux = tool("flux")
    repo = Path(shutil.copytree(FIXTURE.parent / "validate-multicluster-home-ops",
                                tmp_path / "repo"))
    options = model.Options(path=str(repo / "kubernetes" / "clusters" / cluster))
    built: dict[str, list[dict[str, Any]]] = {}
    validate(repo, Options(checks=frozenset({"flux"}), repo=options,
                           on_object=lambda ks, obj: built.setdefault(ks, []).append(
                               normalised(obj))))
    the_model = model.load(repo, options)
    assert sorted(built) == sorted(b.ks.key.ref for b in the_model.builds)
    for build in the_model.builds:
        if build.ks.parent is None:
            continue  # the --path root: not a Kustomization flux can be given
        assert build.folder is not None
        raw = copy.deepcopy(build.ks.raw)
        if build.ks.substitute_from:
            # flux build --dry-run reads no ConfigMap: given inline, as the cluster has it.
            values = {k: v for k, v in the_model.variables(build.ks).items() if v is not None}
            post = raw["spec"]["postBuild"]
            post["substitute"] = {**values, **(post.get("substitute") or {})}
            del post["substituteFrom"]
        ks_file = tmp_path / f"{build.ks.key.name}.yaml"
        ks_file.write_text(yamlio.dump(raw))
        out = run([str(flux), "build", "kustomization", build.ks.key.name,
                   "--namespace", build.ks.key.namespace, "--path", build.folder,
                   "--kustomization-file", str(ks_file), "--dry-run"], tmp_path)
        theirs = sorted((normalised(o) for o in documents(out)), key=key)
        mine = sorted(built[build.ks.key.ref], key=key)
        assert [key(o) for o in mine] == [key(o) for o in theirs], build.ks.key.ref
        assert mine == theirs, build.ks.key.ref
