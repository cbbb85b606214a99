"""Idioms of public Flux repositories that outfitter once misread (found by validating
repositories nobody here wrote): each small tree reproduces one, and every finding is
asserted."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from validate_trees import run

from outfitter.validate.findings import Report

Tree = Callable[[dict[str, str]], Path]


def instance(kind: str, url: str, path: str) -> str:
    return f"""
    apiVersion: fluxcd.controlplane.io/v1
    kind: FluxInstance
    metadata: {{name: flux, namespace: flux-system}}
    spec:
      distribution: {{version: 2.7.x, registry: ghcr.io/fluxcd}}
      sync: {{kind: {kind}, url: "{url}", ref: main, path: {path}}}
    """


def flux_ks(name: str, path: str, source: str, namespace: str = "flux-system") -> str:
    return f"""
    apiVersion: kustomize.toolkit.fluxcd.io/v1
    kind: Kustomization
    metadata: {{name: {name}, namespace: {namespace}}}
    spec:
      interval: 1h
      path: {path}
      prune: true
      sourceRef: {{kind: {source}, name: flux-system, namespace: flux-system}}
    """


def config_map(name: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: default}}\n"


def findings(report: Report) -> list[tuple[str, int | None, str, str]]:
    return [(f.file, f.line, f.rule, f.message) for f in report.sorted()
            if f.rule != "not-validated"]


def test_clusters_whose_flux_instances_sync_an_oci_and_a_git_source(tree: Tree) -> None:
    """One cluster's FluxInstance syncs an OCIRepository (a local dev cluster fed by
    `flux push artifact`), the other's a GitRepository: each cluster's Kustomizations
    build from its own source, which flux-operator makes, so none is missing."""
    root = tree({
        "devenv/flux/apps.yaml": flux_ks("apps", "./devenv/apps", "OCIRepository"),
        "devenv/apps/flux-instance.yaml": instance(
            "OCIRepository", "oci://registry.local:5000/home-ops", "./devenv/flux"),
        "devenv/apps/settings.yaml": config_map("dev-settings"),
        "kubernetes/main/flux/apps.yaml": flux_ks("apps", "./kubernetes/main/apps",
                                                  "GitRepository"),
        "kubernetes/main/apps/flux-instance.yaml": instance(
            "GitRepository", "https://git.example.com/home-ops.git", "./kubernetes/main/flux"),
        "kubernetes/main/apps/settings.yaml": config_map("main-settings"),
        # Named wrong: this cluster syncs a GitRepository, not an OCIRepository.
        "kubernetes/main/apps/extra/ks.yaml": flux_ks("extra", "./kubernetes/main/extra",
                                                      "OCIRepository"),
        "kubernetes/main/extra/cm.yaml": config_map("extra"),
    })
    report = run(root)
    # Both clusters' files are built: the instances, the settings, the child Kustomization.
    assert report.objects == 7
    assert findings(report) == [
        ("kubernetes/main/apps/extra/ks.yaml", 1, "external-source",
         "builds OCIRepository flux-system/flux-system, not this repository: not validated "
         "here (--source-dir flux-system=DIR checks a local checkout)"),
        ("kubernetes/main/apps/extra/ks.yaml", 8, "source-ref",
         "sourceRef: OCIRepository flux-system/flux-system is not in the tree (it must exist "
         "on the cluster) (cluster kubernetes/main/flux)"),
        ("kubernetes/main/extra", None, "not-applied",
         "no Flux Kustomization applies this folder (not reached from the entry points of "
         "clusters devenv/flux, kubernetes/main/flux): not validated"),
    ]


def test_a_flux_instance_syncing_an_oci_artifact_makes_its_source(tree: Tree) -> None:
    """One cluster, synced from an OCIRepository: the children naming it find it."""
    root = tree({
        "clusters/home/apps.yaml": flux_ks("apps", "./apps", "OCIRepository"),
        "apps/flux-instance.yaml": instance("OCIRepository", "oci://ghcr.io/me/home-ops",
                                            "./clusters/home"),
        "apps/infra.yaml": flux_ks("infra", "./infra", "OCIRepository", "default"),
        "infra/cm.yaml": config_map("infra"),
    })
    report = run(root)
    assert report.objects == 4
    assert findings(report) == []
