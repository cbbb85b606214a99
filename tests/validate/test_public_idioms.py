"""Idioms of public Flux repositories that outfitter once misread (found by validating
repositories nobody here wrote): each small tree reproduces one, and every finding is
asserted."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from validate_trees import run

from outfitter.repo import model
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


def config_sync(cluster: str) -> str:
    """What the older cluster-template applies by hand at bootstrap (`kubectl apply -k
    kubernetes/<cluster>/flux/config`): its own GitRepository, not named flux-system, and
    the Kustomization syncing the folder that holds this very file."""
    return f"""
    apiVersion: source.toolkit.fluxcd.io/v1
    kind: GitRepository
    metadata: {{name: home-kubernetes, namespace: flux-system}}
    spec:
      interval: 30m
      url: https://git.example.com/home-cluster
      ref: {{branch: main}}
    ---
    apiVersion: kustomize.toolkit.fluxcd.io/v1
    kind: Kustomization
    metadata: {{name: cluster, namespace: flux-system}}
    spec:
      interval: 30m
      path: ./kubernetes/{cluster}/flux
      prune: true
      sourceRef: {{kind: GitRepository, name: home-kubernetes}}
    ---
    apiVersion: kustomize.toolkit.fluxcd.io/v1
    kind: Kustomization
    metadata: {{name: cluster-apps, namespace: flux-system}}
    spec:
      interval: 30m
      path: ./kubernetes/{cluster}/apps
      prune: true
      sourceRef: {{kind: GitRepository, name: home-kubernetes}}
    """


def test_a_bootstrap_applied_by_hand_is_each_clusters_entry_point(tree: Tree) -> None:
    """No flux-system sync and no FluxInstance: each cluster's config Kustomization syncs
    this repository. The Ansible inventory and the Taskfile beside it are not Flux's,
    and the `flux` Kustomization of the upstream OCI manifests is another source."""
    flux_manifests = """
    apiVersion: source.toolkit.fluxcd.io/v1beta2
    kind: OCIRepository
    metadata: {name: flux-manifests, namespace: flux-system}
    spec:
      interval: 10m
      url: oci://ghcr.io/fluxcd/flux-manifests
      ref: {tag: v2.2.2}
    ---
    apiVersion: kustomize.toolkit.fluxcd.io/v1
    kind: Kustomization
    metadata: {name: flux, namespace: flux-system}
    spec:
      interval: 10m
      path: ./
      prune: true
      sourceRef: {kind: OCIRepository, name: flux-manifests}
    """
    files = {
        "Taskfile.yml": "version: '3'\ntasks:\n  bootstrap:\n    cmds: [kubectl apply -k x]\n",
        "infrastructure/ansible/inventory/hosts.yml": "all:\n  hosts:\n    nas: {}\n",
        "infrastructure/ansible/playbooks/site.yml": "- hosts: all\n  roles: [common]\n",
    }
    for cluster in ("main", "edge"):
        files |= {
            f"kubernetes/{cluster}/flux/config/kustomization.yaml":
                "resources: [flux.yaml, cluster.yaml]\n",
            f"kubernetes/{cluster}/flux/config/flux.yaml": flux_manifests,
            f"kubernetes/{cluster}/flux/config/cluster.yaml": config_sync(cluster),
            f"kubernetes/{cluster}/apps/kustomization.yaml": "resources: [settings.yaml]\n",
            f"kubernetes/{cluster}/apps/settings.yaml": config_map(f"{cluster}-settings"),
        }
    root = tree(files)
    report = run(root)
    # Each cluster: its GitRepository, the OCIRepository, three Kustomizations, a ConfigMap.
    assert report.objects == 12
    assert findings(report) == [
        (f"kubernetes/{cluster}/flux/config/flux.yaml", 9, "external-source",
         "builds OCIRepository flux-system/flux-manifests, not this repository: not "
         "validated here (--source-dir flux-manifests=DIR checks a local checkout)")
        for cluster in ("edge", "main")
    ]
    loaded = model.load(root)
    assert loaded.mode == "flux"
    assert loaded.clusters == ["kubernetes/edge/flux", "kubernetes/main/flux"]


def test_what_sourceignore_leaves_out_flux_never_reads(tree: Tree) -> None:
    """`flux bootstrap --path=./` syncs the whole repository; its `.sourceignore` keeps the
    linters' configs out of the artifact (gitignore syntax, a nested file for its folder,
    `!` taking a name back). Without it, Flux would fail on them: they are read then."""
    root = tree({
        ".sourceignore": ".markdownlint.yaml\n.yamllint.yaml\nsetup/\n",
        ".markdownlint.yaml": "default: true\nMD013: false\n",
        ".yamllint.yaml": "extends: default\nrules:\n  line-length: disable\n",
        "setup/cloud-init.yaml": "users:\n  - name: admin\n",
        "flux-system/gotk-sync.yaml": flux_ks("flux-system", "./", "GitRepository"),
        "media/.sourceignore": "*.draft.yaml\n!keep.draft.yaml\n",
        "media/plex.draft.yaml": "note: not yet\n",
        "media/keep.draft.yaml": config_map("keep"),
        "media/plex.yaml": config_map("plex"),
    })
    report = run(root)
    assert report.files == 3  # gotk-sync, keep.draft and plex: nothing else is listed
    assert findings(report) == []
    (root / ".sourceignore").unlink()
    (root / "media" / ".sourceignore").unlink()
    unignored = run(root)
    assert sorted({(f.file, f.rule) for f in unignored.findings
                   if f.rule != "not-validated"}) == [
        (".markdownlint.yaml", "schema"), (".yamllint.yaml", "duplicate"),
        (".yamllint.yaml", "schema"), ("media/plex.draft.yaml", "duplicate"),
        ("media/plex.draft.yaml", "schema"), ("setup/cloud-init.yaml", "duplicate"),
        ("setup/cloud-init.yaml", "schema")]


def test_a_component_patching_the_child_kustomizations_gives_them_substitute_from(
        tree: Tree) -> None:
    """The namespace folder's kustomization includes a Component whose `patches` give
    every Flux Kustomization listed there `postBuild.substituteFrom` (the variables
    ConfigMap): the children substitute from it, though their files never say so."""
    component = """
    apiVersion: kustomize.config.k8s.io/v1alpha1
    kind: Component
    resources: [./settings.yaml]
    patches:
      - target: {group: kustomize.toolkit.fluxcd.io, kind: Kustomization}
        patch: |-
          apiVersion: kustomize.toolkit.fluxcd.io/v1
          kind: Kustomization
          metadata: {name: not-used}
          spec:
            postBuild:
              substituteFrom:
                - {kind: ConfigMap, name: cluster-settings}
    """
    settings = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cluster-settings, "
                "namespace: flux-system}\ndata: {DOMAIN: example.com}\n")
    app = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web, namespace: default}\n"
           "data: {host: 'web.${DOMAIN}', token: '${TOKEN}'}\n")
    root = tree({
        "clusters/home/flux-system/gotk-sync.yaml": flux_ks("flux-system", "./clusters/home",
                                                           "GitRepository"),
        "clusters/home/apps.yaml": flux_ks("apps", "./apps", "GitRepository"),
        "apps/kustomization.yaml": "resources: [./web.yaml]\ncomponents: [./envsubst]\n",
        "apps/envsubst/kustomization.yaml": component,
        "apps/envsubst/settings.yaml": settings,
        "apps/web.yaml": flux_ks("web", "./web", "GitRepository") + (
            "  postBuild:\n        substitute: {APP: web}\n"),
        "web/cm.yaml": app,
    })
    # ${DOMAIN} comes from the ConfigMap the Component names; ${TOKEN} from nowhere.
    assert findings(run(root)) == [
        ("web/cm.yaml", 1, "substitute-undefined",
         "${TOKEN} is not defined by Flux Kustomization flux-system/web postBuild: it "
         "becomes an empty string (write $${TOKEN} to keep it for the app)"),
    ]


@pytest.mark.parametrize("left_out_by", [".sourceignore", "spec.ignore"])
def test_a_substitute_from_source_sourceignore_hides_is_named_and_read(
        tree: Tree, left_out_by: str) -> None:
    """`.sourceignore` (or the flux-system GitRepository's `spec.ignore`) keeps `bootstrap/`
    (applied by hand before Flux) out of the source: the settings ConfigMap there is not
    Flux's to apply, yet it is named, and its values are the ones substituted."""
    source = "" if left_out_by == ".sourceignore" else (
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\n"
        "metadata: {name: flux-system, namespace: flux-system}\n"
        "spec: {interval: 1h, url: 'https://git.example.com/home-ops.git', "
        "ref: {branch: main}, ignore: \"/bootstrap/\\n\"}\n---\n")
    root = tree({
        **({".sourceignore": "/bootstrap/\n"} if left_out_by == ".sourceignore" else {}),
        "bootstrap/cluster-settings.yaml": (
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cluster-settings, "
            "namespace: flux-system}\ndata: {DOMAIN: example.com}\n"),
        "clusters/home/flux-system/gotk-sync.yaml": source + flux_ks(
            "flux-system", "./clusters/home", "GitRepository"),
        "clusters/home/apps.yaml": flux_ks("apps", "./apps", "GitRepository") + (
            "  postBuild:\n        substituteFrom:\n"
            "          - {kind: ConfigMap, name: cluster-settings}\n"),
        "apps/cm.yaml": ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web, namespace: "
                         "default}\ndata: {host: 'web.${DOMAIN}', token: '${TOKEN}'}\n"),
    })
    assert findings(run(root)) == [
        ("apps/cm.yaml", 1, "substitute-undefined",
         "${TOKEN} is not defined by Flux Kustomization flux-system/apps postBuild: it "
         "becomes an empty string (write $${TOKEN} to keep it for the app)"),
        ("clusters/home/apps.yaml", 11, "unapplied-source",
         "substituteFrom: ConfigMap flux-system/cluster-settings is defined only in "
         "bootstrap/cluster-settings.yaml, which no Flux Kustomization applies: it must be "
         "applied by hand (at bootstrap) before Flux reconciles this"),
    ]


GIT_SOURCE = """
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: flux-system, namespace: flux-system}
spec:
  interval: 1h
  url: https://git.example.com/home-ops.git
  ref: {branch: main}
  ignore: |
    # exclude all
    /*
    # include the kubernetes folder, but not its drafts
    !/kubernetes
    /kubernetes/**/drafts/
---
"""


def test_what_the_own_git_repositorys_spec_ignore_leaves_out_flux_never_reads(
        tree: Tree) -> None:
    """The flux-system GitRepository's `spec.ignore` (the older cluster-template's
    "exclude all, include kubernetes") keeps everything else out of the artifact, as a
    root `.sourceignore` would, and has the last word over the `.sourceignore` files: the
    root synced as `./` holds only kubernetes/, and a Kustomization whose path it leaves
    out fails in Flux."""
    root = tree({
        "kubernetes/flux/gotk-sync.yaml": GIT_SOURCE + flux_ks("flux-system", "./",
                                                               "GitRepository"),
        # Taken back here, left out again by spec.ignore, which is read last.
        "kubernetes/.sourceignore": "drafts/\n!apps/drafts/\n",
        "kubernetes/apps/web.yaml": config_map("web"),
        "kubernetes/apps/drafts/ks.yaml": flux_ks("draft", "./kubernetes/apps/drafts/app",
                                                  "GitRepository"),
        "kubernetes/apps/drafts/app/cm.yaml": config_map("draft-app"),
        "kubernetes/apps/drafts/cm.yaml": config_map("draft"),
        "kubernetes/apps/later.yaml": flux_ks("later", "./kubernetes/apps/drafts",
                                              "GitRepository"),
        "talos/talconfig.yaml": "clusterName: home\nnodes:\n  - hostname: k8s-0\n",
        "bootstrap/helmfile.yaml": "releases:\n  - name: cilium\n    namespace: kube-system\n",
    })
    report = run(root)
    assert report.files == 3  # gotk-sync, web and later: nothing else is in the source
    assert findings(report) == [
        ("kubernetes/apps/later.yaml", 6, "flux-path",
         "spec.path './kubernetes/apps/drafts' is left out of the source (.sourceignore, or "
         "the GitRepository's spec.ignore): not in Flux's artifact")]
    # The commands that edit a repository read it through the model alike.
    loaded = model.load(root)
    assert sorted(loaded.rel(p) for p in loaded.files) == [
        "kubernetes/apps/later.yaml", "kubernetes/apps/web.yaml",
        "kubernetes/flux/gotk-sync.yaml"]
    # Without spec.ignore, the whole repository is the source, drafts and talos/ included.
    sync = root / "kubernetes/flux/gotk-sync.yaml"
    sync.write_text(sync.read_text().replace("ignore: |", "ignored: |"))
    unignored = run(root)
    assert unignored.files == 8
    # Then Flux would read the Talos and helmfile configs, and apply the drafts twice.
    assert sorted({(f.file, f.rule) for f in unignored.findings
                   if f.rule != "not-validated"}) == [
        ("bootstrap/helmfile.yaml", "schema"),
        ("kubernetes/apps/drafts/app/cm.yaml", "duplicate"),
        ("kubernetes/apps/drafts/cm.yaml", "duplicate"),
        ("kubernetes/apps/drafts/ks.yaml", "duplicate"),
        ("talos/talconfig.yaml", "duplicate"), ("talos/talconfig.yaml", "schema")]
