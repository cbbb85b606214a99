"""OpenTelemetry Collector: a gateway with one pipeline per backend that is there."""

from __future__ import annotations

from typing import Any

import pytest

from outfitter.config import ProfileError, parse_profile
from outfitter.plan import AddonPlan, Plan, build_plan


def plan_for(addons: dict[str, Any] | None = None) -> Plan:
    return build_plan(parse_profile({"addons": addons or {}}))


def collector(addons: dict[str, Any] | None = None) -> AddonPlan:
    return plan_for(addons).get("otel-collector")


def test_gateway_values_the_chart_schema_requires() -> None:
    values = collector().values
    assert values["mode"] == "deployment"
    assert values["image"]["repository"] == "otel/opentelemetry-collector-contrib"
    assert values["fullnameOverride"] == "otel-collector"
    assert values["resources"]["limits"]["memory"] == "512Mi"


def test_every_backend_gets_its_pipeline() -> None:
    config = collector().values["alternateConfig"]
    pipelines = config["service"]["pipelines"]
    assert {name: p["exporters"] for name, p in pipelines.items()} == {
        "traces": ["otlp/tempo"], "logs": ["otlphttp/loki"],
        "metrics": ["prometheusremotewrite"]}
    for pipeline in pipelines.values():
        assert pipeline["receivers"] == ["otlp"]
        assert pipeline["processors"] == ["memory_limiter", "batch"]
    exporters = config["exporters"]
    assert exporters["otlp/tempo"]["endpoint"] == "tempo.observability.svc:4317"
    assert exporters["otlphttp/loki"]["endpoint"] == "http://loki.observability.svc:3100/otlp"
    assert exporters["prometheusremotewrite"]["endpoint"] == (
        "http://kube-prometheus-stack-prometheus.monitoring.svc:9090/api/v1/write")
    assert config["service"]["extensions"] == ["health_check"]


def test_pipelines_only_for_enabled_backends() -> None:
    config = collector({"tempo": {"enabled": False}, "otel-collector": {"metrics": False}}
                       ).values["alternateConfig"]
    assert list(config["service"]["pipelines"]) == ["logs"]
    assert list(config["exporters"]) == ["otlphttp/loki"]


def test_nothing_to_send_to_is_refused() -> None:
    with pytest.raises(ProfileError) as err:
        parse_profile({"addons": {"loki": {"enabled": False}, "tempo": {"enabled": False},
                                  "otel-collector": {"metrics": False}}})
    assert any(p.startswith("addons.otel-collector: the collector would have nowhere")
               for p in err.value.problems)


def test_comes_after_loki_and_tempo() -> None:
    plan = plan_for()
    ap = plan.get("otel-collector")
    assert plan.get("loki").wave < ap.wave and plan.get("tempo").wave < ap.wave


def test_remote_write_needs_a_kps_flag_and_failures_alert() -> None:
    ap = collector()
    assert any("enableRemoteWriteReceiver" in n for n in ap.notes)
    (rule,) = [o for o in ap.rendered.app if o["kind"] == "PrometheusRule"]
    assert rule["metadata"]["labels"] == {"release": "kube-prometheus-stack"}
    (alert,) = rule["spec"]["groups"][0]["rules"]
    assert alert["alert"] == "OtelCollectorExportFailing"
    assert "otelcol_exporter_send_failed_metric_points_total" in alert["expr"]
    assert ap.values["serviceMonitor"]["extraLabels"] == {"release": "kube-prometheus-stack"}
    assert ap.values["ports"]["metrics"]["enabled"] is True
