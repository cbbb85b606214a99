"""Longhorn: replicas fit the nodes, not the default StorageClass unless asked, backups on the
object storage contract with credentials from the secret store, recurring jobs, alerts, UI
behind authentication."""

from __future__ import annotations

import json
from typing import Any

import pytest

from outfitter.addons import registry
from outfitter.addons.longhorn import ADDON, CREDENTIALS_SECRET, UI_SERVICE
from outfitter.config import ProfileError, parse_profile
from outfitter.plan import build_plan


def longhorn(data: dict[str, Any] | None = None) -> Any:
    return build_plan(parse_profile(data or {})).get("longhorn")


def alone(existing: list[str]) -> dict[str, Any]:
    """Longhorn and what it uses, on a cluster with only `existing` (other add-ons off, so
    that their own needs do not get in the way)."""
    keep = {"longhorn", "object-storage", "cert-manager"}
    return {"existing": existing,
            "addons": {n: {"enabled": False} for n in registry.names() if n not in keep}}


def without_object_storage() -> dict[str, Any]:
    """Object storage off, and with it every other add-on (some need it)."""
    return {"addons": {n: {"enabled": False} for n in registry.names()
                       if n not in ("longhorn", "cert-manager")}}


def problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ProfileError) as err:
        parse_profile(data)
    return err.value.problems


def objects(ap: Any, kind: str) -> list[dict[str, Any]]:
    return [o for o in ap.rendered.app + ap.rendered.config if o["kind"] == kind]


@pytest.mark.parametrize(("nodes", "expected"), [(1, 1), (2, 2), (3, 3), (5, 3)])
def test_replicas_default_to_the_nodes_up_to_three(nodes: int, expected: int) -> None:
    ap = longhorn({"cluster": {"nodes": {"count": nodes}}})
    assert ap.values["persistence"]["defaultClassReplicaCount"] == expected
    setting = json.loads(ap.values["defaultSettings"]["defaultReplicaCount"])
    assert setting == {"v1": str(expected), "v2": str(expected)}


def test_chosen_replicas_are_used() -> None:
    ap = longhorn({"cluster": {"nodes": {"count": 5}}, "addons": {"longhorn": {"replicas": 4}}})
    assert ap.values["persistence"]["defaultClassReplicaCount"] == 4


def test_replicas_above_the_node_count_are_refused() -> None:
    assert problems({"cluster": {"nodes": {"count": 2}},
                     "addons": {"longhorn": {"replicas": 3}}}) == [
        "addons.longhorn.replicas: 3 is above the node count 2"]


def test_backups_without_object_storage_are_refused() -> None:
    data = without_object_storage()
    data["addons"]["longhorn"] = {"backup": True}
    assert [line for line in problems(data) if line.startswith("addons.longhorn")] == [
        "addons.longhorn.backup: backups need object storage, which is disabled (enable "
        "addons.object-storage or set backup: false)"]


def test_in_cluster_backup_target_on_longhorn_itself_is_refused() -> None:
    [line] = problems({"cluster": {"storageClass": "longhorn"}})
    assert line.startswith("addons.longhorn.backup: cluster.storageClass is longhorn")
    parse_profile({"cluster": {"storageClass": "longhorn"}, "addons": {"object-storage": {
        "provider": "external", "endpoint": "https://nas.home.example.com:9000"}}})
    parse_profile({"cluster": {"storageClass": "longhorn"},
                   "addons": {"longhorn": {"backup": False}}})


def test_bad_cron_is_refused_with_its_key() -> None:
    assert problems({"addons": {"longhorn": {"backupSchedule": "daily"}}}) == [
        "addons.longhorn.backupSchedule: must be a 5-field cron expression"]


def test_default_settings_are_strings_as_the_chart_requires() -> None:
    # templates/default-setting.yaml `fail`s on any defaultSettings value that is not a string.
    for value in longhorn().values["defaultSettings"].values():
        assert isinstance(value, str)


def test_not_the_default_storage_class_unless_asked() -> None:
    assert longhorn().values["persistence"]["defaultClass"] is False
    asked = longhorn({"addons": {"longhorn": {"defaultStorageClass": True}}})
    assert asked.values["persistence"]["defaultClass"] is True


def test_backups_go_to_the_object_store_with_credentials_from_the_secret_store() -> None:
    ap = longhorn({"addons": {"object-storage": {"provider": "garage"}}})
    assert ap.buckets == ("longhorn-backups",)
    store = ap.values["defaultBackupStore"]
    assert store["backupTarget"] == "s3://longhorn-backups@garage/"
    assert store["backupTargetCredentialSecret"] == CREDENTIALS_SECRET
    assert not objects(ap, "Secret")
    [secret] = [o for o in objects(ap, "ExternalSecret")
                if o["metadata"]["name"] == CREDENTIALS_SECRET]
    data = secret["spec"]["target"]["template"]["data"]
    assert sorted(data) == ["AWS_ACCESS_KEY_ID", "AWS_ENDPOINTS", "AWS_SECRET_ACCESS_KEY"]
    assert data["AWS_ENDPOINTS"] == "http://garage.object-storage.svc:3900"
    assert data["AWS_ACCESS_KEY_ID"] == "{{ .access_key_id }}"
    [backup] = [j for j in objects(ap, "RecurringJob") if j["spec"]["task"] == "backup"]
    assert backup["spec"]["cron"] == "0 4 * * *" and backup["spec"]["retain"] == 7
    assert "object-storage" in ap.depends_on


def test_without_object_storage_only_snapshots() -> None:
    ap = longhorn(without_object_storage())
    assert ap.buckets == ()
    assert "defaultBackupStore" not in ap.values
    assert [j["spec"]["task"] for j in objects(ap, "RecurringJob")] == ["snapshot"]
    assert not [o for o in objects(ap, "ExternalSecret")
                if o["metadata"]["name"] == CREDENTIALS_SECRET]
    assert any("local snapshots only" in n for n in ap.notes)


def test_recurring_jobs_follow_the_options_and_apply_to_every_volume() -> None:
    ap = longhorn({"addons": {"longhorn": {
        "snapshotSchedule": "0 * * * *", "snapshotRetain": 24,
        "backupSchedule": "30 2 * * 0", "backupRetain": 4}}})
    jobs = {j["metadata"]["name"]: j for j in objects(ap, "RecurringJob")}
    assert sorted(jobs) == ["backup", "snapshot"]
    for name, job in jobs.items():
        assert job["apiVersion"] == "longhorn.io/v1beta2"
        assert job["spec"]["name"] == name
        assert job["spec"]["groups"] == ["default"]
    assert (jobs["snapshot"]["spec"]["cron"], jobs["snapshot"]["spec"]["retain"]) == \
        ("0 * * * *", 24)
    assert (jobs["backup"]["spec"]["cron"], jobs["backup"]["spec"]["retain"]) == \
        ("30 2 * * 0", 4)
    # Longhorn's own CRDs: the config Kustomization, after the chart installed them.
    assert all(j in ap.rendered.config for j in jobs.values())


def test_ui_only_behind_authentication() -> None:
    ap = longhorn()
    [route] = objects(ap, "IngressRoute")
    [service] = route["spec"]["routes"][0]["services"]
    assert service == {"name": UI_SERVICE, "port": 80}
    assert route["spec"]["routes"][0]["middlewares"] == [{"name": "longhorn-auth"}]
    assert route["spec"]["tls"]["secretName"] == "longhorn-tls"
    assert objects(ap, "Middleware")[0]["spec"]["basicAuth"]["secret"] == "longhorn-basic-auth"


def test_no_ui_route_without_traefik() -> None:
    ap = longhorn(alone(["flux", "kube-prometheus-stack", "external-secrets"]))
    assert not objects(ap, "IngressRoute")
    assert any("port-forward" in n for n in ap.notes)


def test_no_ui_route_without_cert_manager() -> None:
    data = alone(["flux", "kube-prometheus-stack", "traefik", "external-secrets"])
    data["addons"]["cert-manager"] = {"enabled": False}
    ap = longhorn(data)
    assert not objects(ap, "IngressRoute") and not objects(ap, "Certificate")
    assert "cert-manager" not in ap.depends_on


def test_metrics_and_alerts_for_kube_prometheus_stack() -> None:
    ap = longhorn()
    monitor = ap.values["metrics"]["serviceMonitor"]
    assert monitor == {"enabled": True, "additionalLabels": {"release": "kube-prometheus-stack"}}
    [rule] = objects(ap, "PrometheusRule")
    assert rule["metadata"]["labels"] == {"release": "kube-prometheus-stack"}
    alerts = {r["alert"]: r for r in rule["spec"]["groups"][0]["rules"]}
    assert alerts["LonghornVolumeFaulted"]["expr"] == \
        'longhorn_volume_robustness{state="faulted"} == 1'
    assert alerts["LonghornVolumeFaulted"]["labels"]["severity"] == "critical"
    assert "LonghornVolumeDegraded" in alerts and "LonghornNodeStorageAlmostFull" in alerts


def test_no_monitoring_objects_without_kube_prometheus_stack() -> None:
    ap = longhorn(alone(["flux", "traefik", "external-secrets"]))
    assert ap.values["metrics"]["serviceMonitor"]["enabled"] is False
    assert not objects(ap, "PrometheusRule")


def test_manager_budget_counts_once_per_node_with_requests_and_limits() -> None:
    ap = longhorn({"cluster": {"nodes": {"count": 4}}})
    [manager] = ap.workloads
    assert (manager.workload.kind, manager.pods, manager.unset) == ("DaemonSet", 4, ())
    assert manager.cost.cpu_request == 4 * 50


def test_gitops_friendly_and_open_iscsi_noted() -> None:
    ap = longhorn()
    assert ap.values["preUpgradeChecker"]["jobEnabled"] is False
    assert ADDON.mesh == "disabled"
    assert any("open-iscsi" in n for n in ap.notes)


def test_talos_nodes_get_extensions_and_kubelet_mounts_instead_of_packages() -> None:
    generic = longhorn().notes
    talos = longhorn({"cluster": {"nodes": {"os": "talos"}}}).notes
    assert any("open-iscsi" in n for n in generic)
    assert not any("open-iscsi" in n for n in talos)
    [extensions] = [n for n in talos if "system extensions" in n]
    assert "siderolabs/iscsi-tools" in extensions and "siderolabs/util-linux-tools" in extensions
    assert "machine.kubelet.extraMounts" in extensions and "rshared" in extensions
    assert any("pod-security.kubernetes.io/enforce: privileged" in n for n in talos)


def test_a_ui_route_on_the_gateway_with_sops() -> None:
    ap = longhorn({"existing": ["flux", "envoy-gateway"], "secrets": {"provider": "sops"},
                   "ingress": {"provider": "gateway-api"}})
    kinds = sorted(o["kind"] for o in ap.rendered.app)
    assert "HTTPRoute" in kinds and "SecurityPolicy" in kinds and "IngressRoute" not in kinds
    assert not any("No UI route" in n for n in ap.notes)
