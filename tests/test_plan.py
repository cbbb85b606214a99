"""Plan: waves follow dependencies, the budget adds up from the rendered values."""

from __future__ import annotations

from typing import Any

import pytest

from outfitter.config import ProfileError, parse_profile
from outfitter.plan import build_plan, plan_json


def plan_for(data: dict[str, Any]) -> Any:
    return build_plan(parse_profile(data))


def wave(plan: Any, name: str) -> int:
    return int(plan.get(name).wave)


def test_object_storage_comes_before_its_consumers() -> None:
    plan = build_plan(parse_profile({}))
    for consumer in ("velero", "loki", "tempo", "longhorn"):
        if any(ap.addon.name == consumer for ap in plan.addons):
            assert wave(plan, "object-storage") < wave(plan, consumer), consumer


def test_anything_rendering_a_certificate_comes_after_cert_manager() -> None:
    plan = build_plan(parse_profile({"acme": {"challenge": "dns01", "wildcard": True}}))
    for ap in plan.addons:
        kinds = {o["kind"] for o in ap.rendered.app + ap.rendered.config}
        if "Certificate" in kinds and ap.addon.name != "cert-manager":
            assert "cert-manager" in ap.depends_on
            assert wave(plan, "cert-manager") < ap.wave


def test_waves_are_listed_in_order_and_cover_every_enabled_add_on() -> None:
    plan = build_plan(parse_profile({}))
    names = [ap.addon.name for w in plan.waves for ap in w]
    assert sorted(names) == sorted(ap.addon.name for ap in plan.addons)
    for ap in plan.addons:
        for dep in ap.depends_on:
            assert wave(plan, dep) < ap.wave


def test_disabled_add_ons_are_not_planned() -> None:
    plan = plan_for({"addons": {"reloader": {"enabled": False}}})
    assert "reloader" not in [ap.addon.name for ap in plan.addons]


def test_daemonsets_count_once_per_node() -> None:
    three = plan_for({}).get("velero")
    five = plan_for({"cluster": {"nodes": {"count": 5}}}).get("velero")
    agent3 = next(w for w in three.workloads if w.workload.kind == "DaemonSet")
    agent5 = next(w for w in five.workloads if w.workload.kind == "DaemonSet")
    assert (agent3.pods, agent5.pods) == (3, 5)
    # node-agent requests 50m and 128Mi per pod; the server 50m and 128Mi once.
    assert agent5.cost.cpu_request == 5 * 50
    assert five.cost.cpu_request == 50 + 5 * 50
    assert five.cost.memory_request == 128 + 5 * 128


def test_budget_follows_the_values_not_a_table() -> None:
    plan = plan_for({"addons": {"velero": {"fileSystemBackup": False}}})
    velero = plan.get("velero")
    assert [w.workload.name for w in velero.workloads] == ["velero"]
    assert velero.cost.cpu_request == 50


def test_total_is_the_sum_and_allocatable_is_nodes_times_size() -> None:
    plan = plan_for({"cluster": {"nodes": {"count": 2, "cpu": "3500m", "memory": "8Gi"}}})
    assert plan.total.cpu_request == sum(ap.cost.cpu_request for ap in plan.addons)
    assert plan.total.memory_limit == sum(ap.cost.memory_limit for ap in plan.addons)
    assert plan.allocatable.cpu_request == 7000
    assert plan.allocatable.memory_request == 16384


def test_warning_above_the_profile_threshold() -> None:
    tight = plan_for({"cluster": {"nodes": {"count": 1, "cpu": "1", "memory": "1Gi"},
                                  "budgetWarnPercent": 10},
                      "addons": {"longhorn": {"replicas": 1}} if _has("longhorn") else {}})
    assert any("above the 10% threshold" in w for w in tight.warnings())
    roomy = plan_for({"cluster": {"nodes": {"count": 3, "cpu": "64", "memory": "256Gi"}}})
    assert not any("threshold" in w for w in roomy.warnings())


def _has(name: str) -> bool:
    from outfitter.addons import registry

    return name in registry.names()


def test_objects_of_a_missing_existing_component_are_refused() -> None:
    with pytest.raises(ProfileError) as err:
        plan_for({"existing": ["flux", "traefik", "kube-prometheus-stack"]})
    assert ("addons.velero: renders external-secrets.io objects, but external-secrets is not "
            "in existing") in err.value.problems


def test_without_kube_prometheus_stack_no_monitoring_objects_are_rendered() -> None:
    from outfitter.render.flux import render_tree

    files = render_tree(plan_for({"existing": ["flux", "traefik", "external-secrets"]}))
    text = "".join(files.values())
    assert "kind: ServiceMonitor" not in text and "kind: PrometheusRule" not in text
    assert "monitoring.coreos.com" not in text
    velero = plan_for({"existing": ["flux", "traefik", "external-secrets"]}).get("velero")
    assert velero.values["metrics"]["serviceMonitor"]["enabled"] is False


def test_plan_json_carries_waves_budget_and_crds() -> None:
    data = plan_json(plan_for({}))
    assert data["waves"][0] and all(isinstance(w, list) for w in data["waves"])
    velero = next(a for a in data["addons"] if a["name"] == "velero")
    assert velero["chart"] == {"name": "velero", "version": "12.1.0",
                               "repository": "https://vmware-tanzu.github.io/helm-charts"}
    assert velero["crds"] == ["velero.io"] and velero["buckets"] == ["velero"]
    assert data["total"]["cpuRequestMillis"] == sum(
        a["total"]["cpuRequestMillis"] for a in data["addons"])
    assert data["cluster"]["allocatable"]["memoryRequestMiB"] == 3 * 16 * 1024


def test_an_adopted_add_on_costs_nothing_and_says_where_it_runs() -> None:
    mine = build_plan(parse_profile({}))
    profile = parse_profile({"addons": {"object-storage": {
        "installed": {"namespace": "storage", "release": "s3"}}}})
    plan = build_plan(profile)
    store = next(ap for ap in plan.addons if ap.addon.name == "object-storage")
    assert store.adopted == "storage/s3"
    assert store.workloads == [] and store.buckets == ()
    # What outfitter adds shrinks by exactly what the store would have cost.
    own = next(ap for ap in mine.addons if ap.addon.name == "object-storage")
    assert mine.total.cpu_request - plan.total.cpu_request == own.cost.cpu_request > 0
    assert store.notes[1] == (
        "create buckets loki-chunks, loki-ruler, longhorn-backups, tempo, velero in it: "
        "outfitter creates buckets only on an object store it installs.")
    row = next(a for a in plan_json(plan)["addons"] if a["name"] == "object-storage")
    assert (row["adopted"], row["namespace"], row["chart"]) == ("storage/s3", "storage", None)
