"""The log shipper follows addons.loki.shipper: an Alloy DaemonSet, or a Loki output for the
cluster's own Fluent Bit that outfitter hands over without editing its HelmRelease."""

from __future__ import annotations

from typing import Any

from outfitter import yamlio
from outfitter.config import parse_profile
from outfitter.plan import AddonPlan, Plan, build_plan


def plan_for(addons: dict[str, Any] | None = None, **profile: Any) -> Plan:
    return build_plan(parse_profile({"addons": addons or {}, **profile}))


def shipper(addons: dict[str, Any] | None = None, **profile: Any) -> AddonPlan:
    return plan_for(addons, **profile).get("log-shipper")


def test_alloy_daemonset_ships_pod_logs_to_loki() -> None:
    plan = plan_for()
    ap = plan.get("log-shipper")
    chart = ap.addon.chart_for(plan.context)
    assert chart is not None and (chart.name, chart.version) == ("alloy", "1.11.1")
    assert plan.get("loki").wave < ap.wave
    alloy = ap.values["alloy"]
    config = alloy["configMap"]["content"]
    assert 'url = "http://loki.observability.svc:3100/loki/api/v1/push"' in config
    assert 'loki.source.file "pods"' in config
    assert 'sys.env("NODE_NAME")' in config
    assert {"name": "NODE_NAME",
            "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}} in alloy["extraEnv"]
    assert alloy["mounts"]["varlog"] is True
    assert "{{" not in config  # the chart passes the content through tpl
    assert ap.values["serviceMonitor"]["additionalLabels"] == {"release": "kube-prometheus-stack"}


def test_alloy_costs_once_per_node_with_its_config_reloader() -> None:
    ap = shipper(cluster={"nodes": {"count": 4}})
    assert {w.workload.name: w.pods for w in ap.workloads} == {
        "alloy": 4, "alloy-config-reloader": 4}
    assert all(not w.unset for w in ap.workloads)


def test_alloy_pods_stay_out_of_the_mesh_the_namespace_is_in() -> None:
    assert shipper().values["controller"]["podAnnotations"] == {"linkerd.io/inject": "disabled"}
    without_linkerd = shipper(existing=["flux", "kube-prometheus-stack", "fluent-bit",
                                        "external-secrets", "traefik"])
    assert "podAnnotations" not in without_linkerd.values["controller"]


def test_fluent_bit_gets_a_loki_output_as_a_values_patch_beside_its_release() -> None:
    plan = plan_for({"loki": {"shipper": "fluent-bit", "fluentBitNamespace": "fluent-bit",
                              "fluentBitMatch": "kube.var.log.*"}})
    ap = plan.get("log-shipper")
    assert ap.addon.chart_for(plan.context) is None
    assert ap.values == {} and ap.workloads == []
    (cm,) = ap.rendered.app
    assert cm["kind"] == "ConfigMap"
    assert cm["metadata"] == {"name": "fluent-bit-loki-output", "namespace": "fluent-bit"}
    patch = yamlio.load_all(cm["data"]["values.yaml"])[0]
    output = patch["config"]["extraFiles"]["loki-output.conf"]
    assert output.startswith("[OUTPUT]\n    Name        loki\n")
    assert "Match       kube.var.log.*\n" in output
    assert "Host        loki.observability.svc\n" in output
    assert "Port        3100\n" in output
    notes = " ".join(ap.notes)
    assert "valuesFrom" in notes and "@INCLUDE loki-output.conf" in notes


def test_the_shipper_follows_loki() -> None:
    plan = plan_for({"loki": {"enabled": False}, "otel-collector": {"metrics": True}})
    assert "log-shipper" not in [ap.addon.name for ap in plan.addons]


def test_loki_says_so_when_no_shipper_runs() -> None:
    plan = plan_for({"log-shipper": {"enabled": False}})
    assert any(n.startswith("No log shipper") for n in plan.get("loki").notes)
    assert not any(n.startswith("No log shipper") for n in plan_for().get("loki").notes)
