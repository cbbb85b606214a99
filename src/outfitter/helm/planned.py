"""The tree outfitter renders for a plan, with every HelmRelease templated: the plan's budget
read from what the charts really run (`outfitter plan --helm`), and the tests' view of it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from outfitter import yamlio
from outfitter.helm.budget import workload_costs
from outfitter.helm.charts import ChartStore
from outfitter.helm.collect import Outcome, Templater
from outfitter.helm.template import find_helm
from outfitter.helm.validation import Settings, kube_version_for_helm
from outfitter.plan import Plan

KUSTOMIZE_API = "kustomize.config.k8s.io/v1beta1"
# What the cluster serves before any add-on: the existing stack's prometheus-operator.
EXISTING_API_VERSIONS = ("monitoring.coreos.com/v1", "monitoring.coreos.com/v1/ServiceMonitor",
                         "monitoring.coreos.com/v1/PodMonitor",
                         "monitoring.coreos.com/v1/PrometheusRule")


def tree_objects(files: dict[str, str]) -> list[tuple[dict[str, Any], str]]:
    """(object, file) of every Kubernetes object in rendered files (not kustomize's)."""
    return [(obj, path) for path, text in sorted(files.items()) if path.endswith(".yaml")
            for obj in yamlio.load_all(text)
            if isinstance(obj, dict) and obj.get("apiVersion") != KUSTOMIZE_API]


def template_tree(objects: Iterable[tuple[dict[str, Any], str]], settings: Settings, *,
                  kube_version: str | None = None, crds: Iterable[dict[str, Any]] = ()
                  ) -> list[Outcome[str]]:
    helm = find_helm(settings.helm_bin)
    templater: Templater[str] = Templater(
        helm, ChartStore(settings.charts, cache=settings.cache, offline=settings.offline,
                         helm=helm),
        kube_version=kube_version_for_helm(kube_version) if kube_version else None,
        api_versions=EXISTING_API_VERSIONS)
    for crd in crds:
        templater.observe(crd, "(cluster)")
    for obj, path in objects:
        templater.observe(obj, path)
    return templater.render_all()


def apply_templated_budget(plan: Plan, outcomes: list[Outcome[str]]) -> list[str]:
    """Each add-on's workloads replaced by those its chart renders; problems for releases
    that did not template (their add-on keeps the budget read from its values)."""
    problems = []
    by_release = {(ap.addon.namespace, ap.addon.name): ap for ap in plan.addons}
    nodes = plan.profile.cluster.nodes.count
    for outcome in outcomes:
        ap = by_release.get((outcome.release.namespace, outcome.release.name))
        if ap is None:
            continue
        if outcome.error is not None:
            problems.append(f"{outcome.release.label} ({outcome.chart}): {outcome.error}")
            continue
        ap.workloads = workload_costs(outcome.objects, nodes)
    return problems
