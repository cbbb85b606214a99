"""Kyverno policies from Audit to Deny: readiness from the policy reports, and the traps.

The roadmap says "start Kyverno policies in audit mode before switching to enforce". A
policy in Audit is ready for Deny when its reports have shown no violation for
`readyAfterDays` (profile). Kyverno 1.19 (chart 3.9.0, `openreports.enabled: false`) writes
`wgpolicyk8s.io/v1alpha2` PolicyReports, one per resource; `openreports.io/v1alpha1`
Reports (the same result schema) are read too when the cluster serves them.

Reports hold the present only: a violation that was fixed or whose resource was deleted
leaves no trace. So "clean for N days" counts from the newer of the policy's last change
(the time its spec was last written) and the newest open violation; each open violation's
age comes from its result's timestamp (when Kyverno found it).

The tree edit (`policy enforce`) is in outfitter.ops.policy_edit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from lightkube import ApiError, Client
from lightkube.resources.apps_v1 import DaemonSet, Deployment, ReplicaSet, StatefulSet
from lightkube.resources.batch_v1 import CronJob, Job
from lightkube.resources.core_v1 import Pod

from outfitter.addons.kyverno import VALIDATING_POLICIES
from outfitter.cluster.kinds import Kind
from outfitter.cluster.resources import as_dict, list_or_none, resource_of
from outfitter.ops.policy_reports import VIOLATION, Finding, Ref, Reports, findings_of
from outfitter.ops.policy_reports import read_reports as _read_reports

__all__ = ["VIOLATION", "Finding", "Ref", "Reports", "findings_of"]

State = Literal["ready", "violations", "soaking", "no-results", "enforced"]

ValidatingPolicy = resource_of(VALIDATING_POLICIES)
CLUSTER_POLICIES = Kind("kyverno.io", "v1", "clusterpolicies", "ClusterPolicy", namespaced=False)
POLICIES = Kind("kyverno.io", "v1", "policies", "Policy")
ClusterPolicy = resource_of(CLUSTER_POLICIES)
NamespacedPolicy = resource_of(POLICIES)
# Kinds a pod's owner chain climbs through to the workload a person manages.
OWNER_KINDS: dict[str, Any] = {
    "Pod": Pod, "ReplicaSet": ReplicaSet, "Job": Job, "Deployment": Deployment,
    "StatefulSet": StatefulSet, "DaemonSet": DaemonSet, "CronJob": CronJob,
}
# Resources a policy's resourceRules can name that outfitter can count: (group, plural).
COUNTABLE: dict[tuple[str, str], Any] = {
    ("", "pods"): Pod, ("apps", "deployments"): Deployment,
    ("apps", "statefulsets"): StatefulSet, ("apps", "daemonsets"): DaemonSet,
    ("apps", "replicasets"): ReplicaSet, ("batch", "jobs"): Job, ("batch", "cronjobs"): CronJob,
}


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


# -- policies -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LivePolicy:
    name: str
    mode: Literal["audit", "deny", "warn", "off"]
    changed: datetime | None
    """When the policy's spec was last written (its newest managedFields entry)."""
    obj: dict[str, Any]


def mode_of(spec: dict[str, Any]) -> Literal["audit", "deny", "warn", "off"]:
    actions = spec.get("validationActions") or ["Deny"]  # the API's default
    if "Deny" in actions:
        return "deny"
    if "Audit" in actions:
        return "audit"
    return "warn" if "Warn" in actions else "off"


def _changed(meta: dict[str, Any]) -> datetime | None:
    times = [parse_time(m.get("time")) for m in meta.get("managedFields") or []
             if m.get("operation") in ("Apply", "Update") and not m.get("subresource")]
    known = [t for t in times if t is not None]
    return max(known) if known else parse_time(meta.get("creationTimestamp"))


def live_policies(client: Client) -> list[LivePolicy]:
    out = []
    for obj in list_or_none(client, ValidatingPolicy) or []:
        meta = obj.get("metadata") or {}
        out.append(LivePolicy(meta["name"], mode_of(obj.get("spec") or {}), _changed(meta), obj))
    return sorted(out, key=lambda p: p.name)


# -- reports ------------------------------------------------------------------------------------


def read_reports(client: Client) -> Reports:
    """Every report of both report APIs (outfitter.ops.policy_reports, shared with status)."""
    return _read_reports(lambda kind: list_or_none(
        client, kind, namespace="*" if kind.namespaced else None))


class Owners:
    """Climbs ownerReferences (Pod -> ReplicaSet -> Deployment) to the workload a person
    manages; one GET per object, cached."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.cache: dict[Ref, Ref] = {}

    def workload(self, ref: Ref) -> Ref:
        if ref not in self.cache:
            self.cache[ref] = self._climb(ref, depth=0)
        return self.cache[ref]

    def _climb(self, ref: Ref, depth: int) -> Ref:
        kind = OWNER_KINDS.get(ref.kind)
        if kind is None or not ref.namespace or depth > 4:
            return ref
        try:
            obj = as_dict(self.client.get(kind, ref.name, namespace=ref.namespace))
        except ApiError:
            return ref  # gone since the report was written: name what the report names
        owners = [o for o in (obj.get("metadata") or {}).get("ownerReferences") or []
                  if o.get("controller") and o.get("kind") in OWNER_KINDS]
        if not owners:
            return ref
        return self._climb(Ref(owners[0]["kind"], ref.namespace, owners[0]["name"]), depth + 1)


# -- readiness ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Violation:
    namespace: str
    workload: str
    resources: int
    since: datetime | None
    message: str


@dataclass
class Readiness:
    policy: str
    mode: str
    state: State
    results: int
    violations: list[Violation] = field(default_factory=list)
    clean_since: datetime | None = None
    ready_at: datetime | None = None

    @property
    def open(self) -> int:
        return len(self.violations)


def assess(
    policies: Iterable[LivePolicy],
    findings: Iterable[Finding],
    ready_after_days: int,
    now: datetime,
    owners: Owners | None = None,
) -> list[Readiness]:
    by_policy: dict[str, list[Finding]] = {}
    for finding in findings:
        by_policy.setdefault(finding.policy, []).append(finding)
    out = []
    for policy in policies:
        found = by_policy.get(policy.name, [])
        if policy.mode != "audit":
            out.append(Readiness(policy.name, policy.mode, "enforced", len(found)))
            continue
        violations = _violations([f for f in found if f.violation], owners)
        clean_since = None if violations else policy.changed
        ready_at = (clean_since + timedelta(days=ready_after_days)
                    if clean_since and not violations else None)
        state: State
        if violations:
            state = "violations"
        elif not found:
            state = "no-results"
        elif ready_at is not None and ready_at <= now:
            state = "ready"
        else:
            state = "soaking"
        out.append(Readiness(policy.name, policy.mode, state, len(found), violations,
                             clean_since, ready_at))
    return out


def _violations(failing: list[Finding], owners: Owners | None) -> list[Violation]:
    grouped: dict[tuple[str, str], list[Finding]] = {}
    for f in failing:
        owner = owners.workload(f.resource) if owners else f.resource
        grouped.setdefault((f.resource.namespace, f"{owner.kind}/{owner.name}"), []).append(f)
    out = []
    for (ns, label), items in sorted(grouped.items()):
        stamps = [f.found for f in items if f.found]
        out.append(Violation(ns, label, len({f.resource for f in items}),
                             min(stamps) if stamps else None,
                             sorted({f.message for f in items})[0]))
    return out


def readiness(
    client: Client, ready_after_days: int, now: datetime | None = None
) -> tuple[list[Readiness], Reports, list[LivePolicy]]:
    policies = live_policies(client)
    reports = read_reports(client)
    moment = now or datetime.now(UTC)
    return (assess(policies, reports.findings, ready_after_days, moment, Owners(client)),
            reports, policies)


def age(since: datetime | None, now: datetime) -> str:
    if since is None:
        return "?"
    seconds = max(0, int((now - since).total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {rest // 60}m" if hours else f"{rest // 60}m"
