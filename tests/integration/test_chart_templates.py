"""Every HelmRelease of every profile variant templated by the real helm with the real
charts at the pinned versions (../shared/upstream/helm-charts), with Flux's semantics: the
output must template, pass a server-side dry run on the test control plane, and every
reference across add-ons must resolve (Service host:port, Secret keys, metric names). Every
container the charts create must be bounded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from control_plane import install_upstream_crds
from lightkube import Client

import chart_packages
from outfitter import yamlio
from outfitter.addons import registry
from outfitter.cluster.apply import Located, apply_all
from outfitter.helm.charts import ChartStore
from outfitter.helm.checks import (
    check_metrics,
    check_secret_keys,
    check_services,
    unbounded,
)
from outfitter.helm.collect import Outcome, Templater
from outfitter.helm.template import find_helm
from outfitter.plan import build_plan
from outfitter.render.flux import render_tree
from outfitter.testcluster import ControlPlane, tools_bin_dir
from profiles import VARIANTS, variant

pytestmark = pytest.mark.integration

KUBE_VERSION = "1.36.0"  # the test control plane's (tools/kubernetes/go.mod)


@dataclass
class Templated:
    tree: list[Located]
    outcomes: list[Outcome[str]]

    @property
    def rendered(self) -> list[Located]:
        return [Located(f"{o.origin} -> {r.source}", r.obj) for o in self.outcomes
                for r in o.objects]

    @property
    def objects(self) -> list[dict[str, object]]:
        return [i.obj for i in self.tree] + [i.obj for i in self.rendered]


@pytest.fixture(scope="session")
def helm_bin() -> str:
    built = tools_bin_dir() / "helm"
    if built.exists():
        return str(built)
    try:
        return find_helm()
    except Exception as err:
        pytest.skip(f"{err}")


@pytest.fixture(scope="session")
def charts_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chart_packages.require()
    return chart_packages.charts_folder(tmp_path_factory.mktemp("charts"))


_CACHE: dict[str, Templated] = {}


def templated(name: str, helm: str, charts: Path, cache: Path) -> Templated:
    if name not in _CACHE:
        files = render_tree(build_plan(variant(name)))
        tree = [Located(path, obj) for path, text in sorted(files.items())
                if path.endswith(".yaml") for obj in yamlio.load_all(text)
                if obj.get("apiVersion") != "kustomize.config.k8s.io/v1beta1"]
        templater: Templater[str] = Templater(
            helm, ChartStore(charts, cache=cache, offline=True), kube_version=KUBE_VERSION,
            api_versions={"monitoring.coreos.com/v1", "monitoring.coreos.com/v1/ServiceMonitor",
                          "monitoring.coreos.com/v1/PrometheusRule"})
        for crd in chart_packages.upstream_crds():
            templater.observe(crd, "upstream")
        for item in tree:
            templater.observe(item.obj, item.source)
        _CACHE[name] = Templated(tree, templater.render_all())
    return _CACHE[name]


@pytest.fixture
def variant_output(request: pytest.FixtureRequest, helm_bin: str, charts_dir: Path,
                   tmp_path_factory: pytest.TempPathFactory) -> Templated:
    cache = tmp_path_factory.getbasetemp() / "empty-chart-cache"
    return templated(request.param, helm_bin, charts_dir, cache)


variants = pytest.mark.parametrize("variant_output", sorted(VARIANTS), indirect=True)


@variants
def test_every_helmrelease_templates(variant_output: Templated) -> None:
    failed = [f"{o.origin}: {o.release.label} ({o.chart}): {o.error}"
              for o in variant_output.outcomes if o.error]
    assert failed == []
    assert len(variant_output.outcomes) >= 10
    assert all(o.objects for o in variant_output.outcomes)


@variants
def test_every_chart_container_is_bounded(variant_output: Templated) -> None:
    found = [f"{i.source}: {i.ref}: {message}" for i in variant_output.rendered
             for message, _ in unbounded(i.obj)]
    assert found == []


@variants
def test_service_references_resolve(variant_output: Templated) -> None:
    # Namespaces the templated releases fill; the existing stack's are not judged.
    filled = {o.release.target_namespace for o in variant_output.outcomes if not o.error}
    problems = [f"{p.obj.get('kind')} {p.message}"
                for p in check_services(variant_output.objects, filled)]
    assert problems == []


@variants
def test_secret_keys_resolve(variant_output: Templated) -> None:
    problems = [f"{p.obj.get('kind')} {p.message}"
                for p in check_secret_keys(variant_output.objects)]
    assert problems == []


@variants
def test_alert_metrics_exist(variant_output: Templated) -> None:
    catalogues = [a.metrics for a in registry.all_addons() if a.metrics is not None]
    problems = [p.message for p in check_metrics(variant_output.objects, catalogues)]
    assert problems == []


def _namespaces(client: Client, items: list[Located]) -> None:
    from lightkube import codecs

    wanted = {"flux-system", "argocd", "monitoring"} | {
        str(i.obj["metadata"]["namespace"]) for i in items  # type: ignore[index]
        if (i.obj.get("metadata") or {}).get("namespace")}  # type: ignore[union-attr]
    for ns in sorted(wanted):
        client.apply(codecs.from_dict({"apiVersion": "v1", "kind": "Namespace",
                                       "metadata": {"name": ns}}),
                     field_manager="outfitter-tests", force=True)


def _crds_first(items: list[Located]) -> Iterator[Located]:
    yield from (i for i in items if i.obj.get("kind") == "CustomResourceDefinition")


@pytest.fixture(scope="module")
def patient_client(control_plane: ControlPlane) -> Iterator[Client]:
    """A client that waits as long as a loaded machine needs for the large CRDs (the
    charts' own and ../shared/upstream/crds), which are installed with it."""
    import httpx2

    client = control_plane.client(timeout=httpx2.Timeout(300))
    try:
        install_upstream_crds(client)
        yield client
    finally:
        client.close()


@variants
def test_templated_output_passes_a_server_side_dry_run(
    variant_output: Templated, patient_client: Client
) -> None:
    from outfitter.cluster.apply import load_cluster_kinds

    kube_client = patient_client
    rendered = variant_output.rendered
    _namespaces(kube_client, rendered)
    # The charts' own CRDs are installed for real first, as Flux does (install.crds).
    crds = list(_crds_first(rendered))
    assert [str(f) for f in apply_all(kube_client, crds, dry_run=False)] == []
    load_cluster_kinds(kube_client)
    rest = [i for i in rendered if i.obj.get("kind") != "CustomResourceDefinition"]
    failures = apply_all(kube_client, rest, dry_run=True)
    assert [str(f) for f in failures] == []
    assert len(rest) > 100


def test_the_plan_budget_is_read_from_the_templated_output(
    helm_bin: str, charts_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from outfitter.helm.planned import apply_templated_budget

    output = templated("default", helm_bin, charts_dir,
                       tmp_path_factory.getbasetemp() / "empty-chart-cache")
    plan = build_plan(variant("default"))
    from_values = plan.get("longhorn").cost
    assert apply_templated_budget(plan, output.outcomes) == []
    # Every container counted: nothing the charts run is left out of the budget.
    assert [(ap.addon.name, w.workload.name, w.unset) for ap in plan.addons
            for w in ap.workloads if w.unset] == []
    longhorn = {w.workload.name: w for w in plan.get("longhorn").workloads}
    assert {"longhorn-manager", "longhorn-ui", "longhorn-driver-deployer"} <= set(longhorn)
    assert longhorn["longhorn-manager"].pods == plan.profile.cluster.nodes.count
    assert plan.get("longhorn").cost.memory_request > from_values.memory_request
    # Hook Jobs run once: not in the steady-state budget.
    assert "longhorn-post-upgrade" not in longhorn


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_variant_passes_its_own_validate_helm(
    name: str, helm_bin: str, charts_dir: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tree with its charts' output: schemas, references, lint (every container bounded,
    node agents' hostPath and privilege silenced on their HelmRelease, with the reason in the
    add-on), Service ports, Secret keys and alert metrics — no finding."""
    import upstream_data
    from outfitter.helm.validation import HelmPass, Settings
    from outfitter.render.writer import write_tree
    from outfitter.validate.engine import Options, validate
    from outfitter.validate.k8s_schema import schemas_for

    plan = build_plan(variant(name))
    if plan.context.sops:
        from sops_repo import rendered_git_repo

        tree = rendered_git_repo(plan, tmp_path / "repo", tmp_path / "keys", monkeypatch)
    else:
        write_tree(tmp_path / "repo", render_tree(plan))
        tree = tmp_path / "repo"
    helm = HelmPass(Settings(helm_bin, charts_dir, offline=True, cache=tmp_path / "cache"),
                    KUBE_VERSION)
    options = Options(builtin=schemas_for("1.36", True), crds=upstream_data.crd_index(),
                      known_namespaces=frozenset(
                          ["monitoring", "argocd", "apps", "immich", "paperless",
                           "fluent-bit"]), helm=helm)
    report = validate(tree, options)
    # The age key Secret Flux decrypts with is made at bootstrap: known, not reported.
    assert [f"{f.file}:{f.line}: {f.rule}: {f.subject}: {f.message}"
            for f in report.sorted() if f.severity != "info"] == []
    assert len(helm.rendered) > 200


WORKLOAD_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"})


def test_the_platform_passes_its_own_kyverno_policies(
    helm_bin: str, charts_dir: Path, kyverno: Path, tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Every workload the default tree's charts really render, through the tree's own
    ValidatingPolicies in the real Kyverno CLI: none fails, so moving the policies to Deny
    cannot block the platform (the add-on namespaces that need it are exempt)."""
    from kyverno_reports import offline_report

    out = templated("default", helm_bin, charts_dir,
                    tmp_path_factory.getbasetemp() / "empty-chart-cache")
    workloads = [r.obj for r in out.rendered if r.obj.get("kind") in WORKLOAD_KINDS]
    policies = [i.obj for i in out.tree if i.obj.get("kind") == "ValidatingPolicy"]
    assert len(workloads) > 20 and len(policies) >= 6
    report = offline_report(kyverno, tmp_path, policies, workloads)
    failed = sorted(f"{r['policy']}: {res.get('namespace')}/{res['kind']}/{res['name']}"
                    for r in report["results"] if r["result"] in ("fail", "error")
                    for res in r["resources"])
    assert failed == [], "\n".join(failed)
    assert any(r["result"] == "pass" for r in report["results"])  # the policies did run
