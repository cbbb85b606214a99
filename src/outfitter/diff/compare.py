"""Two built sides compared: objects added, removed and changed, and for a changed object
each field that changed. Secret values are never shown: a changed value reads `(masked)`."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Literal

from outfitter.diff.build import BuiltSide, Key

MASK = "(masked)"
Change = Literal["added", "removed", "changed"]


@dataclass(frozen=True)
class FieldChange:
    path: str
    before: Any  # None when the field is new
    after: Any  # None when the field is gone

    def lines(self) -> list[str]:
        """The change as text lines; multi-line strings as a unified diff."""
        if isinstance(self.before, str) and isinstance(self.after, str) and \
                ("\n" in self.before or "\n" in self.after):
            body = difflib.unified_diff(self.before.splitlines(), self.after.splitlines(),
                                        lineterm="", n=1)
            return [f"{self.path}:"] + [f"  {line}" for line in list(body)[2:]]
        if self.before is None:
            return [f"{self.path}: + {_show(self.after)}"]
        if self.after is None:
            return [f"{self.path}: - {_show(self.before)}"]
        return [f"{self.path}: {_show(self.before)} → {_show(self.after)}"]


@dataclass
class ObjectChange:
    owner: str
    group: str
    kind: str
    namespace: str
    name: str
    change: Change
    fields: list[FieldChange] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}"


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value if value and value.strip() == value and "\n" not in value else repr(value)
    if isinstance(value, bool) or value is None:
        return str(value).lower() if value is not None else "null"
    return str(value)


def masked(obj: dict[str, Any]) -> dict[str, Any]:
    """A Secret's values replaced (its keys stay visible); other objects as they are."""
    if obj.get("kind") != "Secret" or str(obj.get("apiVersion")) != "v1":
        return obj
    out = dict(obj)
    for fld in ("data", "stringData"):
        if isinstance(obj.get(fld), dict):
            out[fld] = {k: MASK for k in obj[fld]}
    return out


def flatten(node: Any, path: str = "") -> dict[str, Any]:
    """Leaf paths: `spec.template.spec.containers[velero].image`; a list of maps that all
    carry a unique `name` is addressed by name, so a reordering is no change."""
    if isinstance(node, dict):
        if not node:
            return {path: {}} if path else {}
        out: dict[str, Any] = {}
        for key, value in node.items():
            out.update(flatten(value, f"{path}.{key}" if path else str(key)))
        return out
    if isinstance(node, list):
        if not node:
            return {path: []}
        names = [item.get("name") for item in node if isinstance(item, dict)]
        if len(names) == len(node) and all(isinstance(n, str) for n in names) and \
                len(set(names)) == len(names):
            keyed = {str(item["name"]): item for item in node}
            out = {}
            for name, item in keyed.items():
                out.update(flatten(item, f"{path}[{name}]"))
            return out
        out = {}
        for i, item in enumerate(node):
            out.update(flatten(item, f"{path}[{i}]"))
        return out
    return {path: node}


def _secret_changes(before: dict[str, Any], after: dict[str, Any]) -> list[FieldChange]:
    out = []
    for fld in ("data", "stringData"):
        old = before.get(fld) if isinstance(before.get(fld), dict) else {}
        new = after.get(fld) if isinstance(after.get(fld), dict) else {}
        for key in sorted(set(old or {}) | set(new or {})):
            a, b = (old or {}).get(key), (new or {}).get(key)
            if a != b:
                out.append(FieldChange(f"{fld}.{key}", None if a is None else MASK,
                                       None if b is None else MASK))
    return out


def compare_objects(before: dict[str, Any], after: dict[str, Any]) -> list[FieldChange]:
    changes = _secret_changes(before, after) if before.get("kind") == "Secret" else []
    old, new = flatten(masked(before)), flatten(masked(after))
    for path in sorted(set(old) | set(new)):
        if old.get(path) != new.get(path) and not (path.startswith(("data.", "stringData."))
                                                   and before.get("kind") == "Secret"):
            changes.append(FieldChange(path, old.get(path), new.get(path)))
    return sorted(changes, key=lambda c: c.path)


def compare(base: BuiltSide, head: BuiltSide) -> list[ObjectChange]:
    out = []
    for key in sorted(set(base.objects) | set(head.objects)):
        a, b = base.objects.get(key), head.objects.get(key)
        if a is None:
            out.append(ObjectChange(*key, change="added"))
        elif b is None:
            out.append(ObjectChange(*key, change="removed"))
        else:
            fields = compare_objects(a, b)
            if fields:
                out.append(ObjectChange(*key, change="changed", fields=fields))
    return out


def by_owner(changes: list[ObjectChange]) -> dict[str, list[ObjectChange]]:
    out: dict[str, list[ObjectChange]] = {}
    for change in changes:
        out.setdefault(change.owner, []).append(change)
    return out


def key_of(change: ObjectChange) -> Key:
    return (change.owner, change.group, change.kind, change.namespace, change.name)
