"""Readiness and traps on report and policy data, without a cluster (the real engine's
reports are used in tests/integration/test_policy_readiness.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from outfitter.ops.policy import (
    Finding,
    LivePolicy,
    Ref,
    age,
    assess,
    findings_of,
    mode_of,
)
from outfitter.ops.policy_traps import (
    deprecated_field_traps,
    overlap_traps,
    same_name_traps,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def result(policy: str, outcome: str, seconds: int = 1_795_000_000) -> dict[str, Any]:
    return {"policy": policy, "result": outcome, "message": "m",
            "timestamp": {"seconds": seconds, "nanos": 0}}


def test_per_resource_and_aggregated_reports_both_name_their_resources() -> None:
    scoped = {"scope": {"kind": "Pod", "namespace": "a", "name": "p"},
              "results": [result("x", "fail")]}
    aggregated = {"results": [{**result("x", "pass"), "resources": [
        {"kind": "Pod", "namespace": "a", "name": "p1"},
        {"kind": "Pod", "namespace": "b", "name": "p2"}]}]}
    assert [f.resource for f in findings_of(scoped)] == [Ref("Pod", "a", "p")]
    assert [f.resource.name for f in findings_of(aggregated)] == ["p1", "p2"]
    [f] = findings_of(scoped)
    assert f.found == datetime.fromtimestamp(1_795_000_000, UTC)


def test_validation_actions_default_to_deny() -> None:
    assert mode_of({}) == "deny"
    assert mode_of({"validationActions": ["Audit", "Warn"]}) == "audit"
    assert mode_of({"validationActions": ["Warn"]}) == "warn"


def live(name: str, mode: str = "audit", days_ago: float = 30) -> LivePolicy:
    return LivePolicy(name, mode, NOW - timedelta(days=days_ago), {})  # type: ignore[arg-type]


def finding(policy: str, outcome: str, ns: str, name: str, days_ago: float) -> Finding:
    return Finding(policy, outcome, Ref("Pod", ns, name), f"{policy} says no",
                   NOW - timedelta(days=days_ago))


def test_states_and_violations_grouped_by_namespace_and_workload() -> None:
    policies = [live("open"), live("clean"), live("fresh", days_ago=2), live("silent"),
                live("enforced", "deny")]
    findings = [
        finding("open", "fail", "apps", "a", 3), finding("open", "fail", "apps", "a", 1),
        finding("open", "error", "web", "b", 0.5), finding("open", "pass", "apps", "c", 1),
        finding("clean", "pass", "apps", "a", 1), finding("fresh", "pass", "apps", "a", 1),
        finding("enforced", "pass", "apps", "a", 1),
    ]
    got = {r.policy: r for r in assess(policies, findings, 7, NOW)}
    assert {n: r.state for n, r in got.items()} == {
        "open": "violations", "clean": "ready", "fresh": "soaking", "silent": "no-results",
        "enforced": "enforced"}
    assert [(v.namespace, v.workload, v.resources) for v in got["open"].violations] == [
        ("apps", "Pod/a", 1), ("web", "Pod/b", 1)]
    assert got["open"].violations[0].since == NOW - timedelta(days=3)  # the oldest is open longest
    assert got["fresh"].ready_at == NOW + timedelta(days=5)
    assert got["clean"].clean_since == NOW - timedelta(days=30)


def test_age_reads_like_a_person_says_it() -> None:
    assert age(NOW - timedelta(days=3, hours=4, minutes=5), NOW) == "3d 4h"
    assert age(NOW - timedelta(hours=5, minutes=2), NOW) == "5h 2m"
    assert age(NOW - timedelta(minutes=12), NOW) == "12m"
    assert age(None, NOW) == "?"


def vpol(name: str, actions: list[str] | None, expr: str = "x > 1",
         group: str = "") -> dict[str, Any]:
    spec: dict[str, Any] = {
        "matchConstraints": {"resourceRules": [{"apiGroups": [group], "resources": ["pods"]}]},
        "validations": [{"expression": expr}]}
    if actions is not None:
        spec["validationActions"] = actions
    return {"apiVersion": "policies.kyverno.io/v1", "kind": "ValidatingPolicy",
            "metadata": {"name": name}, "spec": spec}


def test_validation_failure_action_traps() -> None:
    legacy = {"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy", "metadata": {"name": "c"},
              "spec": {"validationFailureAction": "Enforce",
                       "rules": [{"name": "r", "validate": {"failureAction": "Audit"}}]}}
    confused = vpol("v", ["Audit"])
    confused["spec"]["validationFailureAction"] = "Enforce"
    traps = [str(t) for t in deprecated_field_traps([legacy, confused, vpol("bare", None)])]
    assert traps[0].startswith("ClusterPolicy c: spec.validationFailureAction (Enforce) is "
                               "deprecated")
    assert "rules override it with validate.failureAction (r: Audit)" in traps[0]
    assert traps[1].startswith("ValidatingPolicy v: has validationFailureAction, which "
                               "ValidatingPolicy does not know")
    assert traps[2].startswith("ValidatingPolicy bare: has no validationActions: Kyverno "
                               "then uses Deny")


def test_one_policy_enforcing_what_another_audits() -> None:
    objs = [vpol("strict", ["Deny"], "x  >  1"), vpol("soft", ["Audit"]),
            vpol("other", ["Audit"], "y"), vpol("apps-pods", ["Deny"], group="apps")]
    assert [str(t) for t in overlap_traps(objs)] == [
        "soft: audits what strict already enforces (same check on pods): its reports stay "
        "clean because the other policy blocks every violation"]
    legacy = {"kind": "ClusterPolicy", "metadata": {"name": "soft"},
              "spec": {"validationFailureAction": "Enforce"}}
    assert [str(t) for t in same_name_traps(objs, [legacy])] == [
        "soft: ClusterPolicy soft enforces what ValidatingPolicy soft audits"]
