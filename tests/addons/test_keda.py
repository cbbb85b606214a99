"""KEDA: homelab sizing, ServiceMonitors, and the profile's ScaledObjects in the user's
namespaces with queue credentials from the secret store."""

from __future__ import annotations

from typing import Any

import pytest

from outfitter.config import ProfileError, parse_profile
from outfitter.plan import AddonPlan, build_plan

CRON = {"type": "cron", "timezone": "Europe/Berlin", "start": "0 7 * * *", "end": "0 23 * * *",
        "desiredReplicas": 2}


def keda(*scaled_objects: dict[str, Any], **profile: Any) -> AddonPlan:
    data = {**profile, "addons": {"keda": {"scaledObjects": list(scaled_objects)}}}
    return build_plan(parse_profile(data)).get("keda")


def so(trigger: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": "worker", "namespace": "apps", "target": "worker", **extra,
            "trigger": trigger}


def problems(*scaled_objects: dict[str, Any], **profile: Any) -> list[str]:
    with pytest.raises(ProfileError) as err:
        parse_profile({**profile, "addons": {"keda": {"scaledObjects": list(scaled_objects)}}})
    return err.value.problems


def kinds(objs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objs if o["kind"] == kind]


def test_every_component_has_requests_limits_and_a_service_monitor() -> None:
    plan = keda()
    assert [w.workload.name for w in plan.workloads] == [
        "keda-operator", "keda-operator-metrics-apiserver", "keda-admission-webhooks"]
    assert all(w.unset == () and w.pods == 1 for w in plan.workloads)
    for component in ("operator", "metricServer", "webhooks"):
        prom = plan.values["prometheus"][component]
        assert prom["enabled"] is True
        assert prom["serviceMonitor"] == {
            "enabled": True, "additionalLabels": {"release": "kube-prometheus-stack"}}


def test_an_alert_watches_scaled_object_errors() -> None:
    [rule] = kinds(keda().rendered.app, "PrometheusRule")
    assert rule["metadata"]["labels"] == {"release": "kube-prometheus-stack"}
    [alert] = rule["spec"]["groups"][0]["rules"]
    assert "keda_scaled_object_errors_total" in alert["expr"]


def test_cron_trigger_in_the_workload_namespace() -> None:
    plan = keda(so(CRON, minReplicas=0, maxReplicas=2))
    [obj] = plan.rendered.config
    assert obj["apiVersion"] == "keda.sh/v1alpha1" and obj["kind"] == "ScaledObject"
    assert obj["metadata"] == {"name": "worker", "namespace": "apps"}
    spec = obj["spec"]
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                      "name": "worker"}
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (0, 2)
    assert spec["triggers"] == [{"type": "cron", "metadata": {
        "timezone": "Europe/Berlin", "start": "0 7 * * *", "end": "0 23 * * *",
        "desiredReplicas": "2"}}]
    assert any("scales a workload to zero" in n for n in plan.notes)


def test_prometheus_trigger_defaults_to_the_profile_prometheus() -> None:
    trigger = {"type": "prometheus", "query": "sum(rate(jobs_total[2m]))", "threshold": 10}
    [obj] = keda(so(trigger)).rendered.config
    assert obj["spec"]["triggers"][0]["metadata"] == {
        "serverAddress": "http://kube-prometheus-stack-prometheus.monitoring.svc:9090",
        "query": "sum(rate(jobs_total[2m]))", "threshold": "10"}
    [obj] = keda(so({**trigger, "threshold": 2.5, "serverAddress": "http://prom:9090"}),
                 ).rendered.config
    metadata = obj["spec"]["triggers"][0]["metadata"]
    assert metadata["serverAddress"] == "http://prom:9090" and metadata["threshold"] == "2.5"


def test_rabbitmq_credentials_come_from_an_external_secret_beside_the_workload() -> None:
    plan = keda(so({"type": "rabbitmq", "queueName": "jobs", "credentialsItem": "rabbitmq"}))
    [secret] = kinds(plan.rendered.app, "ExternalSecret")
    assert secret["metadata"] == {"name": "worker-rabbitmq-auth", "namespace": "apps"}
    assert secret["spec"]["data"] == [
        {"secretKey": "host", "remoteRef": {"key": "rabbitmq", "property": "url"}}]
    assert not kinds(plan.rendered.app + plan.rendered.config, "Secret")
    [auth] = kinds(plan.rendered.config, "TriggerAuthentication")
    assert auth["metadata"] == {"name": "worker-rabbitmq-auth", "namespace": "apps"}
    assert auth["spec"] == {"secretTargetRef": [
        {"parameter": "host", "name": "worker-rabbitmq-auth", "key": "host"}]}
    [obj] = kinds(plan.rendered.config, "ScaledObject")
    [trigger] = obj["spec"]["triggers"]
    assert trigger["authenticationRef"] == {"name": "worker-rabbitmq-auth"}
    assert "host" not in trigger["metadata"]
    assert trigger["metadata"]["mode"] == "QueueLength" and trigger["metadata"]["value"] == "20"


def test_redis_password_is_optional() -> None:
    trigger = {"type": "redis", "address": "redis.apps.svc:6379", "listName": "jobs"}
    plan = keda(so(trigger))
    assert not kinds(plan.rendered.app, "ExternalSecret")
    [obj] = plan.rendered.config
    assert "authenticationRef" not in obj["spec"]["triggers"][0]
    plan = keda(so({**trigger, "credentialsItem": "redis"}))
    [secret] = kinds(plan.rendered.app, "ExternalSecret")
    assert secret["spec"]["data"][0]["remoteRef"] == {"key": "redis", "property": "password"}
    [auth] = kinds(plan.rendered.config, "TriggerAuthentication")
    assert auth["spec"]["secretTargetRef"][0]["parameter"] == "password"


def test_objects_are_ordered_by_namespace_and_name() -> None:
    plan = keda(so(CRON, name="b", namespace="z"), so(CRON, name="a", namespace="z"),
                so(CRON, name="c", namespace="a"))
    assert [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in plan.rendered.config] \
        == [("a", "c"), ("z", "a"), ("z", "b")]


def test_min_replicas_above_max_is_refused() -> None:
    assert problems(so(CRON, minReplicas=4, maxReplicas=3)) == [
        "addons.keda.scaledObjects[0].minReplicas: 4 is above maxReplicas (3)"]


def test_cron_checks() -> None:
    lines = problems(so({**CRON, "start": "at seven", "timezone": "CET+1",
                         "desiredReplicas": 9}))
    assert lines == [
        "addons.keda.scaledObjects[0].trigger.start: must be a 5-field cron expression",
        "addons.keda.scaledObjects[0].trigger.timezone: must be an IANA time zone name such "
        "as Europe/Berlin, or UTC",
        "addons.keda.scaledObjects[0].trigger.desiredReplicas: 9 is above maxReplicas (3)",
    ]


def test_prometheus_trigger_needs_a_prometheus() -> None:
    existing = ["external-secrets", "traefik"]
    trigger = {"type": "prometheus", "query": "up", "threshold": 1}
    assert problems(so(trigger), existing=existing) == [
        "addons.keda.scaledObjects[0].trigger.serverAddress: needed: kube-prometheus-stack is "
        "not in existing, so there is no default Prometheus to query"]


def test_duplicates_and_unknown_trigger_types() -> None:
    assert problems(so(CRON), so(CRON)) == [
        "addons.keda.scaledObjects[1].name: apps/worker is declared twice"]
    [line] = problems(so({"type": "kafka", "topic": "x"}))
    assert line.startswith("addons.keda.scaledObjects[0].trigger:")
    [line] = problems(so({"type": "rabbitmq", "queueName": "jobs"}))
    assert line.startswith("addons.keda.scaledObjects[0].trigger.rabbitmq.credentialsItem:")


def test_without_kube_prometheus_stack_nothing_needs_prometheus_operator() -> None:
    plan = keda(so(CRON), existing=["flux", "traefik", "external-secrets"])
    assert not kinds(plan.rendered.app, "PrometheusRule")
    for component in ("operator", "metricServer", "webhooks"):
        assert plan.values["prometheus"][component]["serviceMonitor"]["enabled"] is False
