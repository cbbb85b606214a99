"""Loki: monolithic on the object storage contract or a volume, retention, the shipper choice
and its refusals, Grafana wiring."""

from __future__ import annotations

import json
from typing import Any

import pytest

from outfitter import yamlio
from outfitter.config import EXISTING_STACK, ProfileError, parse_profile
from outfitter.plan import AddonPlan, build_plan


def loki_plan(addons: dict[str, Any] | None = None, **profile: Any) -> AddonPlan:
    return build_plan(parse_profile({"addons": addons or {}, **profile})).get("loki")


def problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ProfileError) as err:
        parse_profile(data)
    return err.value.problems


def objects(ap: AddonPlan, kind: str) -> list[dict[str, Any]]:
    return [o for o in ap.rendered.app + ap.rendered.config if o["kind"] == kind]


def test_monolithic_one_replica_without_the_parts_a_homelab_does_not_need() -> None:
    values = loki_plan().values
    assert values["deploymentMode"] == "Monolithic"
    assert values["singleBinary"]["replicas"] == 1
    for scalable in ("write", "read", "backend"):
        assert values[scalable]["replicas"] == 0
    for part in ("gateway", "chunksCache", "resultsCache", "lokiCanary", "test", "minio"):
        assert values[part]["enabled"] is False, part
    resources = values["singleBinary"]["resources"]
    assert set(resources["requests"]) == {"cpu", "memory"}
    assert "memory" in resources["limits"]


def test_object_storage_buckets_and_credentials_from_an_external_secret() -> None:
    plan = build_plan(parse_profile({}))
    ap = plan.get("loki")
    assert {"loki-chunks", "loki-ruler"} <= set(plan.context.buckets)
    assert plan.get("object-storage").wave < ap.wave
    storage = ap.values["loki"]["storage"]
    assert storage["type"] == "s3"
    assert storage["bucketNames"] == {"chunks": "loki-chunks", "ruler": "loki-ruler"}
    # The S3 client takes the scheme from `insecure`, not from the endpoint.
    assert storage["s3"]["endpoint"] == "seaweedfs-all-in-one.object-storage.svc:8333"
    assert storage["s3"]["insecure"] is True
    assert storage["s3"]["accessKeyId"] == "${AWS_ACCESS_KEY_ID}"
    single = ap.values["singleBinary"]
    # The chart passes -config.expand-env=true itself; a second copy was noise.
    assert "extraArgs" not in single
    assert single["extraEnvFrom"] == [{"secretRef": {"name": "loki-s3-credentials"}}]
    assert objects(ap, "Secret") == []
    (secret,) = objects(ap, "ExternalSecret")
    assert secret["metadata"]["name"] == "loki-s3-credentials"
    assert set(secret["spec"]["target"]["template"]["data"]) == {
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}


def test_external_https_endpoint_is_not_insecure() -> None:
    ap = loki_plan({"object-storage": {"provider": "external",
                                       "endpoint": "https://nas.home.example.com:9000/"}})
    s3 = ap.values["loki"]["storage"]["s3"]
    assert (s3["endpoint"], s3["insecure"]) == ("nas.home.example.com:9000", False)


def test_filesystem_storage_uses_a_volume_and_no_object_storage() -> None:
    plan = build_plan(parse_profile({"addons": {"loki": {"storage": "filesystem"}}}))
    ap = plan.get("loki")
    assert "object-storage" not in ap.depends_on
    assert not {"loki-chunks", "loki-ruler"} & set(plan.context.buckets)
    loki = ap.values["loki"]
    assert loki["storage"] == {"type": "filesystem"}
    assert loki["schemaConfig"]["configs"][0]["object_store"] == "filesystem"
    assert loki["compactor"]["delete_request_store"] == "filesystem"
    persistence = ap.values["singleBinary"]["persistence"]
    assert (persistence["enabled"], persistence["size"]) == (True, "50Gi")
    assert "extraEnvFrom" not in ap.values["singleBinary"]
    assert objects(ap, "ExternalSecret") == []


@pytest.mark.parametrize(("retention", "hours"), [("30d", 720), ("14d", 336), ("48h", 48)])
def test_retention_from_the_profile_is_applied_by_the_compactor(
    retention: str, hours: int
) -> None:
    loki = loki_plan({"loki": {"retention": retention}}).values["loki"]
    assert loki["structuredConfig"]["limits_config"]["retention_period"] == f"{hours}h"
    assert loki["compactor"]["retention_enabled"] is True
    assert loki["compactor"]["delete_request_store"] == "s3"


def test_retention_must_be_whole_days() -> None:
    found = problems({"addons": {"loki": {"retention": "36h"}}})
    assert any(p.startswith("addons.loki.retention:") for p in found)


def test_promtail_is_refused_with_its_end_of_life() -> None:
    (problem,) = problems({"addons": {"loki": {"shipper": "promtail"}}})
    assert problem.startswith("addons.loki.shipper: Promtail reached end of life on 2026-03-02")
    assert "alloy" in problem and "fluent-bit" in problem


def test_fluent_bit_needs_the_clusters_fluent_bit() -> None:
    existing = [c for c in EXISTING_STACK if c != "fluent-bit"]
    (problem,) = problems({"existing": existing,
                           "addons": {"loki": {"shipper": "fluent-bit"}}})
    assert problem.startswith("addons.loki.shipper: fluent-bit")


def test_neither_object_storage_nor_a_volume_is_one_clear_problem() -> None:
    # Other consumers of object storage complain too; Loki says it once, in its own words.
    found = problems({"addons": {"object-storage": {"enabled": False}}})
    (loki,) = [p for p in found if p.startswith("addons.loki")]
    assert loki.startswith("addons.loki.storage: Loki with neither object storage nor a volume")


def test_grafana_datasource_links_traces_to_tempo_when_tempo_is_enabled() -> None:
    ap = loki_plan()
    (datasource,) = [o for o in objects(ap, "ConfigMap") if o["metadata"]["name"] ==
                     "loki-datasource"]
    assert datasource["metadata"]["namespace"] == "monitoring"
    assert datasource["metadata"]["labels"] == {"grafana_datasource": "1"}
    (ds,) = yamlio.load_all(datasource["data"]["loki-datasource.yaml"])[0]["datasources"]
    assert (ds["uid"], ds["type"], ds["url"]) == (
        "loki", "loki", "http://loki.observability.svc:3100")
    fields = ds["jsonData"]["derivedFields"]
    assert {f["datasourceUid"] for f in fields} == {"tempo"}
    # Grafana expands $VARS in provisioning files; $$ keeps the link's variable literal.
    assert all(f["url"] == "$${__value.raw}" for f in fields)

    without_tempo = loki_plan({"tempo": {"enabled": False},
                               "otel-collector": {"enabled": False}})
    (datasource,) = [o for o in objects(without_tempo, "ConfigMap")
                     if o["metadata"]["name"] == "loki-datasource"]
    (ds,) = yamlio.load_all(datasource["data"]["loki-datasource.yaml"])[0]["datasources"]
    assert "derivedFields" not in ds["jsonData"]


def test_logs_dashboard_is_valid_grafana_json_on_the_loki_datasource() -> None:
    ap = loki_plan()
    (cm,) = [o for o in objects(ap, "ConfigMap") if o["metadata"]["name"] == "logs-dashboard"]
    assert cm["metadata"]["labels"] == {"grafana_dashboard": "1"}
    dashboard = json.loads(cm["data"]["logs.json"])
    assert dashboard["uid"] == "outfitter-logs"
    assert [p["type"] for p in dashboard["panels"]] == ["timeseries", "timeseries", "logs"]
    for panel in dashboard["panels"]:
        assert panel["datasource"] == {"type": "loki", "uid": "loki"}
        assert panel["targets"][0]["expr"].count("{") == panel["targets"][0]["expr"].count("}")
    assert [v["name"] for v in dashboard["templating"]["list"]] == [
        "namespace", "pod", "search"]


def test_service_monitor_and_alerts_carry_the_kps_release_label() -> None:
    monitoring = loki_plan().values["monitoring"]
    for part in ("serviceMonitor", "rules", "alerts"):
        assert monitoring[part] == {"enabled": True,
                                    "labels": {"release": "kube-prometheus-stack"}}


def test_without_kube_prometheus_stack_no_monitoring_objects() -> None:
    existing = [c for c in EXISTING_STACK if c != "kube-prometheus-stack"]
    ap = loki_plan(existing=existing)
    assert "monitoring" not in ap.values
    assert objects(ap, "ConfigMap") == []


def test_notes_say_where_the_oss_chart_went() -> None:
    notes = " ".join(loki_plan().notes)
    assert "grafana-community/helm-charts" in notes
    assert "Grafana Enterprise Logs" in notes
    assert "2026-03-02" in notes
