"""Kyverno's policies as rendered (their behaviour is tested with the real engine in
tests/integration/test_kyverno_policies.py)."""

from __future__ import annotations

from typing import Any

from outfitter.addons.kyverno import ADDON, HOST_ACCESS_NAMESPACES, POLICY_NAMES
from outfitter.config import parse_profile
from outfitter.plan import make_context


def policies(data: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    return {p["metadata"]["name"]: p
            for p in ADDON.policies(make_context(parse_profile(data or {})))}


def excluded(policy: dict[str, Any]) -> list[str]:
    [expr] = policy["spec"]["matchConstraints"]["namespaceSelector"]["matchExpressions"]
    assert expr["operator"] == "NotIn"
    return list(expr["values"])


def test_all_policies_are_validating_policies_in_audit() -> None:
    rendered = policies()
    assert sorted(rendered) == sorted(POLICY_NAMES)
    for p in rendered.values():
        assert p["apiVersion"] == "policies.kyverno.io/v1" and p["kind"] == "ValidatingPolicy"
        assert p["spec"]["validationActions"] == ["Audit"]
        assert p["spec"]["failurePolicy"] == "Ignore"
        assert "validationFailureAction" not in str(p)
        assert "kube-system" in excluded(p) and "flux-system" in excluded(p)


def test_security_policies_skip_node_agents_but_baseline_does_not() -> None:
    rendered = policies()
    assert set(HOST_ACCESS_NAMESPACES) <= set(excluded(rendered["disallow-host-path"]))
    assert "velero" not in excluded(rendered["require-labels"])


def test_per_policy_mode_and_off() -> None:
    rendered = policies({"addons": {"kyverno": {
        "mode": "deny", "policies": {"require-labels": "audit", "disallow-host-path": "off"},
        "excludedNamespaces": ["lab"]}}})
    assert "disallow-host-path" not in rendered
    assert rendered["require-labels"]["spec"]["validationActions"] == ["Audit"]
    assert rendered["require-run-as-non-root"]["spec"]["validationActions"] == ["Deny"]
    assert rendered["require-run-as-non-root"]["spec"]["failurePolicy"] == "Fail"
    assert "lab" in excluded(rendered["require-labels"])


def test_required_labels_from_the_profile() -> None:
    rendered = policies({"addons": {"kyverno": {"requiredLabels": ["app.kubernetes.io/name",
                                                                   "team"]}}})
    messages = [v["message"] for v in rendered["require-labels"]["spec"]["validations"]]
    assert messages == ["label 'app.kubernetes.io/name' is required", "label 'team' is required"]
