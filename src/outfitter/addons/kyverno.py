"""Kyverno: the policy engine, sized for a homelab, with baseline and security policies.

Kyverno 1.17 deprecated ClusterPolicy (removal planned for 1.20), so the policies are
`policies.kyverno.io/v1` ValidatingPolicy objects written in CEL, with `validationActions`
Audit first and Deny once `outfitter policy readiness` says a policy has no violations.
`validationFailureAction` is deprecated and never written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

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
from outfitter.addons.context import Context, meta
from outfitter.cluster.reader import ClusterReader, Kind
from outfitter.config import Profile
from outfitter.status.checks import Check, Read, Result, items, summarize

Mode = Literal["audit", "deny", "off"]

SYSTEM_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease", "flux-system", "kyverno")
# Node agents and storage drivers that need host access by design: security policies skip
# their namespaces instead of flagging them forever.
HOST_ACCESS_NAMESPACES = (
    "velero", "longhorn-system", "falco", "linkerd", "linkerd-cni", "monitoring", "logging",
    "observability", "security",
)
# Add-ons whose controllers create pods at run time that no chart value labels or sizes:
# Longhorn's instance managers, engine images and share managers; cert-manager's ACME HTTP-01
# solver pods; Trivy Operator's scan jobs (in `security`). The baseline policies skip these
# namespaces, or `policy enforce` would one day block the platform itself.
OPERATOR_POD_NAMESPACES = ("longhorn-system", "cert-manager", "security")
VALIDATING_POLICIES = Kind("policies.kyverno.io", "v1", "validatingpolicies", "ValidatingPolicy",
                           namespaced=False)
# Kyverno 1.19 writes wgpolicyk8s.io reports unless openreports.enabled (default false), then
# openreports.io ones: both are read (outfitter.ops.policy_reports), the default first.
POLICY_REPORTS = Kind("wgpolicyk8s.io", "v1alpha2", "policyreports", "PolicyReport")
REPORT_KINDS = (
    POLICY_REPORTS,
    Kind("wgpolicyk8s.io", "v1alpha2", "clusterpolicyreports", "ClusterPolicyReport",
         namespaced=False),
    Kind("openreports.io", "v1alpha1", "reports", "Report"),
    Kind("openreports.io", "v1alpha1", "clusterreports", "ClusterReport", namespaced=False),
)
POD_CONTROLLERS = ["deployments", "statefulsets", "daemonsets", "jobs", "cronjobs", "replicasets"]

# A list a chart templates empty (`initContainers:` with nothing under it) is null in the
# manifest: `has()` is true for it, and adding it to a list is an evaluation error, so a
# check of `helm template` output (the Kyverno CLI in CI) would report an error, not a result.
ALL_CONTAINERS = (
    "object.spec.containers"
    " + (has(object.spec.initContainers) && object.spec.initContainers != null"
    " ? object.spec.initContainers : [])"
    " + (has(object.spec.ephemeralContainers) && object.spec.ephemeralContainers != null"
    " ? object.spec.ephemeralContainers : [])"
)


@dataclass(frozen=True)
class Policy:
    name: str
    category: Literal["baseline", "security"]
    severity: Literal["low", "medium", "high"]
    description: str
    validations: tuple[tuple[str, str], ...]
    """(CEL expression, message) pairs, evaluated against a Pod."""
    needs_host_access_exemption: bool = False
    needs_operator_pod_exemption: bool = False


def _policies(required_labels: list[str]) -> tuple[Policy, ...]:
    label_checks = tuple(
        (f"has(object.metadata.labels) && '{label}' in object.metadata.labels",
         f"label '{label}' is required")
        for label in required_labels
    )
    return (
        Policy("require-labels", "baseline", "medium",
               "Pods carry the labels that tie them to an application.", label_checks,
               needs_operator_pod_exemption=True),
        Policy("require-requests-limits", "baseline", "medium",
               "Containers declare CPU and memory requests and a memory limit.", (
                   ("variables.allContainers.all(c, has(c.resources) && "
                    "has(c.resources.requests) && 'cpu' in c.resources.requests && "
                    "'memory' in c.resources.requests && has(c.resources.limits) && "
                    "'memory' in c.resources.limits)",
                    "CPU and memory requests and a memory limit are required"),
               ), needs_operator_pod_exemption=True),
        Policy("disallow-privileged-containers", "security", "high",
               "Privileged containers can do anything the node can.", (
                   ("variables.allContainers.all(c, !has(c.securityContext) || "
                    "!has(c.securityContext.privileged) || c.securityContext.privileged == false)",
                    "privileged containers are not allowed"),
               ), needs_host_access_exemption=True),
        Policy("disallow-host-path", "security", "high",
               "hostPath volumes reach into the node's file system.", (
                   ("!has(object.spec.volumes) || object.spec.volumes.all(v, !has(v.hostPath))",
                    "hostPath volumes are not allowed"),
               ), needs_host_access_exemption=True),
        Policy("disallow-host-namespaces", "security", "high",
               "Sharing the host's network, PID or IPC namespace breaks isolation.", (
                   ("!(has(object.spec.hostNetwork) && object.spec.hostNetwork) && "
                    "!(has(object.spec.hostPID) && object.spec.hostPID) && "
                    "!(has(object.spec.hostIPC) && object.spec.hostIPC)",
                    "hostNetwork, hostPID and hostIPC are not allowed"),
               ), needs_host_access_exemption=True),
        Policy("require-run-as-non-root", "security", "medium",
               "Containers run as a non-root user.", (
                   ("(has(object.spec.securityContext) && "
                    "has(object.spec.securityContext.runAsNonRoot) && "
                    "object.spec.securityContext.runAsNonRoot == true && "
                    "variables.allContainers.all(c, !has(c.securityContext) || "
                    "!has(c.securityContext.runAsNonRoot) || c.securityContext.runAsNonRoot)) || "
                    "variables.allContainers.all(c, has(c.securityContext) && "
                    "has(c.securityContext.runAsNonRoot) && c.securityContext.runAsNonRoot)",
                    "runAsNonRoot must be true for the pod or every container"),
               ), needs_host_access_exemption=True),
    )


POLICY_NAMES = tuple(p.name for p in _policies(["app.kubernetes.io/name"]))


class KyvernoOptions(AddonOptions):
    mode: Literal["audit", "deny"] = Field(
        "audit", description="default for every policy; the roadmap starts in audit")
    policies: dict[str, Mode] = Field(
        default_factory=dict, description="per-policy mode: audit, deny or off")
    required_labels: list[str] = Field(
        default_factory=lambda: ["app.kubernetes.io/name"], alias="requiredLabels")
    excluded_namespaces: list[str] = Field(default_factory=list, alias="excludedNamespaces")
    ready_after_days: int = Field(
        7, alias="readyAfterDays", ge=0,
        description="days without violations before a policy is ready for deny")


def options(profile: Profile) -> KyvernoOptions:
    return options_of(profile, "kyverno", KyvernoOptions)


def _controller_resources(cpu: str, memory: str, memory_limit: str) -> dict[str, Any]:
    return {"requests": {"cpu": cpu, "memory": memory},
            "limits": {"memory": memory_limit}}


class Kyverno(Addon):
    name = "kyverno"
    title = "Kyverno"
    namespace = "kyverno"
    mesh = "disabled"
    priority = Priority.HIGH
    roadmap_names = ("kyverno",)
    roadmap_capabilities = ("admission", "admission control", "admission controller",
                            "admission policy", "policy engine", "policy enforcement",
                            "policy as code", "policies as code", "cluster policy",
                            "kubernetes policy", "security")
    crds = ("kyverno.io", "policies.kyverno.io", "reports.kyverno.io", "wgpolicyk8s.io")
    Options = KyvernoOptions
    chart = Chart("kyverno", "3.9.0", "oci://ghcr.io/kyverno/charts/kyverno")
    workloads = (
        Workload("kyverno-admission-controller", "Deployment",
                 "admissionController.container.resources",
                 replicas_path="admissionController.replicas"),
        Workload("kyverno-background-controller", "Deployment", "backgroundController.resources",
                 replicas_path="backgroundController.replicas"),
        Workload("kyverno-cleanup-controller", "Deployment", "cleanupController.resources",
                 replicas_path="cleanupController.replicas"),
        Workload("kyverno-reports-controller", "Deployment", "reportsController.resources",
                 replicas_path="reportsController.replicas"),
    )

    def check_profile(self, profile: Profile) -> list[ProfileProblem]:
        return [ProfileProblem(f"policies.{name}",
                               f"unknown policy (known: {', '.join(POLICY_NAMES)})")
                for name in options(profile).policies if name not in POLICY_NAMES]

    def values(self, ctx: Context) -> dict[str, Any]:
        labels = ctx.monitoring_labels

        def controller(resources: dict[str, Any], in_container: bool = False) -> dict[str, Any]:
            return {"replicas": 1,
                    **({"container": {"resources": resources}} if in_container
                       else {"resources": resources}),
                    "serviceMonitor": {"enabled": ctx.monitoring, "additionalLabels": labels}}

        return {
            # One replica each: a homelab trades HA for memory. Policies in Audit use
            # failurePolicy Ignore, so a Kyverno outage never blocks the cluster.
            "admissionController": controller(
                _controller_resources("100m", "128Mi", "384Mi"), in_container=True),
            "backgroundController": controller(_controller_resources("50m", "64Mi", "128Mi")),
            "cleanupController": controller(_controller_resources("50m", "64Mi", "128Mi")),
            "reportsController": controller(_controller_resources("50m", "64Mi", "256Mi")),
            "grafana": {"enabled": ctx.monitoring},
        }

    def policies(self, ctx: Context) -> list[dict[str, Any]]:
        opts = options(ctx.profile)
        out = []
        for policy in _policies(opts.required_labels):
            mode = opts.policies.get(policy.name, opts.mode)
            if mode == "off":
                continue
            excluded = set(SYSTEM_NAMESPACES) | set(opts.excluded_namespaces)
            if policy.needs_host_access_exemption:
                excluded |= set(HOST_ACCESS_NAMESPACES)
            if policy.needs_operator_pod_exemption:
                excluded |= set(OPERATOR_POD_NAMESPACES)
            out.append(self._validating_policy(policy, mode, sorted(excluded)))
        return out

    def _validating_policy(
        self, policy: Policy, mode: Literal["audit", "deny"], excluded: list[str]
    ) -> dict[str, Any]:
        return {
            "apiVersion": "policies.kyverno.io/v1",
            "kind": "ValidatingPolicy",
            "metadata": meta(policy.name, annotations={
                "policies.kyverno.io/title": policy.name.replace("-", " ").capitalize(),
                "policies.kyverno.io/category": policy.category,
                "policies.kyverno.io/severity": policy.severity,
                "policies.kyverno.io/description": policy.description,
            }, labels={"app.kubernetes.io/managed-by": "outfitter"}),
            "spec": {
                "validationActions": ["Audit"] if mode == "audit" else ["Deny"],
                "failurePolicy": "Ignore" if mode == "audit" else "Fail",
                "evaluation": {"background": {"enabled": True}},
                "autogen": {"podControllers": {"controllers": POD_CONTROLLERS}},
                "matchConstraints": {
                    "resourceRules": [{
                        "apiGroups": [""], "apiVersions": ["v1"],
                        "operations": ["CREATE", "UPDATE"], "resources": ["pods"],
                    }],
                    "namespaceSelector": {"matchExpressions": [{
                        "key": "kubernetes.io/metadata.name", "operator": "NotIn",
                        "values": excluded,
                    }]},
                },
                "variables": [{"name": "allContainers", "expression": ALL_CONTAINERS}],
                "validations": [{"expression": e, "message": m} for e, m in policy.validations],
            },
        }

    def resources(self, ctx: Context) -> Rendered:
        return Rendered(config=self.policies(ctx))

    def checks(self, ctx: Context) -> list[Check]:
        policies = _policies(options(ctx.profile).required_labels)
        vpol = Read(VALIDATING_POLICIES)
        report_reads = tuple(Read(k) for k in REPORT_KINDS)

        def category_check(category: str) -> Check:
            wanted = [p.name for p in policies if p.category == category
                      and options(ctx.profile).policies.get(p.name) != "off"]

            def decide(reader: ClusterReader) -> Result:
                live = {o["metadata"]["name"]: o for o in items(reader, vpol)}
                if reader.list(VALIDATING_POLICIES).state == "absent":
                    return Result("fail", "not installed: ValidatingPolicy is not served",
                                  "install it (outfitter render, then commit)")
                failing = open_violations(reader)
                missing = [n for n in wanted if n not in live]
                if missing:
                    return Result("fail", f"missing: {', '.join(missing)}",
                                  "commit kyverno-config")
                lines, not_ready = [], []
                for name in wanted:
                    spec = live[name].get("spec") or {}
                    mode = "/".join(spec.get("validationActions") or ["?"])
                    ready = ((live[name].get("status") or {}).get("conditionStatus")
                             or {}).get("ready")
                    if ready is not True:
                        not_ready.append(name)
                    lines.append(f"{name} {mode} ({failing.get(name, 0)} open violations)")
                if not_ready:
                    return Result("fail", f"not ready: {', '.join(not_ready)}",
                                  "kubectl describe validatingpolicy NAME")
                return Result("pass", summarize(lines, limit=6))

            return Check(f"kyverno.{category}", f"{category.capitalize()} policies ready",
                         (vpol, *report_reads), decide, roadmap=(f"{category} policies",),
                         absent_ok=True)

        return [category_check("baseline"), category_check("security")]

    def notes(self, ctx: Context) -> list[str]:
        opts = options(ctx.profile)
        deny = sorted(n for n, m in opts.policies.items() if m == "deny")
        line = f"Policies start in {opts.mode}"
        if deny:
            line += f"; in deny: {', '.join(deny)}"
        return [line + ". `outfitter policy readiness` says when one can move to deny."]


def open_violations(reader: ClusterReader) -> dict[str, int]:
    """Violating resources per policy, by the one report reader `policy readiness` uses."""
    from outfitter.ops.policy_reports import read_reports

    def listed(kind: Kind) -> list[dict[str, Any]] | None:
        listing = reader.list(kind)
        return None if listing.state == "absent" else listing.items

    return read_reports(listed).open_violations()


ADDON = Kyverno()
