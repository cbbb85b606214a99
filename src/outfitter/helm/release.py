"""What helm-controller makes of a HelmRelease: the Helm release name, the namespace the
chart is installed into, and the values (valuesFrom in order, then spec.values).

Release name: `spec.releaseName`, else `<targetNamespace>-<name>` when targetNamespace is
set, else the object's name; a name over 53 characters (Helm's limit) is shortened as
helm-controller does — its first 40 characters, `-`, and 12 hex digits of its SHA-256.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from outfitter import yamlio

MAX_RELEASE_NAME = 53
_HASH_LENGTH = 12

# (kind, namespace, name) -> the object's data as strings (Secret data decoded), or None
# when it is not known here (absent, or SOPS-encrypted).
DataLookup = Callable[[str, str, str], dict[str, str] | None]


class ValuesError(Exception):
    """valuesFrom names something that is missing or unreadable (Flux fails the release)."""


def shorten(name: str) -> str:
    if len(name) <= MAX_RELEASE_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:_HASH_LENGTH]
    return f"{name[:MAX_RELEASE_NAME - _HASH_LENGTH - 1]}-{digest}"


@dataclass(frozen=True)
class Release:
    """A HelmRelease as helm-controller reads it."""

    name: str  # the HelmRelease object's name
    namespace: str  # the HelmRelease object's namespace
    spec: dict[str, Any] = field(hash=False, compare=False)

    @property
    def target_namespace(self) -> str:
        """Where the chart's objects go (`.Release.Namespace`)."""
        return str(self.spec.get("targetNamespace") or self.namespace)

    @property
    def release_name(self) -> str:
        explicit = self.spec.get("releaseName")
        if explicit:
            return shorten(str(explicit))
        target = self.spec.get("targetNamespace")
        return shorten(f"{target}-{self.name}" if target else self.name)

    @property
    def include_crds(self) -> bool:
        """Flux installs the chart's crds/ unless the policy says Skip."""
        install = self.spec.get("install") if isinstance(self.spec.get("install"), dict) else {}
        return str((install or {}).get("crds") or "Create") != "Skip"

    @property
    def label(self) -> str:
        return f"HelmRelease {self.namespace}/{self.name}"


def merge(base: Any, over: Any) -> Any:
    """Flux's MergeMaps: maps merge key by key, recursively; anything else replaces."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            out[key] = merge(base.get(key), value) if isinstance(value, dict) else value
        return out
    return over


def set_path(values: dict[str, Any], path: str, value: str) -> None:
    """`targetPath`: the value (a string) set at a dotted path (`a.b[0]` is not supported:
    a segment with brackets is set as a plain key)."""
    node = values
    parts = [p for p in path.split(".") if p]
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    if parts:
        node[parts[-1]] = value


def values_of(release: Release, lookup: DataLookup) -> dict[str, Any]:
    """The values helm gets: each valuesFrom in order, then spec.values over them."""
    out: dict[str, Any] = {}
    for i, ref in enumerate(release.spec.get("valuesFrom") or []):
        if not isinstance(ref, dict) or not ref.get("name"):
            continue
        kind = str(ref.get("kind") or "ConfigMap")
        name = str(ref["name"])
        key = str(ref.get("valuesKey") or "values.yaml")
        where = f"spec.valuesFrom[{i}] {kind} {release.namespace}/{name}"
        data = lookup(kind, release.namespace, name)
        if data is None or key not in data:
            if ref.get("optional"):
                continue
            missing = "is not known here" if data is None else f"has no key {key!r}"
            raise ValuesError(f"{where} {missing}")
        if ref.get("targetPath"):
            set_path(out, str(ref["targetPath"]), data[key])
            continue
        try:
            loaded = yamlio.load(data[key])
        except Exception as err:  # the YAML parser raises several kinds
            raise ValuesError(f"{where} key {key!r} is not YAML: {err}") from None
        if loaded is None:
            continue
        if not isinstance(loaded, dict):
            raise ValuesError(f"{where} key {key!r} is not a map of values")
        out = merge(out, loaded)
    inline = release.spec.get("values")
    if isinstance(inline, dict):
        out = merge(out, inline)
    return out
