"""ArtifactGenerator copy rules mapped back to the repository's folders."""

from __future__ import annotations

from typing import Any

from outfitter.repo.artifacts import parse_generator
from outfitter.repo.objects import ObjKey, Origin

OWN = ObjKey("GitRepository", "flux-system", "flux-system")


def generator(*copies: dict[str, Any], source: str = "flux-system") -> dict[str, Any]:
    return {"apiVersion": "source.extensions.fluxcd.io/v1beta1", "kind": "ArtifactGenerator",
            "metadata": {"name": "gen", "namespace": "flux-system"},
            "spec": {"sources": [{"alias": "repo", "kind": "GitRepository", "name": source}],
                     "artifacts": [{"name": "apps", "copy": list(copies)}]}}


def folder(doc: dict[str, Any], path: str) -> str | None:
    [artifact] = parse_generator(doc, Origin("/x.yaml", 0))
    assert artifact.key == ObjKey("ExternalArtifact", "flux-system", "apps")
    return artifact.folder(path, OWN)


def test_whole_trees_map_back_to_their_folders() -> None:
    doc = generator({"from": "@repo/apps/base/**", "to": "@artifact/base/"},
                    {"from": "@repo/apps/production/**", "to": "@artifact/production/"})
    assert folder(doc, "./production") == "apps/production"
    assert folder(doc, "./base/podinfo") == "apps/base/podinfo"
    assert folder(doc, "./staging") is None  # nothing copied there
    assert folder(doc, ".") is None  # the root holds both trees: no one folder
    root = generator({"from": "@repo/infrastructure/**", "to": "@artifact/"})
    assert folder(root, "./controllers") == "infrastructure/controllers"
    assert folder(root, "./") == "infrastructure"


def test_rules_that_do_not_copy_a_folder_as_it_is_are_not_mapped() -> None:
    files = generator({"from": "@repo/apps/*.yaml", "to": "@artifact/apps/"})
    assert folder(files, "./apps") is None
    excluded = generator({"from": "@repo/apps/**", "to": "@artifact/apps/",
                          "exclude": ["**/secret.yaml"]})
    assert folder(excluded, "./apps") is None
    composed = generator({"from": "@repo/apps/**", "to": "@artifact/apps/"},
                         {"from": "@repo/extra/env.yaml", "to": "@artifact/apps/env.yaml"})
    assert folder(composed, "./apps") is None
    other = generator({"from": "@repo/apps/**", "to": "@artifact/apps/"}, source="upstream")
    assert folder(other, "./apps") is None  # another repository's tree


def test_not_a_generator() -> None:
    assert parse_generator({"apiVersion": "v1", "kind": "ConfigMap"}, Origin("/x", 0)) == []


def test_a_folder_named_without_a_glob_lands_under_its_own_name() -> None:
    """source-watcher copies `@repo/dir/` as `cp -r dir dest/` does: dest/<dir's name>/
    (the layout of xunholy/k8s-gitops, one artifact per app folder)."""
    doc = generator({"from": "@repo/apps/base/media/jellyfin/app/",
                     "to": "@artifact/apps/base/media/jellyfin/app/"})
    # The Kustomization's path holds the copied `app/` folder alone: built as a whole.
    assert folder(doc, "./apps/base/media/jellyfin/app") == "apps/base/media/jellyfin/app"
    assert folder(doc, "./apps/base/media/jellyfin/app/app") == \
        "apps/base/media/jellyfin/app"
    assert folder(doc, "./apps/base/media/jellyfin/app/app/config") == \
        "apps/base/media/jellyfin/app/config"
    # Above the destination the artifact's folders hold only the copy, unlike the tree's.
    assert folder(doc, "./apps/base/media") is None
    plain = generator({"from": "@repo/deploy", "to": "@artifact/"})
    assert folder(plain, "./deploy/overlays") == "deploy/overlays"
    assert folder(plain, ".") == "deploy"
    root = generator({"from": "@repo/", "to": "@artifact/"})
    assert folder(root, "./clusters") == "clusters"  # the source's root: its contents
    merged = generator({"from": "@repo/apps/", "to": "@artifact/", "strategy": "Merge"})
    assert folder(merged, "./apps") is None
