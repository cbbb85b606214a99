"""kustomize `replacements` that decide how a child Flux Kustomization is applied, read
from the kustomization files alone (no object is parsed).

One source is known without building: the build's Namespace object when the kustomization
sets `namespace:` (kustomize renames the build's one Namespace to it; with none, or two,
kustomize fails the build). The community layout (joryirving/home-ops, the
`components/replacements/ks.yaml` pattern) copies it into every child Kustomization's
`spec.targetNamespace`, which decides where the child's objects land. Other sources need
the objects and are not followed (the child keeps its fields as written).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Replacement:
    """One value a kustomization's replacement writes into the objects it selects."""

    value: str
    targets: tuple[Any, ...]  # the replacement's `targets` entries (select/reject/fieldPaths)


def namespace_replacements(spec: dict[str, Any], namespace: str,
                           read: Callable[[str], list[Any]]) -> list[Replacement]:
    """The replacements of a kustomization `spec` whose source is the build's Namespace
    (its name: `namespace`); `read(path)` gives the documents of a `path:` entry."""
    if not namespace:
        return []
    entries: list[Any] = []
    for item in spec.get("replacements") or [] if isinstance(spec.get("replacements"),
                                                             list) else []:
        if isinstance(item, dict) and isinstance(item.get("path"), str):
            for doc in read(item["path"]):
                entries += doc if isinstance(doc, list) else [doc]
        else:
            entries.append(item)
    out = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("source"), dict):
            continue
        source = entry["source"]
        if source.get("kind") != "Namespace" or \
                str(source.get("fieldPath") or "metadata.name") != "metadata.name" or \
                source.get("options"):
            continue
        targets = entry.get("targets")
        if isinstance(targets, list):
            out.append(Replacement(namespace, tuple(targets)))
    return out


def apply(doc: dict[str, Any], replacements: list[Replacement]) -> dict[str, Any]:
    """`doc` with every replacement whose targets select it written in."""
    out = doc
    for rep in replacements:
        for target in rep.targets:
            if not isinstance(target, dict) or not _selects(target.get("select"), out) or \
                    any(_selects(r, out) for r in target.get("reject") or []
                        if isinstance(r, dict)):
                continue
            options: dict[str, Any] = target["options"] \
                if isinstance(target.get("options"), dict) else {}
            for path in target.get("fieldPaths") or []:
                if isinstance(path, str):
                    out = _set(out, path.split("."), rep.value, bool(options.get("create")))
    return out


def _selects(select: Any, doc: dict[str, Any]) -> bool:
    if not isinstance(select, dict):
        return False
    if select.get("labelSelector") or select.get("annotationSelector"):
        return False  # not evaluated here: the child keeps its fields
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    group, _, version = str(doc.get("apiVersion", "")).rpartition("/")
    have = {"kind": doc.get("kind"), "group": group, "version": version,
            "name": (meta or {}).get("name"), "namespace": (meta or {}).get("namespace")}
    for key in ("kind", "group", "version", "name", "namespace"):
        want = select.get(key)
        if want is not None and want != "" and not _matches(str(want), str(have[key] or "")):
            return False
    return True


def _matches(pattern: str, value: str) -> bool:
    try:
        return re.fullmatch(pattern, value) is not None
    except re.error:
        return pattern == value


def _set(doc: dict[str, Any], path: list[str], value: str, create: bool
         ) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    here: Any = out
    for part in path[:-1]:
        if not isinstance(here, dict):
            return doc
        if part not in here:
            if not create:
                return doc
            here[part] = {}
        here = here[part]
    if not isinstance(here, dict) or (path[-1] not in here and not create):
        return doc
    here[path[-1]] = value
    return out


__all__ = ["Replacement", "apply", "namespace_replacements"]
