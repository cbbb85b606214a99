"""Trivy Operator: the scan policy lands on the chart's real keys, the etcd-flooding scanners
are off, scan jobs are capped, and the critical-vulnerability alert is wired."""

from __future__ import annotations

from typing import Any

import pytest

from outfitter import yamlio
from outfitter.addons.trivy_operator import ADDON
from outfitter.config import ProfileError, parse_profile
from outfitter.plan import build_plan, make_context
from outfitter.render.flux import render_tree

NO_KPS = ["flux", "argocd", "traefik", "external-secrets", "linkerd"]


def values(options: dict[str, Any] | None = None, **profile: Any) -> dict[str, Any]:
    data = {**profile, "addons": {"trivy-operator": options or {}}}
    return ADDON.values(make_context(parse_profile(data)))


def problems(options: dict[str, Any], **profile: Any) -> list[str]:
    with pytest.raises(ProfileError) as err:
        parse_profile({**profile, "addons": {"trivy-operator": options}})
    return err.value.problems


def test_default_scan_policy() -> None:
    v = values()
    assert v["trivy"]["severity"] == "CRITICAL,HIGH"
    assert v["trivy"]["ignoreUnfixed"] is True
    assert v["excludeNamespaces"] == ""
    op = v["operator"]
    assert op["scanJobsConcurrentLimit"] == 2
    assert op["scannerReportTTL"] == "24h"
    assert op["builtInTrivyServer"] is False


def test_scanners_that_flood_etcd_or_mount_the_host_are_off() -> None:
    op = values()["operator"]
    for off in ("sbomGenerationEnabled", "clusterSbomCacheEnabled", "clusterComplianceEnabled",
                "infraAssessmentScannerEnabled", "metricsVulnIdEnabled"):
        assert op[off] is False, off
    for on in ("vulnerabilityScannerEnabled", "configAuditScannerEnabled",
               "rbacAssessmentScannerEnabled", "exposedSecretScannerEnabled"):
        assert op[on] is True, on


def test_profile_options_map_onto_the_chart() -> None:
    v = values({"severities": ["medium", "CRITICAL", "high", "HIGH"], "ignoreUnfixed": False,
                "excludedNamespaces": ["media", "kube-*", "media"],
                "concurrentScanJobs": 1, "reportTtl": "72h"})
    assert v["trivy"]["severity"] == "CRITICAL,HIGH,MEDIUM"  # Trivy's order, upper case, once
    assert v["trivy"]["ignoreUnfixed"] is False
    assert v["excludeNamespaces"] == "kube-*,media"
    assert v["operator"]["scanJobsConcurrentLimit"] == 1
    assert v["operator"]["scannerReportTTL"] == "72h"


def test_every_workload_has_requests_and_limits_and_scan_jobs_are_bounded() -> None:
    v = values()
    for block in (v["resources"], v["trivy"]["resources"]):
        assert set(block["requests"]) == {"cpu", "memory"}
        assert set(block["limits"]) == {"cpu", "memory"}


def test_budget_counts_the_operator_only_and_notes_give_the_scan_peak() -> None:
    plan = build_plan(parse_profile({}))
    ap = plan.get("trivy-operator")
    assert [w.workload.name for w in ap.workloads] == ["trivy-operator"]
    assert (ap.cost.cpu_request, ap.cost.memory_request) == (50, 128)
    assert any("At most 2 scan job(s)" in n and "1Gi" in n for n in ap.notes)


def test_trivy_server_is_counted_and_gets_the_profile_storage_class() -> None:
    plan = build_plan(parse_profile({"cluster": {"storageClass": "nfs-client"},
                                     "addons": {"trivy-operator": {"trivyServer": True}}}))
    ap = plan.get("trivy-operator")
    assert [w.workload.name for w in ap.workloads] == ["trivy-operator", "trivy-server"]
    assert ap.values["operator"]["builtInTrivyServer"] is True
    assert ap.values["trivy"]["storageClassName"] == "nfs-client"
    assert ap.values["trivy"]["server"]["replicas"] == 1


def test_service_monitor_and_alerts_carry_the_kps_release_label() -> None:
    ctx = make_context(parse_profile({}))
    v = ADDON.values(ctx)
    assert v["serviceMonitor"] == {"enabled": True,
                                   "labels": {"release": "kube-prometheus-stack"}}
    [rule] = ADDON.resources(ctx).app
    assert rule["kind"] == "PrometheusRule"
    assert rule["metadata"]["namespace"] == "security"
    assert rule["metadata"]["labels"] == {"release": "kube-prometheus-stack"}
    alerts = {r["alert"]: r for r in rule["spec"]["groups"][0]["rules"]}
    assert alerts["TrivyCriticalVulnerabilities"]["expr"] == \
        'trivy_image_vulnerabilities{severity="Critical"} > 0'
    assert 'deployment="trivy-operator"' in alerts["TrivyOperatorDown"]["expr"]


def test_without_kube_prometheus_stack_no_monitoring_objects() -> None:
    ctx = make_context(parse_profile({"existing": NO_KPS}))
    assert ADDON.values(ctx)["serviceMonitor"]["enabled"] is False
    assert ADDON.resources(ctx).app == []


def test_the_namespace_stays_out_of_the_mesh() -> None:
    files = render_tree(build_plan(parse_profile({})))
    [ns] = yamlio.load_all(files["kubernetes/apps/security/namespace.yaml"])
    assert ns["metadata"]["annotations"]["linkerd.io/inject"] == "disabled"


def test_unknown_severities_are_reported_with_their_index() -> None:
    assert problems({"severities": ["CRITICAL", "SEVERE", "urgent"]}) == [
        "addons.trivy-operator.severities[1]: unknown severity 'SEVERE' "
        "(known: UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL)",
        "addons.trivy-operator.severities[2]: unknown severity 'urgent' "
        "(known: UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL)",
    ]


def test_no_severity_at_all() -> None:
    [problem] = problems({"severities": []})
    assert problem.startswith("addons.trivy-operator.severities: must name at least one")


def test_more_than_two_scan_jobs_per_node_is_refused() -> None:
    [problem] = problems({"concurrentScanJobs": 3}, cluster={"nodes": {"count": 1}})
    assert problem.startswith("addons.trivy-operator.concurrentScanJobs: 3 scan jobs")
    parse_profile({"cluster": {"nodes": {"count": 3}},
                   "addons": {"trivy-operator": {"concurrentScanJobs": 6}}})


def test_report_ttl_must_be_a_duration_and_scan_jobs_at_least_one() -> None:
    found = problems({"reportTtl": "1 day", "concurrentScanJobs": 0})
    assert any(p.startswith("addons.trivy-operator.reportTtl:") for p in found)
    assert any(p.startswith("addons.trivy-operator.concurrentScanJobs:") for p in found)


def test_excluded_namespaces_cannot_smuggle_a_comma() -> None:
    [problem] = problems({"excludedNamespaces": ["ok", "media,games"]})
    assert problem.startswith("addons.trivy-operator.excludedNamespaces[1]:")


def test_notes_warn_when_the_alert_cannot_fire() -> None:
    ctx = make_context(parse_profile({"addons": {"trivy-operator": {"severities": ["HIGH"]}}}))
    assert any("alert cannot fire" in n for n in ADDON.notes(ctx))


def test_scan_pods_carry_a_name_label() -> None:
    labels = values()["trivyOperator"]["scanJobPodTemplateLabels"]
    assert "app.kubernetes.io/name=trivy-scan" in labels.split(",")
