"""Cost: OpenCost on the existing Prometheus by default, Kubecost 3.x on request; the UI only
behind authentication."""

from __future__ import annotations

from typing import Any

from outfitter.addons.cost import ADDON, KUBECOST, OPENCOST, opencost_prometheus
from outfitter.config import parse_profile
from outfitter.plan import AddonPlan, build_plan


def cost(options: dict[str, Any] | None = None, **profile: Any) -> AddonPlan:
    data = {**profile, "addons": {"cost": options or {}}}
    return build_plan(parse_profile(data)).get("cost")


def kinds(objs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objs if o["kind"] == kind]


def test_opencost_is_the_default_engine() -> None:
    plan = build_plan(parse_profile({}))
    ap = plan.get("cost")
    assert ap.addon.chart_for(plan.context) == OPENCOST
    assert ap.addon.release_for(plan.profile) == "opencost"
    assert [w.workload.name for w in ap.workloads] == ["opencost", "opencost-ui"]
    assert all(w.unset == () for w in ap.workloads)


def test_opencost_queries_the_kube_prometheus_stack_service() -> None:
    prom = cost().values["opencost"]["prometheus"]
    assert prom == {
        "external": {"enabled": False},
        "internal": {"enabled": True, "serviceName": "kube-prometheus-stack-prometheus",
                     "namespaceName": "monitoring", "port": 9090},
    }


def test_a_prometheus_outside_the_cluster_is_external_and_never_both() -> None:
    prom = cost(monitoring={"prometheusURL": "https://prom.example.com/prometheus"}).values[
        "opencost"]["prometheus"]
    assert prom == {"external": {"enabled": True, "url": "https://prom.example.com/prometheus"},
                    "internal": {"enabled": False}}
    assert opencost_prometheus("http://prometheus-operated.monitoring.svc.cluster.local:9090/")[
        "internal"]["serviceName"] == "prometheus-operated"
    assert opencost_prometheus("http://prom.monitoring.svc:9090/api")["external"]["enabled"]


def test_opencost_is_scraped_and_its_ui_routed_behind_auth() -> None:
    ap = cost()
    monitor = ap.values["opencost"]["metrics"]["serviceMonitor"]
    assert monitor == {"enabled": True, "additionalLabels": {"release": "kube-prometheus-stack"}}
    assert ap.values["opencost"]["ui"]["enabled"] is True
    [route] = kinds(ap.rendered.app, "IngressRoute")
    [rule] = route["spec"]["routes"]
    assert rule["match"] == "Host(`opencost.home.example.com`)"
    assert rule["services"] == [{"name": "opencost", "port": 9090}]
    assert rule["middlewares"] == [{"name": "opencost-auth"}]
    [middleware] = kinds(ap.rendered.app, "Middleware")
    assert middleware["spec"]["basicAuth"]["secret"] == "opencost-basic-auth"
    assert kinds(ap.rendered.app, "ExternalSecret")
    assert not kinds(ap.rendered.app, "Secret")


def test_without_ui_nothing_is_exposed() -> None:
    ap = cost({"ui": False})
    assert ap.values["opencost"]["ui"]["enabled"] is False
    assert ap.rendered.app == [] and ap.rendered.config == []
    assert [w.workload.name for w in ap.workloads] == ["opencost"]  # ui container not counted


def test_the_plan_explains_the_choice() -> None:
    notes = " ".join(cost().notes)
    assert "free cost engine" in notes and "existing Prometheus" in notes
    assert "Kubecost 3.x does not use an existing Prometheus" in notes


def test_kubecost_brings_its_own_collector_and_is_sized_down() -> None:
    plan = build_plan(parse_profile({"addons": {"cost": {"engine": "kubecost"}}}))
    ap = plan.get("cost")
    assert ap.addon.chart_for(plan.context) == KUBECOST
    assert KUBECOST.name == "kubecost" and KUBECOST.version.startswith("3.")
    assert ap.addon.release_for(plan.profile) == "kubecost"
    values = ap.values
    assert "prometheus" not in values and "opencost" not in values
    for off in ("cloudCost", "forecasting", "networkCosts", "clusterController", "telemetry"):
        assert values[off] == {"enabled": False}
    assert values["global"]["clusterId"] == "homelab"
    assert values["aggregator"]["serviceMonitor"]["additionalLabels"] == {
        "release": "kube-prometheus-stack"}
    assert {w.workload.name: w.workload.kind for w in ap.workloads} == {
        "kubecost-frontend": "Deployment", "kubecost-aggregator": "StatefulSet",
        "kubecost-local-store": "Deployment"}
    assert all(w.unset == () for w in ap.workloads)
    [route] = kinds(ap.rendered.app, "IngressRoute")
    assert route["spec"]["routes"][0]["services"] == [{"name": "kubecost-frontend",
                                                       "port": 9090}]
    notes = " ".join(ap.notes)
    assert "does not use the existing Prometheus" in notes and "OpenCost" in notes


def test_roadmap_names() -> None:
    assert {"kubecost", "opencost", "cost"} <= set(ADDON.roadmap_names)


def test_without_kube_prometheus_stack_opencost_collects_itself() -> None:
    existing = ["flux", "traefik", "external-secrets"]
    ap = cost(existing=existing)
    opencost = ap.values["opencost"]
    assert "prometheus" not in opencost  # the chart's default internal block stays valid
    assert opencost["exporter"]["collectorDataSource"] == {"enabled": True}
    assert opencost["metrics"]["serviceMonitor"]["enabled"] is False
    assert "built-in collector" in " ".join(ap.notes)
    kube = cost({"engine": "kubecost"}, existing=existing)
    assert kube.values["aggregator"]["serviceMonitor"]["enabled"] is False
