"""The traps on the way from Audit to Deny, named before they bite.

- A policy in Deny whose match selects nothing: it protects nothing and looks like it does
  (a wrong apiGroup for a resource, a namespaceSelector no namespace satisfies).
- `validationFailureAction`: deprecated since Kyverno 1.13 and overridden by each rule's
  `validate.failureAction`; on a ValidatingPolicy it is not a field at all (the API server
  drops it and `validationActions` decides). A ValidatingPolicy without `validationActions`
  is in Deny, not Audit.
- Two policies where one enforces what the other audits: the audited one looks clean only
  because the other blocks every violation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lightkube import Client
from lightkube.resources.core_v1 import Namespace

from outfitter.cluster.resources import as_dict, list_or_none
from outfitter.ops.policy import (
    COUNTABLE,
    ClusterPolicy,
    LivePolicy,
    NamespacedPolicy,
    mode_of,
)


@dataclass(frozen=True)
class Trap:
    policy: str
    message: str

    def __str__(self) -> str:
        return f"{self.policy}: {self.message}"


def _name(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    ns = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj.get('kind', '?')} {ns}{meta.get('name', '?')}"


def deprecated_field_traps(objs: Iterable[dict[str, Any]]) -> list[Trap]:
    """`validationFailureAction` does not do what it reads like any more."""
    traps = []
    for obj in objs:
        spec = obj.get("spec") or {}
        group = str(obj.get("apiVersion", "")).split("/")[0]
        if (group == "policies.kyverno.io" and obj.get("kind") == "ValidatingPolicy"
                and not spec.get("validationActions")):
            traps.append(Trap(_name(obj), (
                "has no validationActions: Kyverno then uses Deny, not Audit; write "
                "validationActions [Audit] to audit")))
        if "validationFailureAction" not in spec:
            continue
        if group == "policies.kyverno.io":
            traps.append(Trap(_name(obj), (
                "has validationFailureAction, which ValidatingPolicy does not know: the API "
                "server drops it and validationActions decides; set validationActions "
                "[Audit] or [Deny]")))
            continue
        said = spec["validationFailureAction"]
        overriding = sorted({
            f"{rule.get('name', '?')}: {rule['validate']['failureAction']}"
            for rule in spec.get("rules") or []
            if isinstance(rule.get("validate"), dict)
            and rule["validate"].get("failureAction")
            and str(rule["validate"]["failureAction"]).lower() != str(said).lower()})
        message = (f"spec.validationFailureAction ({said}) is deprecated since Kyverno 1.13 "
                   "and goes with ClusterPolicy (removal planned for 1.20)")
        if overriding:
            message += (f"; rules override it with validate.failureAction "
                        f"({'; '.join(overriding)}), so it is not what happens")
        traps.append(Trap(_name(obj), message + "; move to a ValidatingPolicy"))
    return traps


def _norm(expr: str) -> str:
    return re.sub(r"\s+", " ", expr).strip()


def _resources(spec: dict[str, Any]) -> set[tuple[str, str]]:
    """(API group, resource) pairs a policy's resourceRules name."""
    rules = (spec.get("matchConstraints") or {}).get("resourceRules") or []
    return {(g, r) for rule in rules for g in rule.get("apiGroups") or [""]
            for r in rule.get("resources") or []}


def overlap_traps(objs: Iterable[dict[str, Any]]) -> list[Trap]:
    """Two policies where one enforces what the other audits: the audited one then looks
    clean only because the other blocks every violation."""
    vpols = [o for o in objs if o.get("kind") == "ValidatingPolicy"]
    traps = []
    for deny in vpols:
        if mode_of(deny.get("spec") or {}) != "deny":
            continue
        deny_exprs = {_norm(v.get("expression", "")) for v in deny["spec"].get("validations")
                      or []}
        for audit in vpols:
            spec = audit.get("spec") or {}
            if audit is deny or mode_of(spec) != "audit":
                continue
            shared = deny_exprs & {_norm(v.get("expression", ""))
                                   for v in spec.get("validations") or []}
            resources = sorted(r for _, r in _resources(deny["spec"]) & _resources(spec))
            if shared and resources:
                traps.append(Trap(audit["metadata"]["name"], (
                    f"audits what {deny['metadata']['name']} already enforces (same check on "
                    f"{', '.join(resources)}): its reports stay clean because the other "
                    "policy blocks every violation")))
    return traps


def same_name_traps(vpols: Iterable[dict[str, Any]],
                    legacy: Iterable[dict[str, Any]]) -> list[Trap]:
    """A ClusterPolicy of the same name as a ValidatingPolicy, in another mode."""
    modes = {o["metadata"]["name"]: mode_of(o.get("spec") or {}) for o in vpols}
    traps = []
    for obj in legacy:
        name = obj["metadata"]["name"]
        if name not in modes:
            continue
        spec = obj.get("spec") or {}
        actions = {str(spec.get("validationFailureAction", "Audit")).lower()} | {
            str(r["validate"]["failureAction"]).lower() for r in spec.get("rules") or []
            if isinstance(r.get("validate"), dict) and r["validate"].get("failureAction")}
        legacy_mode = "deny" if "enforce" in actions else "audit"
        if legacy_mode != modes[name]:
            enforcing, auditing = ((_name(obj), f"ValidatingPolicy {name}")
                                   if legacy_mode == "deny" else
                                   (f"ValidatingPolicy {name}", _name(obj)))
            traps.append(Trap(name, f"{enforcing} enforces what {auditing} audits"))
    return traps


def _selector_matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    if not selector:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        present = key in labels
        if op == "In" and (not present or labels[key] not in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def selected_count(client: Client, spec: dict[str, Any]) -> int | None:
    """How many existing objects a policy's matchConstraints select (None: cannot tell,
    it names a resource outfitter does not count)."""
    match = spec.get("matchConstraints") or {}
    namespaces = {}
    for ns in client.list(Namespace):
        meta = as_dict(ns).get("metadata") or {}
        labels = {"kubernetes.io/metadata.name": meta["name"], **(meta.get("labels") or {})}
        namespaces[meta["name"]] = labels
    picked = {n for n, labels in namespaces.items()
              if _selector_matches(match.get("namespaceSelector"), labels)}
    kinds: set[Any] = set()
    for rule in match.get("resourceRules") or []:
        for group in rule.get("apiGroups") or [""]:
            for resource in rule.get("resources") or []:
                if resource == "*" or group == "*":
                    return None
                kind = COUNTABLE.get((group, resource))
                if kind is not None:
                    kinds.add(kind)
                elif resource not in {r for _, r in COUNTABLE}:
                    return None  # a resource outfitter does not count: cannot tell
    if ("", "pods") in _resources(spec):  # Kyverno's autogen extends only a core pod rule
        controllers = (((spec.get("autogen") or {}).get("podControllers") or {})
                       .get("controllers") or [])
        kinds |= {COUNTABLE[(g, r)] for (g, r) in COUNTABLE if r in controllers}
    count = 0
    for kind in kinds:
        for obj in client.list(kind, namespace="*"):
            meta = as_dict(obj).get("metadata") or {}
            if meta.get("namespace") in picked and _selector_matches(
                    match.get("objectSelector"), meta.get("labels") or {}):
                count += 1
    return count


def selects_nothing_traps(client: Client, vpols: Iterable[dict[str, Any]]) -> list[Trap]:
    traps = []
    for obj in vpols:
        spec = obj.get("spec") or {}
        if mode_of(spec) != "deny":
            continue
        if selected_count(client, spec) == 0:
            traps.append(Trap(obj["metadata"]["name"], (
                "is in Deny but its match selects nothing on the cluster (check "
                "matchConstraints: apiGroups, resources, namespaceSelector): it protects "
                "nothing and looks like it does")))
    return traps


def cluster_traps(client: Client, policies: list[LivePolicy]) -> list[Trap]:
    vpols = [p.obj for p in policies]
    legacy = [*(list_or_none(client, ClusterPolicy) or []),
              *(list_or_none(client, NamespacedPolicy, namespace="*") or [])]
    return [*selects_nothing_traps(client, vpols), *deprecated_field_traps(legacy),
            *overlap_traps(vpols), *same_name_traps(vpols, legacy)]
