"""validate on repositories with several clusters, laid out as the community lays them out
(tests/fixtures/repos/validate-multicluster-*): the official Flux example (two clusters
bootstrapped in one repository, ExternalArtifacts an ArtifactGenerator makes from the
repository) and the home-ops layout with one flux-instance per cluster (a parent's
`${CLUSTER}` in its children's paths, `targetNamespace` from a kustomize replacement).
Every finding is asserted: each is true, and each says which cluster it is found in."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from validate_trees import builtin, write_tree

from helm_fixtures import flux_sync
from outfitter.repo import model
from outfitter.validate.engine import Options, validate
from outfitter.validate.findings import Report
from outfitter.validate.kustomize import Builder, Overlay

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "repos"
needs_kubectl = pytest.mark.skipif(shutil.which("kubectl") is None,
                                   reason="kubectl (kustomize) not on PATH")
NOTE = ("no schema known (from the Kubernetes schemas, CRDs in the tree, --schemas or the "
        "cluster)")


def copy(name: str, tmp_path: Path) -> Path:
    """The fixture outside any git working tree (so it is its own repository)."""
    return Path(shutil.copytree(FIXTURES / name, tmp_path / name))


def problems(report: Report) -> list[tuple[str, int | None, str, str, str]]:
    return [(f.file, f.line, f.rule, f.applied_by, f.message) for f in report.sorted()
            if f.rule != "not-validated"]


FLUX_EXAMPLE = [
    # True, and only in staging: its values patch names a ConfigMap nothing makes.
    ("apps/base/podinfo/release.yaml", 6, "values-from", "flux-system/apps",
     "valuesFrom: ConfigMap podinfo/podinfo-staging-values is not in the tree (it must "
     "exist on the cluster) (cluster clusters/staging)"),
    # True in both clusters: reported once, naming both.
    ("infrastructure/controllers/cert-manager.yaml", 29, "depends-on",
     "flux-system/infra-controllers",
     "dependsOn: HelmRelease cert-manager/trust-manager is not in the tree (it must exist on "
     "the cluster) (clusters clusters/production, clusters/staging)"),
]


@needs_kubectl
def test_the_flux_example_has_only_true_findings(tmp_path: Path) -> None:
    root = copy("validate-multicluster-flux-example", tmp_path)
    report = validate(root, Options(builtin=builtin()))
    # No duplicate across the clusters (the podinfo Namespace is applied by both), no
    # missing ExternalArtifact (the generator makes it), nothing left external.
    assert problems(report) == FLUX_EXAMPLE
    # Each cluster's builds: flux-system, apps, infra-controllers, infra-configs.
    repo = model.load(root)
    assert repo.clusters == ["clusters/production", "clusters/staging"]
    assert sorted((b.cluster, b.ks.key.name, Path(b.folder or "").relative_to(root).as_posix())
                  for b in repo.builds) == [
        ("clusters/production", "apps", "apps/production"),
        ("clusters/production", "flux-system", "clusters/production"),
        ("clusters/production", "infra-configs", "infrastructure/configs"),
        ("clusters/production", "infra-controllers", "infrastructure/controllers"),
        ("clusters/staging", "apps", "apps/staging"),
        ("clusters/staging", "flux-system", "clusters/staging"),
        ("clusters/staging", "infra-configs", "infrastructure/configs"),
        ("clusters/staging", "infra-controllers", "infrastructure/controllers"),
    ]


@needs_kubectl
def test_placeholder_gotk_sync_files_are_the_clusters_entry_points(tmp_path: Path) -> None:
    """The example as published: gotk-sync.yaml is a placeholder `flux bootstrap
    --path=clusters/<name>` fills in; the cluster is still found, with the same findings."""
    root = copy("validate-multicluster-flux-example", tmp_path)
    for cluster in ("production", "staging"):
        (root / "clusters" / cluster / "flux-system" / "gotk-sync.yaml").write_text(
            "# This file will be generated automatically by flux bootstrap.\n")
    report = validate(root, Options(builtin=builtin()))
    assert problems(report) == FLUX_EXAMPLE


@needs_kubectl
def test_a_generator_not_in_the_cluster_leaves_the_artifact_unknown(tmp_path: Path) -> None:
    root = copy("validate-multicluster-flux-example", tmp_path)
    (root / "clusters" / "staging" / "artifacts.yaml").unlink()
    report = validate(root, Options(builtin=builtin()))
    staging = [(f.file, f.rule, f.message) for f in report.sorted()
               if f.file.startswith("clusters/staging") and f.rule != "not-validated"]
    # The production generator makes the same names, but not in staging.
    assert [(file, rule) for file, rule, _ in staging] == [
        ("clusters/staging/apps.yaml", "external-source"),
        ("clusters/staging/apps.yaml", "source-ref"),
        ("clusters/staging/infrastructure.yaml", "external-source"),
        ("clusters/staging/infrastructure.yaml", "source-ref"),
        ("clusters/staging/infrastructure.yaml", "external-source"),
        ("clusters/staging/infrastructure.yaml", "source-ref"),
    ]
    assert staging[1][2] == ("sourceRef: ExternalArtifact flux-system/apps is not in the tree "
                             "(it must exist on the cluster) (cluster clusters/staging)")


HOME_OPS = [
    # True, and only in the test cluster: it has no rook-ceph.
    ("kubernetes/apps/base/media/plex/helmrelease.yaml", None, "depends-on", "media/plex",
     "dependsOn: HelmRelease rook-ceph/rook-ceph-cluster is not in the tree (it must exist on "
     "the cluster) (cluster kubernetes/clusters/test)"),
    ("kubernetes/apps/test/media/plex.yaml", 8, "depends-on", "flux-system/cluster-apps",
     "dependsOn: Kustomization rook-ceph/rook-ceph-cluster is not in the tree (it must exist "
     "on the cluster) (cluster kubernetes/clusters/test)"),
]


@needs_kubectl
def test_the_home_ops_layout_has_only_true_findings(tmp_path: Path) -> None:
    root = copy("validate-multicluster-home-ops", tmp_path)
    report = validate(root, Options(builtin=builtin()))
    assert problems(report) == HOME_OPS
    repo = model.load(root)
    assert repo.clusters == ["kubernetes/clusters/main", "kubernetes/clusters/test"]
    by_name = {(b.cluster.rsplit("/", 1)[-1], b.ks.key.ref): b for b in repo.builds}
    # ${CLUSTER} from the parent's substituteFrom ConfigMap, per cluster.
    for cluster in ("main", "test"):
        config = by_name[(cluster, "kube-system/cilium-config")]
        assert config.ks.path == f"./kubernetes/apps/{cluster}/kube-system/cilium"
        assert config.ks.substitute == {"CLUSTER": cluster}
    # targetNamespace from the Namespace replacement: the HelmRelease lands in rook-ceph.
    assert by_name[("main", "rook-ceph/rook-ceph-cluster")].ks.target_namespace == "rook-ceph"
    assert ("test", "rook-ceph/rook-ceph-cluster") not in by_name


@needs_kubectl
def test_one_cluster_by_path_has_no_findings_of_the_others(tmp_path: Path) -> None:
    root = copy("validate-multicluster-home-ops", tmp_path)
    options = Options(builtin=builtin(),
                      repo=model.Options(path=str(root / "kubernetes/clusters/main")))
    report = validate(root, options)
    assert problems(report) == [
        ("kubernetes/apps/test", None, "not-applied", "",
         "no Flux Kustomization applies this folder (not reached from --path): not validated"),
        ("kubernetes/clusters/test", None, "not-applied", "",
         "no Flux Kustomization applies this folder (not reached from --path): not validated"),
    ]


def _two_clusters_one_app(root: Path) -> None:
    """Clusters a and b apply ./apps/shared alike (same targetNamespace); b applies it once
    more into another namespace. The app's kustomization needs kustomize (labels)."""
    def write(rel: str, text: str) -> None:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)

    ks = ("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n"
          "metadata: {{name: {name}, namespace: flux-system}}\n"
          "spec: {{interval: 10m, path: {path}, prune: true, targetNamespace: {ns},\n"
          "  sourceRef: {{kind: GitRepository, name: flux-system}}}}\n")
    for cluster in ("a", "b"):
        write(f"clusters/{cluster}/flux-system/gotk-sync.yaml",
              "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\n"
              "metadata: {name: flux-system, namespace: flux-system}\n"
              "spec: {interval: 1m, url: ssh://git@example.com/fleet, ref: {branch: main}}\n"
              "---\n" + ks.format(name="flux-system", path=f"./clusters/{cluster}",
                                  ns="flux-system").replace(" targetNamespace: flux-system,",
                                                            ""))
        write(f"clusters/{cluster}/apps.yaml", ks.format(name="apps", path="./apps/shared",
                                                         ns="shared"))
    write("clusters/b/other.yaml", ks.format(name="other", path="./apps/shared", ns="other"))
    write("apps/shared/kustomization.yaml",
          "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
          "labels: [{pairs: {app: web}}]\nresources: [deployment.yaml]\n")
    write("apps/shared/deployment.yaml",
          "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n"
          "  selector: {matchLabels: {app: web}}\n  template:\n"
          "    metadata: {labels: {app: web}}\n    spec:\n      containers:\n"
          "        - name: web\n          image: nginx:1.27\n"
          "          envFrom: [{secretRef: {name: web-secret}}]\n")


@needs_kubectl
def test_a_path_two_clusters_build_alike_is_built_once_and_judged_in_both(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "fleet"
    _two_clusters_one_app(root)
    namespaces: list[str] = []
    real_job = Builder._kubectl_job

    def counted(self: Builder, folder: str, resources: list[str],
                overlay: Overlay | None) -> Any:
        namespaces.append(overlay.spec["targetNamespace"] if overlay else "")
        return real_job(self, folder, resources, overlay)

    monkeypatch.setattr(Builder, "_kubectl_job", counted)
    report = validate(root, Options(builtin=builtin()))
    assert sorted(namespaces) == ["other", "shared"]  # three consumers, two builds
    # Each build's objects are judged for every cluster that applies them.
    secret = ("container 'web' envFrom: Secret {}/web-secret is not in the tree (it must exist "
              "on the cluster): no Secret, ExternalSecret or Certificate provides it ({})")
    namespace = "namespace '{}' is not created by the tree (it must exist on the cluster) ({})"
    both, b = "clusters clusters/a, clusters/b", "cluster clusters/b"
    assert [(f.rule, f.applied_by, f.message) for f in report.sorted()
            if f.rule != "not-validated"] == [
        ("namespace", "flux-system/other", namespace.format("other", b)),
        ("namespace", "flux-system/apps", namespace.format("shared", both)),
        ("secret-ref", "flux-system/other", secret.format("other", b)),
        ("secret-ref", "flux-system/apps", secret.format("shared", both)),
    ]


SPOKE = """
apiVersion: v1
kind: Namespace
metadata: {name: SPOKE}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: tenants, namespace: SPOKE}
spec:
  interval: 1h
  path: ./deploy/tenants
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system, namespace: flux-system}
  kubeConfig:
    secretRef: {name: cluster-kubeconfig}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: SPOKE}
spec:
  dependsOn: [{name: tenants}]
  targetNamespace: SPOKE
  interval: 1h
  path: ./deploy/apps
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system, namespace: flux-system}
  patches:
    - target: {kind: HelmRelease}
      patch: |
        - op: add
          path: /spec/kubeConfig
          value:
            secretRef: {name: cluster-kubeconfig}
"""


def test_a_hub_applies_to_its_spokes_through_kubeconfigs(tmp_path: Path) -> None:
    """flux2-hub-spoke-example: the hub's Kustomizations with a kubeConfig apply the same
    tenants to each spoke, and its HelmReleases (given a kubeConfig by a patch) install into
    the spoke's namespaces. Before: each tenant object `duplicate` (applied by
    production/tenants and staging/tenants), each spoke's Namespace `shared` with the hub's
    of that name; treated as one cluster after the tenants moved, the releases' target
    namespaces were `namespace` errors."""
    files = {
        "hub/flux-system/gotk-sync.yaml": flux_sync("https://github.com/me/fleet", "./hub"),
        "hub/production.yaml": SPOKE.replace("SPOKE", "production"),
        "hub/staging.yaml": SPOKE.replace("SPOKE", "staging"),
        "deploy/tenants/podinfo.yaml": "apiVersion: v1\nkind: Namespace\n"
                                       "metadata: {name: podinfo}\n",
        "deploy/tenants/production.yaml": "apiVersion: v1\nkind: Namespace\n"
                                          "metadata: {name: production}\n",
        "deploy/apps/podinfo.yaml": """
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: podinfo}
spec: {interval: 12h, type: oci, url: "oci://ghcr.io/stefanprodan/charts"}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: podinfo}
spec:
  interval: 1h
  targetNamespace: podinfo
  chart:
    spec:
      chart: podinfo
      version: 6.7.1
      sourceRef: {kind: HelmRepository, name: podinfo}
""",
    }
    write_tree(tmp_path, files)
    report = validate(tmp_path, Options(builtin=builtin()))
    # The kubeconfigs are written by whatever made the spokes, never in Git: said, as any
    # Secret the tree does not make. Nothing else.
    assert sorted({(f.rule, f.message) for f in report.findings
                   if f.rule != "not-validated"}) == [
        ("secret-ref", f"kubeConfig.secretRef: Secret {spoke}/cluster-kubeconfig is not in the "
                       f"tree (it must exist on the cluster): no Secret, ExternalSecret or "
                       f"Certificate provides it") for spoke in ("production", "staging")]
    # A release whose spokes create no such namespace is still found, in each spoke.
    (tmp_path / "deploy/apps/podinfo.yaml").write_text(
        files["deploy/apps/podinfo.yaml"].replace("targetNamespace: podinfo",
                                                  "targetNamespace: web"))
    report = validate(tmp_path, Options(builtin=builtin()))
    assert sorted({(f.rule, f.message) for f in report.findings
                   if f.rule not in ("not-validated", "secret-ref")}) == [
        ("namespace", f"namespace 'web' is not created by the tree (it must exist on the "
                      f"cluster) (cluster kubeConfig Secret {spoke}/cluster-kubeconfig)")
        for spoke in ("production", "staging")]
