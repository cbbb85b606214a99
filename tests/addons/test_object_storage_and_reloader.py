"""The object storage choices behind one contract, and Reloader's GitOps-friendly strategy."""

from __future__ import annotations

import json
from typing import Any

from outfitter.config import parse_profile
from outfitter.plan import build_plan


def storage(data: dict[str, Any] | None = None) -> Any:
    return build_plan(parse_profile(data or {})).get("object-storage")


def test_seaweedfs_creates_every_consumer_s_bucket() -> None:
    plan = build_plan(parse_profile({}))
    store = plan.get("object-storage")
    wanted = {b for ap in plan.addons for b in ap.buckets}
    created = {b["name"] for b in store.values["allInOne"]["s3"]["createBuckets"]}
    assert created == wanted and {"velero", "loki-chunks", "tempo"} <= created
    [es] = [o for o in store.rendered.app if o["kind"] == "ExternalSecret"]
    identities = json.loads(es["spec"]["target"]["template"]["data"]["seaweedfs_s3_config"])
    assert identities["identities"][0]["credentials"] == [
        {"accessKey": "{{ .access_key_id }}", "secretKey": "{{ .secret_access_key }}"}]


def test_minio_is_offered_with_a_warning() -> None:
    minio = storage({"addons": {"object-storage": {"provider": "minio"}}})
    assert minio.values["mode"] == "standalone" and minio.values["existingSecret"] == "minio-root"
    assert any("archived" in n for n in minio.notes)


def test_an_external_endpoint_installs_nothing_and_says_which_buckets_to_create() -> None:
    plan = build_plan(parse_profile({"addons": {"object-storage": {
        "provider": "external", "endpoint": "https://nas.lan:9000"}}}))
    ext = plan.get("object-storage")
    assert ext.addon.chart_for(plan.context) is None and not ext.in_cluster
    assert "create buckets" in ext.notes[0] and "velero" in ext.notes[0]


def test_reloader_uses_the_annotations_strategy() -> None:
    values = build_plan(parse_profile({})).get("reloader").values
    assert values["reloader"]["reloadStrategy"] == "annotations"
    assert values["reloader"]["watchGlobally"] is True
