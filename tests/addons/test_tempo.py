"""Tempo: single binary on the object storage contract or its volume, OTLP receivers, retention,
and a Grafana datasource that links traces to Loki."""

from __future__ import annotations

from typing import Any

import pytest

from outfitter import yamlio
from outfitter.config import ProfileError, parse_profile
from outfitter.plan import AddonPlan, build_plan


def tempo_plan(addons: dict[str, Any] | None = None) -> AddonPlan:
    return build_plan(parse_profile({"addons": addons or {}})).get("tempo")


def datasource(ap: AddonPlan) -> dict[str, Any]:
    (cm,) = [o for o in ap.rendered.app if o["kind"] == "ConfigMap"]
    assert cm["metadata"]["namespace"] == "monitoring"
    (ds,) = yamlio.load_all(cm["data"]["tempo-datasource.yaml"])[0]["datasources"]
    return dict(ds)


def test_traces_go_to_the_tempo_bucket_with_credentials_from_the_secret_store() -> None:
    plan = build_plan(parse_profile({}))
    ap = plan.get("tempo")
    assert "tempo" in plan.context.buckets
    assert plan.get("object-storage").wave < ap.wave
    trace = ap.values["tempo"]["storage"]["trace"]
    assert trace["backend"] == "s3"
    assert trace["s3"]["bucket"] == "tempo"
    assert trace["s3"]["endpoint"] == "seaweedfs-all-in-one.object-storage.svc:8333"
    assert trace["s3"]["access_key"] == "${AWS_ACCESS_KEY_ID}"
    assert ap.values["tempo"]["extraArgs"] == {"config.expand-env": "true"}
    assert [o["kind"] for o in ap.rendered.app if o["kind"].endswith("Secret")] == [
        "ExternalSecret"]


def test_otlp_receivers_and_the_charts_jaeger_defaults() -> None:
    receivers = tempo_plan().values["tempo"]["receivers"]
    # `jaeger: null` made the chart's Service template fail (nil pointer): Tempo never
    # installed. tests/integration/test_chart_templates.py templates it with the chart.
    assert "jaeger" not in receivers
    assert receivers["otlp"]["protocols"]["grpc"]["endpoint"] == "0.0.0.0:4317"
    assert receivers["otlp"]["protocols"]["http"]["endpoint"] == "0.0.0.0:4318"


@pytest.mark.parametrize(("retention", "expected"), [("7d", "168h"), ("72h", "72h")])
def test_retention_is_a_go_duration(retention: str, expected: str) -> None:
    assert tempo_plan({"tempo": {"retention": retention}}).values["tempo"]["retention"] == \
        expected


def test_filesystem_storage_keeps_traces_on_the_volume() -> None:
    plan = build_plan(parse_profile({"addons": {"tempo": {"storage": "filesystem"}}}))
    ap = plan.get("tempo")
    assert "tempo" not in plan.context.buckets
    assert "storage" not in ap.values["tempo"]  # the chart's default: local backend
    assert ap.values["persistence"]["enabled"] is True
    assert not [o for o in ap.rendered.app if o["kind"] == "ExternalSecret"]


def test_s3_without_object_storage_is_refused() -> None:
    with pytest.raises(ProfileError) as err:
        parse_profile({"addons": {"object-storage": {"enabled": False}}})
    assert any(p.startswith("addons.tempo.storage: Tempo with neither object storage")
               for p in err.value.problems)


def test_datasource_links_traces_to_loki_logs() -> None:
    ds = datasource(tempo_plan())
    assert (ds["uid"], ds["type"], ds["url"]) == (
        "tempo", "tempo", "http://tempo.observability.svc:3200")
    links = ds["jsonData"]["tracesToLogsV2"]
    assert links["datasourceUid"] == "loki"
    assert links["filterByTraceID"] is True

    no_loki = datasource(tempo_plan({"loki": {"enabled": False}}))
    assert "tracesToLogsV2" not in no_loki["jsonData"]


def test_service_monitor_and_sizing() -> None:
    ap = tempo_plan()
    assert ap.values["serviceMonitor"] == {
        "enabled": True, "additionalLabels": {"release": "kube-prometheus-stack"}}
    (workload,) = ap.workloads
    assert workload.pods == 1 and not workload.unset
