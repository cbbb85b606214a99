"""The tree `outfitter render` writes, for every profile variant, validated with the upstream
CRDs and charts: no errors, no warnings, and every object checked against a schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from validate_trees import builtin

import upstream_data
from outfitter.plan import build_plan
from outfitter.render.flux import render_tree
from outfitter.render.writer import write_tree
from outfitter.validate.chart_values import ChartLibrary
from outfitter.validate.engine import Options, validate
from outfitter.validate.findings import Report
from outfitter.validate.run import Request, run
from profiles import VARIANTS, variant
from sops_repo import rendered_git_repo
from tool_needs import unavailable

# Namespaces of the user's existing cluster that add-ons wire into (kube-prometheus-stack's
# dashboards, Argo CD, applications that KEDA scales, the existing Fluent Bit).
EXISTING = ["monitoring", "argocd", "apps", "immich", "paperless", "fluent-bit"]


def with_upstream(root: Path) -> Report:
    # The upstream CRDs parsed once for the module (the rendered tree adds none to the index).
    options = Options(builtin=builtin(), crds=upstream_data.crd_index(),
                      charts=ChartLibrary(upstream_data.UPSTREAM / "charts"),
                      known_namespaces=frozenset(EXISTING))
    return validate(root, options)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_the_rendered_tree_is_clean(
    name: str, upstream: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = build_plan(variant(name))
    if plan.context.sops:
        tmp_path = rendered_git_repo(plan, tmp_path / "repo", tmp_path / "keys", monkeypatch)
    else:
        write_tree(tmp_path, render_tree(plan))
    needs_tool_crds = any(group in path.read_text() for path in tmp_path.rglob("*.yaml")
                          for group in upstream_data.TOOL_CRD_GROUPS)
    if needs_tool_crds and not upstream_data.tool_crds_available():
        unavailable(f"the tree renders Gateway API, envoy-gateway or flux-operator objects, "
                    f"whose CRDs are not in {upstream_data.TOOL_CRDS}; run tools/build.sh")
    report = with_upstream(tmp_path)
    found = [f"{f.file}:{f.line}: {f.rule}: {f.message}" for f in report.sorted()]
    # With SOPS, the age key Secret Flux decrypts with (flux-system/sops-age) is made at
    # bootstrap, never in the tree: known, not reported.
    assert found == []
    assert report.objects == report.validated > 100
    assert report.exit_code == 0


def test_the_rendered_tree_without_crds_says_what_it_did_not_validate(tmp_path: Path) -> None:
    write_tree(tmp_path, render_tree(build_plan(variant("default"))))
    report = run(Request(tmp_path, known_namespaces=EXISTING, kubernetes_version="1.36"))
    not_validated = [f.message.split(":")[0] for f in report.findings
                     if f.rule == "not-validated"]
    assert "HelmRelease (helm.toolkit.fluxcd.io/v2)" in not_validated
    assert all(f.severity == "info" for f in report.findings)
    assert 0 < report.validated < report.objects
    assert report.exit_code == 0


def test_a_value_the_chart_does_not_define_is_found_in_the_rendered_tree(
    upstream: None, tmp_path: Path
) -> None:
    write_tree(tmp_path, render_tree(build_plan(variant("default"))))
    hr = tmp_path / "kubernetes/apps/velero/velero/app/helmrelease.yaml"
    hr.write_text(hr.read_text().replace("    deployNodeAgent: true\n",
                                         "    deployNodeAgent: true\n    deployNodeAgnet: true\n"))
    report = with_upstream(tmp_path)
    [finding] = report.findings
    assert (finding.rule, finding.file) == ("values-unknown-key", hr.relative_to(tmp_path)
                                            .as_posix())
    assert finding.line is not None
    assert hr.read_text().splitlines()[finding.line - 1].strip() == "deployNodeAgnet: true"


def test_add_ons_argo_cd_owns_are_validated_as_argo_cd_applies_them(
        upstream: None, tmp_path: Path) -> None:
    """cert-manager and Kyverno given to Argo CD: their Applications (applied by Flux with
    the rest of the render) build app/ and config/ of this repository; those objects are
    checked as Argo CD applies them, and none is left not applied."""
    from outfitter.config import parse_profile

    profile = parse_profile({"addons": {"cert-manager": {"owner": "argocd"},
                                        "kyverno": {"owner": "argocd"}}})
    write_tree(tmp_path, render_tree(build_plan(profile)))
    sync = tmp_path / "clusters/home/flux-system/gotk-sync.yaml"
    sync.parent.mkdir(parents=True)
    sync.write_text(f"""\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: flux-system, namespace: flux-system}}
spec: {{interval: 1m, url: '{profile.gitops.repo_url}', ref: {{branch: main}}}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: flux-system, namespace: flux-system}}
spec:
  interval: 10m
  path: ./clusters/home
  prune: true
  sourceRef: {{kind: GitRepository, name: flux-system}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: cluster-apps, namespace: flux-system}}
spec:
  interval: 10m
  path: ./{profile.gitops.path.strip('/')}
  prune: true
  sourceRef: {{kind: GitRepository, name: flux-system}}
""")
    seen: dict[str, set[str]] = {}
    options = Options(builtin=builtin(), crds=upstream_data.crd_index(),
                      charts=ChartLibrary(upstream_data.UPSTREAM / "charts"),
                      known_namespaces=frozenset(EXISTING),
                      on_object=lambda by, obj: seen.setdefault(by, set()).add(obj["kind"]))
    report = validate(tmp_path, options)
    assert [f"{f.file}: {f.rule}: {f.message}" for f in report.sorted()] == []
    assert seen["Argo CD Application argocd/cert-manager-config"] == {"ClusterIssuer"}
    assert "Argo CD Application argocd/kyverno-config" in seen
    assert not [by for by in seen if by.startswith("Argo CD") and "reloader" in by]
