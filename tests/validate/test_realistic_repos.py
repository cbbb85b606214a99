"""validate on repositories laid out as the community lays them out (tests/fixtures/repos/
validate-*): every finding is asserted, so a false positive fails the test as surely as a
missed problem."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner
from validate_trees import builtin

import upstream_data
from outfitter.cli import app
from outfitter.validate.crd_schema import CrdIndex
from outfitter.validate.engine import Options, validate
from outfitter.validate.findings import Report

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "repos"
needs_kubectl = pytest.mark.skipif(shutil.which("kubectl") is None,
                                   reason="kubectl (kustomize) not on PATH")


def copy(name: str, tmp_path: Path) -> Path:
    """The fixture outside any git working tree (so it is its own repository)."""
    return Path(shutil.copytree(FIXTURES / name, tmp_path / name))


def crds() -> CrdIndex:
    index = CrdIndex(strict=True)
    for group in ("flux", "cert-manager"):
        index.add_path(upstream_data.UPSTREAM / "crds" / group)
    return index


def check(root: Path, **kw: object) -> Report:
    return validate(root, Options(builtin=builtin(), crds=crds(), **kw))  # type: ignore[arg-type]


def listing(report: Report) -> list[tuple[str, int | None, str, str, str]]:
    return [(f.file, f.line, f.rule, f.applied_by, f.message) for f in report.sorted()]


@needs_kubectl
def test_cluster_template_layout_has_only_true_findings(upstream: None, tmp_path: Path) -> None:
    report = check(copy("validate-cluster-template", tmp_path))
    # Every Flux Kustomization decrypts with flux-system/sops-age: made at bootstrap, never
    # in Git, so not reported (seven warnings before, all of them noise).
    assert listing(report) == [
        ("kubernetes/apps/default/old-app", None, "not-applied", "",
         "no Flux Kustomization applies this folder (not reached from Flux Kustomization "
         "flux-system/flux-system): not validated"),
        ("kubernetes/apps/default/whoami/app/objectbucketclaim.yaml", None, "not-validated", "",
         "ObjectBucketClaim (objectbucket.io/v1alpha1): no schema known (from the Kubernetes "
         "schemas, CRDs in the tree, --schemas or the cluster); 1 object(s) in 1 file(s) not "
         "validated"),
        ("kubernetes/apps/kube-system/snapshot-controller/app/kustomization.yaml", 5,
         "remote-resource", "", "https://github.com/kubernetes-csi/external-snapshotter//"
         "client/config/crd?ref=v8.2.0: remote, not fetched (offline)"),
        ("kubernetes/apps/observability/prometheus-operator-crds/ks.yaml", 16,
         "external-source", "", "builds GitRepository flux-system/prometheus-operator, not "
         "this repository: not validated here (--source-dir prometheus-operator=DIR checks a "
         "local checkout)"),
    ]
    # Every object applied, once: the component's PVC per consumer (${APP} substituted),
    # the remote build's local HelmRelease, nothing from helmfile/Ansible/compose/mkdocs.
    assert (report.objects, report.validated) == (25, 24)


@needs_kubectl
def test_home_ops_layout_has_only_true_findings(upstream: None, tmp_path: Path) -> None:
    index = CrdIndex(strict=True)
    for group in ("flux", "external-secrets"):
        index.add_path(upstream_data.UPSTREAM / "crds" / group)
    report = validate(copy("validate-home-ops", tmp_path), Options(builtin=builtin(),
                                                                    crds=index))
    volsync = ("dependsOn: Kustomization volsync-system/volsync is not in the tree (it must "
               "exist on the cluster)")
    assert listing(report) == [
        # Flux's own manifests come from their OCI artifact: never built from this tree.
        ("kubernetes/apps/flux-system/flux/ks.yaml", 13, "external-source", "",
         "builds OCIRepository flux-system/flux-manifests, not this repository: not "
         "validated here (--source-dir flux-manifests=DIR checks a local checkout)"),
        # True: nothing in this repository makes the volsync Kustomization.
        ("kubernetes/apps/media/plex/ks.yaml", 14, "depends-on", "flux-system/cluster-apps",
         volsync),
        ("kubernetes/apps/media/sonarr/ks.yaml", 14, "depends-on", "flux-system/cluster-apps",
         volsync),
    ]
    # Each app's PVC and Gatus ConfigMap from the shared Components, named per app; the
    # namespaces from the common Component; nothing from Taskfile/helmfile/.taskfiles.
    assert (report.objects, report.validated) == (21, 21)


@needs_kubectl
def test_without_the_parent_patch_the_sops_rules_agree(upstream: None, tmp_path: Path) -> None:
    root = copy("validate-cluster-template", tmp_path)
    ks = root / "kubernetes/flux/cluster/ks.yaml"
    text = ks.read_text()
    # The decryption Secret under a name of the user's own (not the bootstrap sops-age):
    # it must be in the tree, or on the cluster, and is looked for.
    ks.write_text(text[:text.index("  patches:")].replace("name: sops-age", "name: age-key"))
    report = check(root)
    sops = sorted((f.file, f.subject) for f in report.findings if f.rule == "sops-no-decryption")
    # echo's Secret is SOPS-encrypted and echo has no decryption any more: said once, and no
    # decryption Secret is looked for on the children any more.
    assert sops == [("kubernetes/apps/default/echo/app/secret.sops.yaml",
                     "Secret default/echo-secret")]
    refs = [(f.subject, f.message) for f in report.findings if f.rule == "secret-ref"]
    missing = ("decryption.secretRef: Secret flux-system/age-key is not in the tree (it must "
               "exist on the cluster): no Secret, ExternalSecret or Certificate provides it")
    assert refs == [("Kustomization flux-system/cluster-meta", missing),
                    ("Kustomization flux-system/cluster-apps", missing)]


@needs_kubectl
def test_the_bootstrap_sops_age_secret_is_known_and_no_other(upstream: None,
                                                             tmp_path: Path) -> None:
    root = copy("validate-cluster-template", tmp_path)
    ks = root / "kubernetes/flux/cluster/ks.yaml"
    # cluster-meta decrypts with a Secret of another name; cluster-apps and the children
    # (through the parent's patch) keep the bootstrap sops-age.
    ks.write_text(ks.read_text().replace("name: sops-age", "name: sops-age-old", 1))
    report = check(root)
    assert [(f.file, f.line, f.rule, f.subject, f.message) for f in report.sorted()
            if f.rule == "secret-ref"] == [
        ("kubernetes/flux/cluster/ks.yaml", 10, "secret-ref",
         "Kustomization flux-system/cluster-meta",
         "decryption.secretRef: Secret flux-system/sops-age-old is not in the tree (it must "
         "exist on the cluster): no Secret, ExternalSecret or Certificate provides it")]


@needs_kubectl
def test_a_local_checkout_of_the_other_source_is_built(upstream: None, tmp_path: Path) -> None:
    root = copy("validate-cluster-template", tmp_path)
    crd_repo = tmp_path / "prometheus-operator" / "example" / "prometheus-operator-crd"
    crd_repo.mkdir(parents=True)
    (crd_repo / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-upstream, namespace: x}\n")
    from outfitter.repo.model import Options as RepoOptions

    report = check(root, repo=RepoOptions(source_dirs={
        "prometheus-operator": str(tmp_path / "prometheus-operator")}))
    assert "external-source" not in {f.rule for f in report.findings}
    [missing] = [f for f in report.findings if f.rule == "namespace"]
    assert missing.applied_by == "flux-system/prometheus-operator-crds"
    assert report.objects == 26


@needs_kubectl
def test_cli_summary_first_and_identical_findings_once(upstream: None, tmp_path: Path) -> None:
    root = copy("validate-cluster-template", tmp_path)
    # The decryption Secret under another name than the bootstrap one: every Flux
    # Kustomization (7, the children through the parent's patch) names a missing Secret.
    ks = root / "kubernetes/flux/cluster/ks.yaml"
    ks.write_text(ks.read_text().replace("name: sops-age", "name: age-key"))
    result = CliRunner().invoke(app, [
        "validate", str(root), "--schemas", str(upstream_data.UPSTREAM / "crds" / "flux"),
        "--schemas", str(upstream_data.UPSTREAM / "crds" / "cert-manager")])
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[0].startswith("findings: 41 files, 25 objects")  # .sops.yaml not read
    assert lines[1].split() == ["7", "warning", "secret-ref"]
    assert result.output.count("flux-system/age-key") == 1
    assert "×7" in result.output


def test_outfitters_own_render_validates_clean(tmp_path: Path) -> None:
    runner = CliRunner()
    rendered = runner.invoke(app, ["render", "--out", str(tmp_path / "tree")])
    assert rendered.exit_code == 0, rendered.output
    result = runner.invoke(app, ["validate", str(tmp_path / "tree"), "--json",
                                 "--kubernetes-version", "1.36"])
    assert result.exit_code == 0, result.output
