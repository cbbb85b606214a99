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

from outfitter.helm import values
from outfitter.helm.charts import ChartSource

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
    # Given with the release, not read from a source object: an Argo CD Application's
    # chart (helm.argo_charts), and how findings name the release then.
    source: ChartSource | None = field(default=None, hash=False, compare=False)
    title: str = field(default="", compare=False)

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
        return self.title or f"HelmRelease {self.namespace}/{self.name}"


def values_of(release: Release, lookup: DataLookup) -> dict[str, Any]:
    """The values helm gets: each valuesFrom in order, then spec.values over them
    (helm.values composes them, as for the commands that edit values)."""
    def data(kind: str, name: str) -> values.Data | None:
        found = lookup(kind, release.namespace, name)
        return None if found is None else values.Data(dict(found), {})

    try:
        composed, _, _ = values.compose(release.spec, data, release.namespace)
    except values.Unreadable as err:
        raise ValuesError(str(err)) from None
    return composed
