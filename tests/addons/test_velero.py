"""Velero's rendered objects."""

from __future__ import annotations

from typing import Any

from outfitter.config import parse_profile
from outfitter.plan import build_plan


def velero(data: dict[str, Any] | None = None) -> Any:
    return build_plan(parse_profile(data or {})).get("velero")


def kinds(ap: Any, where: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for obj in getattr(ap.rendered, where):
        out.setdefault(obj["kind"], []).append(obj)
    return out


def test_storage_location_on_the_object_storage_contract() -> None:
    [bsl] = kinds(velero(), "config")["BackupStorageLocation"]
    assert bsl["spec"]["objectStorage"] == {"bucket": "velero"}
    assert bsl["spec"]["config"]["s3Url"] == "http://seaweedfs-all-in-one.object-storage.svc:8333"
    assert bsl["spec"]["config"]["s3ForcePathStyle"] == "true"
    assert bsl["spec"]["credential"] == {"name": "velero-s3-credentials", "key": "cloud"}
    external = velero({"addons": {"object-storage": {
        "provider": "external", "endpoint": "https://nas.lan:9000", "region": "eu-1"}}})
    [bsl] = kinds(external, "config")["BackupStorageLocation"]
    assert bsl["spec"]["config"]["s3Url"] == "https://nas.lan:9000"
    assert bsl["spec"]["config"]["region"] == "eu-1"


def test_credentials_come_from_the_secret_store_in_velero_s_format() -> None:
    [es] = kinds(velero(), "app")["ExternalSecret"]
    assert es["spec"]["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": "onepassword"}
    assert es["spec"]["target"]["template"]["data"]["cloud"].startswith(
        "[default]\naws_access_key_id={{ .access_key_id }}\n")
    assert {d["remoteRef"]["key"] for d in es["spec"]["data"]} == {"object-storage"}


def test_daily_schedule_and_hourly_for_critical_namespaces() -> None:
    [daily] = kinds(velero(), "config")["Schedule"]
    assert daily["spec"]["schedule"] == "0 3 * * *"
    assert daily["spec"]["template"]["ttl"] == "720h0m0s"
    assert daily["spec"]["template"]["includedNamespaces"] == ["*"]
    schedules = kinds(velero({"addons": {"velero": {"criticalNamespaces": ["paperless", "ha"],
                                                    "hourlyTtl": "48h"}}}), "config")["Schedule"]
    hourly = next(s for s in schedules if s["metadata"]["name"] == "hourly-critical")
    assert hourly["spec"]["schedule"] == "0 * * * *"
    assert hourly["spec"]["template"]["includedNamespaces"] == ["ha", "paperless"]
    assert hourly["spec"]["template"]["ttl"] == "48h0m0s"


def test_alerts_and_node_agent() -> None:
    values = velero().values
    alerts = {a["alert"]: a for a in values["metrics"]["prometheusRule"]["spec"]}
    assert "velero_backup_failure_total" in alerts["VeleroBackupFailed"]["expr"]
    assert "25 * 3600" in alerts["VeleroNoRecentBackup"]["expr"]
    assert values["metrics"]["serviceMonitor"]["additionalLabels"] == {
        "release": "kube-prometheus-stack"}
    assert values["deployNodeAgent"] is True
    assert values["configuration"]["defaultVolumesToFsBackup"] is True
    assert values["backupsEnabled"] is False  # the BSL is outfitter's own object
    off = velero({"addons": {"velero": {"fileSystemBackup": False}}}).values
    assert off["deployNodeAgent"] is False and "nodeAgent" not in off


def test_bad_schedule_is_a_profile_problem() -> None:
    import pytest

    from outfitter.config import ProfileError

    with pytest.raises(ProfileError) as err:
        parse_profile({"addons": {"velero": {"dailySchedule": "daily"}}})
    assert err.value.problems == ["addons.velero.dailySchedule: must be a 5-field cron expression"]
