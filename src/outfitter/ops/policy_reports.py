"""The one reader of Kyverno's policy reports, for `status` and `policy readiness` alike.

Kyverno 1.19 (chart 3.9.0, `openreports.enabled: false`) writes `wgpolicyk8s.io/v1alpha2`
PolicyReports, one per resource; with openreports enabled it writes `openreports.io/v1alpha1`
Reports (the same result schema). Both APIs are read, namespaced and cluster-wide reports,
and a result counts as a violation when it is `fail` or `error` (an `error` is a resource
the policy could not judge: Deny would reject it all the same). No client library here: the
caller hands in how to list a kind.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from outfitter.addons.kyverno import REPORT_KINDS
from outfitter.cluster.kinds import Kind

VIOLATION = frozenset({"fail", "error"})

Lister = Callable[[Kind], "list[dict[str, Any]] | None"]
"""Objects of a kind in every namespace, or None when the cluster does not serve it."""


@dataclass(frozen=True)
class Ref:
    kind: str
    namespace: str
    name: str


@dataclass(frozen=True)
class Finding:
    policy: str
    result: str
    resource: Ref
    message: str
    found: datetime | None

    @property
    def violation(self) -> bool:
        return self.result in VIOLATION


@dataclass
class Reports:
    findings: list[Finding] = field(default_factory=list)
    apis: list[str] = field(default_factory=list)
    """Report APIs the cluster serves."""

    def open_violations(self) -> dict[str, int]:
        """Violating resources per policy."""
        return dict(Counter(f.policy for f in self.findings if f.violation))


def _timestamp(result: dict[str, Any]) -> datetime | None:
    stamp = result.get("timestamp") or {}
    seconds = stamp.get("seconds")
    return datetime.fromtimestamp(int(seconds), UTC) if seconds is not None else None


def findings_of(report: dict[str, Any]) -> Iterator[Finding]:
    """The results of one report, each with its resource: per-resource reports name it in
    `scope`, older aggregated ones in each result's `resources`."""
    scope = report.get("scope")
    for result in report.get("results") or []:
        resources = result.get("resources") or ([scope] if scope else [])
        for res in resources:
            yield Finding(
                policy=result.get("policy") or "?", result=result.get("result") or "?",
                resource=Ref(res.get("kind") or "?", res.get("namespace") or "",
                             res.get("name") or "?"),
                message=result.get("message") or "", found=_timestamp(result))


def read_reports(list_kind: Lister, kinds: Iterable[Kind] = REPORT_KINDS) -> Reports:
    reports = Reports()
    for kind in kinds:
        items = list_kind(kind)
        if items is None:
            continue
        if kind.api_version not in reports.apis:
            reports.apis.append(kind.api_version)
        for report in items:
            reports.findings.extend(findings_of(report))
    return reports
