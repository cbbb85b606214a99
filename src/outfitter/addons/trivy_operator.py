"""Trivy Operator: vulnerability, misconfiguration and exposed-secret scans of the cluster's
workloads, kept as reports (custom resources), with an alert on critical vulnerabilities in
running images.

On a small cluster Trivy Operator can flood etcd with reports and the nodes with scan jobs.
So: scan jobs are capped (`concurrentScanJobs`), every report has a TTL (`reportTtl`, after
which it is deleted and the workload rescanned against a fresh vulnerability database), only
the severities the profile asks for are kept in the reports, and the scanners a homelab does
not need are off: SBOM generation (the largest reports of all), cluster compliance (CIS/NSA
reports built from node-collector jobs) and infra assessment (node-collector jobs that mount
the node's /etc/kubernetes, /var/lib/etcd, ... as hostPath).

Scan jobs cannot live in the Linkerd mesh: the proxy sidecar keeps a Job's pod running after
the scanner exits, so the Job never completes. The namespace stays out of the mesh.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field

from outfitter.addons.base import (
    Addon,
    AddonOptions,
    Chart,
    Priority,
    ProfileProblem,
    Rendered,
    Workload,
    options_of,
)
from outfitter.addons.context import Context
from outfitter.cluster.reader import ClusterReader, Kind
from outfitter.config import Profile
from outfitter.helm.checks import MetricCatalogue
from outfitter.status import kinds
from outfitter.status.checks import Check, Read, Result, items, name_of, summarize

VULNERABILITY_REPORTS = Kind("aquasecurity.github.io", "v1alpha1", "vulnerabilityreports",
                             "VulnerabilityReport")

SEVERITIES = ("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL")
# A Go duration as the operator parses it: 24h, 90m, 1h30m.
DURATION = r"^([0-9]+(h|m|s))+$"
# Namespace names or glob patterns (the chart joins them with commas).
NAMESPACE_PATTERN = re.compile(r"^[a-z0-9*?\[\]-]+$")
RELEASE = "trivy-operator"  # the Deployment is named after the release (chart fullname)
SCAN_POD_LABELS = "app.kubernetes.io/name=trivy-scan,app.kubernetes.io/part-of=trivy-operator"


class TrivyOperatorOptions(AddonOptions):
    severities: list[str] = Field(
        default_factory=lambda: ["CRITICAL", "HIGH"],
        description=f"severities kept in vulnerability reports ({', '.join(SEVERITIES)})")
    ignore_unfixed: bool = Field(
        True, alias="ignoreUnfixed",
        description="report only vulnerabilities that have a fix (the ones you can act on)")
    excluded_namespaces: list[str] = Field(
        default_factory=list, alias="excludedNamespaces",
        description="namespaces (or glob patterns) never scanned")
    concurrent_scan_jobs: int = Field(
        2, alias="concurrentScanJobs", ge=1,
        description="scan jobs running at once (each one pulls and unpacks an image)")
    report_ttl: str = Field(
        "24h", alias="reportTtl", pattern=DURATION,
        description="reports are deleted (and the workload rescanned) after this long")
    trivy_server: bool = Field(
        False, alias="trivyServer",
        description="run the built-in Trivy server: one copy of the vulnerability database "
                    "instead of a download per scan job (one more pod and a PVC)")


def _options(profile: Profile) -> TrivyOperatorOptions:
    return options_of(profile, "trivy-operator", TrivyOperatorOptions)


def severities(opts: TrivyOperatorOptions) -> list[str]:
    """The profile's severities, upper-cased, in Trivy's order, each once."""
    wanted = {s.upper() for s in opts.severities}
    return [s for s in reversed(SEVERITIES) if s in wanted]


def _resources(cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> dict[str, Any]:
    return {"requests": {"cpu": cpu, "memory": memory},
            "limits": {"cpu": cpu_limit, "memory": memory_limit}}


OPERATOR_RESOURCES = _resources("50m", "128Mi", "500m", "512Mi")
# One scan job: Trivy unpacks the image and (standalone) loads the vulnerability database.
# The chart's 500M limit OOM-kills scans of large images (Home Assistant, Jellyfin, ...).
SCAN_JOB_RESOURCES = _resources("100m", "128Mi", "500m", "1Gi")
# Client/server mode: the database lives in the server, so scan jobs stay small.
CLIENT_SCAN_JOB_RESOURCES = _resources("100m", "128Mi", "500m", "512Mi")
SERVER_RESOURCES = _resources("100m", "512Mi", "1", "1Gi")


class TrivyOperator(Addon):
    name = "trivy-operator"
    # What the component exports (from its source, at the pinned version): the names the
    # PrometheusRules may use.
    metrics = MetricCatalogue(
        "Trivy Operator", ("trivy_",), frozenset({
        "trivy_image_vulnerabilities",
        "trivy_image_exposedsecrets",
        "trivy_resource_configaudits",
        "trivy_role_infraassessments",
        "trivy_cluster_compliance",
        "trivy_vulnerability_id",
    }))
    title = "Trivy Operator"
    namespace = "security"
    mesh = "disabled"
    priority = Priority.MEDIUM
    roadmap_names = ("trivy operator", "trivy-operator", "trivy")
    roadmap_capabilities = ("vulnerability scanning", "vulnerability scan",
                            "vulnerability scanner", "vulnerability report", "image scanning",
                            "image scan", "container scanning", "cve scanning", "cve scan",
                            "security scanning", "security scan", "security")
    crds = ("aquasecurity.github.io",)
    Options = TrivyOperatorOptions
    chart = Chart("trivy-operator", "0.34.0", "oci://ghcr.io/aquasecurity/helm-charts/trivy-operator")
    release_name = RELEASE

    def workloads_for(self, profile: Profile) -> tuple[Workload, ...]:
        # Scan jobs come and go (concurrentScanJobs at a time); `notes` gives their peak.
        operator = Workload("trivy-operator", "Deployment", "resources",
                            replicas_path="operator.replicas")
        if not _options(profile).trivy_server:
            return (operator,)
        return (operator, Workload("trivy-server", "StatefulSet", "trivy.server.resources",
                                   replicas_path="trivy.server.replicas"))

    def check_profile(self, profile: Profile) -> list[ProfileProblem]:
        opts = _options(profile)
        problems = []
        for i, severity in enumerate(opts.severities):
            if severity.upper() not in SEVERITIES:
                problems.append(ProfileProblem(
                    f"severities[{i}]",
                    f"unknown severity {severity!r} (known: {', '.join(SEVERITIES)})"))
        if not opts.severities:
            problems.append(ProfileProblem(
                "severities", f"must name at least one of {', '.join(SEVERITIES)}"))
        nodes = profile.cluster.nodes.count
        if opts.concurrent_scan_jobs > 2 * nodes:
            problems.append(ProfileProblem(
                "concurrentScanJobs",
                f"{opts.concurrent_scan_jobs} scan jobs at once on {nodes} node(s) is more "
                f"than 2 per node ({2 * nodes}); each job pulls and unpacks an image, which "
                "starves a small cluster"))
        for i, ns in enumerate(opts.excluded_namespaces):
            if not NAMESPACE_PATTERN.match(ns):
                problems.append(ProfileProblem(
                    f"excludedNamespaces[{i}]",
                    f"{ns!r} is not a namespace name or glob pattern"))
        return problems

    def values(self, ctx: Context) -> dict[str, Any]:
        opts = _options(ctx.profile)
        scan_resources = CLIENT_SCAN_JOB_RESOURCES if opts.trivy_server else SCAN_JOB_RESOURCES
        trivy: dict[str, Any] = {
            "severity": ",".join(severities(opts)),
            "ignoreUnfixed": opts.ignore_unfixed,
            "resources": scan_resources,
        }
        if opts.trivy_server:
            trivy["storageClassName"] = ctx.profile.cluster.storage_class
            trivy["storageSize"] = "5Gi"
            trivy["server"] = {"replicas": 1, "resources": SERVER_RESOURCES}
        return {
            "excludeNamespaces": ",".join(sorted(set(opts.excluded_namespaces))),
            "operator": {
                "replicas": 1,
                "scanJobsConcurrentLimit": opts.concurrent_scan_jobs,
                "scannerReportTTL": opts.report_ttl,
                # What the roadmap asks for: image vulnerabilities, misconfigurations
                # (workloads and RBAC) and exposed secrets.
                "vulnerabilityScannerEnabled": True,
                "configAuditScannerEnabled": True,
                "rbacAssessmentScannerEnabled": True,
                "exposedSecretScannerEnabled": True,
                # What a homelab does not need, and what fills etcd or runs hostPath jobs.
                "sbomGenerationEnabled": False,
                "clusterSbomCacheEnabled": False,
                "clusterComplianceEnabled": False,
                "infraAssessmentScannerEnabled": False,
                "builtInTrivyServer": opts.trivy_server,
                "metricsFindingsEnabled": True,
                "metricsVulnIdEnabled": False,  # one series per CVE: too many for Prometheus
            },
            "trivyOperator": {
                # Scan pods are short-lived Jobs; a name label makes them recognisable (and
                # keeps Kyverno's require-labels baseline policy quiet about them).
                "scanJobPodTemplateLabels": SCAN_POD_LABELS,
            },
            "trivy": trivy,
            "resources": OPERATOR_RESOURCES,
            "serviceMonitor": {"enabled": ctx.monitoring, "labels": ctx.monitoring_labels},
        }

    def resources(self, ctx: Context) -> Rendered:
        if not ctx.monitoring:
            return Rendered()
        return Rendered(app=[ctx.prometheus_rule("trivy-operator", self.namespace, [
            ctx.alert(
                "TrivyCriticalVulnerabilities",
                'trivy_image_vulnerabilities{severity="Critical"} > 0',
                "15m", "warning",
                "{{ $labels.image_repository }}:{{ $labels.image_tag }} in "
                "{{ $labels.namespace }}/{{ $labels.resource_name }} has {{ $value }} "
                "critical vulnerabilities"),
            ctx.alert(
                "TrivyOperatorDown",
                f'kube_deployment_status_replicas_available{{namespace="{self.namespace}",'
                f'deployment="{RELEASE}"}} < 1',
                "15m", "warning",
                "Trivy Operator is not running: no new scans, reports expire unreplaced"),
        ])])

    def checks(self, ctx: Context) -> list[Check]:
        reports, rules = Read(VULNERABILITY_REPORTS), Read(kinds.PROMETHEUSRULES, self.namespace)

        def scanning(reader: ClusterReader) -> Result:
            found = items(reader, reports)
            if not found:
                return Result("fail", "no VulnerabilityReports yet",
                              "scans take a while after install; check the operator's logs")
            critical = {name_of(r): int(((r.get("report") or {}).get("summary") or {})
                                        .get("criticalCount", 0)) for r in found}
            worst = sorted((n for n, c in critical.items() if c), key=lambda n: -critical[n])
            evidence = (f"{len(found)} VulnerabilityReports, {sum(critical.values())} critical "
                        f"vulnerabilities" + (f" (most in {summarize(worst)})" if worst else ""))
            return Result("pass", evidence)

        def alerting(reader: ClusterReader) -> Result:
            rule = next((r for r in items(reader, rules)
                         if r["metadata"]["name"] == "trivy-operator"), None)
            alerts = [a.get("alert") for g in ((rule or {}).get("spec") or {}).get("groups", [])
                      for a in g.get("rules", [])]
            if "TrivyCriticalVulnerabilities" not in alerts:
                return Result("fail", "no TrivyCriticalVulnerabilities alert rule",
                              "needs kube-prometheus-stack; commit the trivy-operator app folder")
            return Result("pass", f"PrometheusRule {self.namespace}/trivy-operator: "
                          f"{', '.join(a for a in alerts if a)}")

        checks = [Check("trivy-operator.reports", "Scans running, reports present", (reports,),
                        scanning, roadmap=("scan policies",))]
        if ctx.monitoring:  # without kube-prometheus-stack there is no rule to look for
            checks.append(Check("trivy-operator.alerts", "Alert for critical vulnerabilities",
                                (rules,), alerting, roadmap=("alerts",)))
        return checks

    def notes(self, ctx: Context) -> list[str]:
        opts = _options(ctx.profile)
        sev = severities(opts)
        jobs = opts.concurrent_scan_jobs
        scan = CLIENT_SCAN_JOB_RESOURCES if opts.trivy_server else SCAN_JOB_RESOURCES
        notes = [
            f"Scans keep {', '.join(sev) or 'no'} findings"
            + (" with a fix" if opts.ignore_unfixed else "")
            + f"; reports are deleted and rescanned after {opts.report_ttl}.",
            f"At most {jobs} scan job(s) at once, each up to {scan['limits']['cpu']} CPU and "
            f"{scan['limits']['memory']} (peak {jobs} x that while scanning; requests "
            f"{scan['requests']['cpu']}/{scan['requests']['memory']} each, not in the budget "
            "above).",
            "Off to spare etcd and the nodes: SBOM reports, cluster compliance and infra "
            "assessment (node-collector jobs with hostPath mounts).",
        ]
        if opts.trivy_server:
            notes.append("The built-in Trivy server holds the vulnerability database "
                         f"(a 5Gi PVC on {ctx.profile.cluster.storage_class}); scan jobs ask it.")
        else:
            notes.append("Each scan job downloads the vulnerability database from "
                         "mirror.gcr.io; with many images, `trivyServer: true` downloads it "
                         "once instead (one more pod and a PVC).")
        if "CRITICAL" not in sev:
            notes.append("CRITICAL is not among the severities: the critical-vulnerability "
                         "alert cannot fire.")
        return notes


ADDON = TrivyOperator()
