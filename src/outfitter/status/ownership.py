"""Which add-on a workload belongs to, by its release's labels — not by its namespace, which
add-ons share (Loki, Tempo, the collector and the log shipper all live in `observability`).

Flux's helm-controller labels every object of a release with the HelmRelease's name and
namespace; Argo CD labels what an Application applies with `app.kubernetes.io/instance`
(its default tracking label).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

HELM_NAME = "helm.toolkit.fluxcd.io/name"
HELM_NAMESPACE = "helm.toolkit.fluxcd.io/namespace"
ARGO_INSTANCE = "app.kubernetes.io/instance"


def release_of(obj: dict[str, Any]) -> tuple[str, str] | None:
    """(HelmRelease name, namespace) from helm-controller's labels, or None."""
    meta = obj.get("metadata") or {}
    labels = meta.get("labels") or {}
    name = labels.get(HELM_NAME)
    if not name:
        return None
    return str(name), str(labels.get(HELM_NAMESPACE) or meta.get("namespace") or "")


def addon_of(obj: dict[str, Any], addons: Iterable[tuple[str, str]]) -> str | None:
    """The add-on (of (name, namespace) pairs) whose release made this object, or None."""
    release = release_of(obj)
    if release is None:
        return None
    for name, namespace in addons:
        if release == (name, namespace):
            return name
    return None


def workloads_of(name: str, namespace: str, workloads: Iterable[dict[str, Any]],
                 argo: bool = False, declared: Iterable[str] = ()) -> tuple[list[dict[str, Any]],
                                                                             str]:
    """The add-on's own workloads among `workloads` (all in its namespace) and how they were
    found: by the release's labels, else by the workload names the add-on declares."""
    listed = list(workloads)
    if argo:
        mine = [w for w in listed
                if ((w.get("metadata") or {}).get("labels") or {}).get(ARGO_INSTANCE)
                in (name, f"{name}-config")]
        how = f"labelled {ARGO_INSTANCE}={name}"
    else:
        mine = [w for w in listed if release_of(w) == (name, namespace)]
        how = f"of HelmRelease {namespace}/{name}"
    if mine:
        return mine, how
    names = set(declared)
    by_name = [w for w in listed if (w.get("metadata") or {}).get("name") in names]
    return by_name, "by name (no release labels found)"
