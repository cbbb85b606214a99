"""The restore drill's comparison: what a namespace holds, and how a restore differs.

Kinds, names and counts; ConfigMap and Secret data by hash (sha256 per key: values are never
kept, printed or stored); PVCs bound; workloads ready. Only what works in the source counts
against the restore: a restore cannot fix a workload that is broken where it came from.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lightkube import ApiError, Client
from lightkube.generic_resource import create_namespaced_resource
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
from lightkube.resources.apps_v1 import DaemonSet, Deployment, StatefulSet
from lightkube.resources.batch_v1 import CronJob, Job
from lightkube.resources.core_v1 import (
    ConfigMap,
    PersistentVolumeClaim,
    Pod,
    Secret,
    Service,
    ServiceAccount,
)
from lightkube.resources.networking_v1 import Ingress, NetworkPolicy
from lightkube.resources.rbac_authorization_v1 import Role, RoleBinding

from outfitter.cluster.resources import list_or_none

# Kinds compared by name (typed); custom resources are found through the CRDs the cluster
# serves. Pods and Jobs that a controller owns are left out: their controller is compared.
TYPED_KINDS: tuple[Any, ...] = (
    ConfigMap, Secret, Service, ServiceAccount, PersistentVolumeClaim, Pod,
    Deployment, StatefulSet, DaemonSet, CronJob, Job, Ingress, NetworkPolicy, Role, RoleBinding,
)
# API groups whose objects are regenerated per object (reports named by UID), or that
# Velero does not restore (its own kinds), or that are metrics: never a difference.
SKIPPED_GROUPS = {
    "velero.io", "wgpolicyk8s.io", "openreports.io", "reports.kyverno.io", "metrics.k8s.io",
    "aquasecurity.github.io",
}
SERVICE_ACCOUNT_TOKEN = "kubernetes.io/service-account-token"
# Made by the cluster in every namespace, restore or not: comparing them proves nothing.
PER_NAMESPACE = {("ConfigMap", "kube-root-ca.crt"), ("ServiceAccount", "default")}


@dataclass(frozen=True)
class Item:
    kind: str
    name: str
    data: dict[str, str] | None = None
    """Key -> sha256 of the value (ConfigMap, Secret); values are never kept."""
    ready: tuple[int, int] | None = None
    """(ready, wanted) for workloads."""
    phase: str | None = None
    """PVC phase."""


Inventory = dict[tuple[str, str], Item]


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def _kind_name(kind: Any) -> str:
    info = kind._api_info.resource
    return info.kind if not info.group else f"{info.kind}.{info.group}"


def _workload_ready(kind: str, status: dict[str, Any], spec: dict[str, Any]) -> tuple[int, int]:
    if kind == "DaemonSet.apps":
        return status.get("numberReady") or 0, status.get("desiredNumberScheduled") or 0
    wanted = spec.get("replicas")
    return status.get("readyReplicas") or 0, 1 if wanted is None else int(wanted)


def item_of(kind: str, obj: dict[str, Any]) -> Item | None:
    meta = obj.get("metadata") or {}
    name = meta["name"]
    if (kind, name) in PER_NAMESPACE:
        return None
    if kind in ("Pod", "Job.batch") and meta.get("ownerReferences"):
        return None
    if kind == "ConfigMap":
        data = {k: _digest(v) for k, v in (obj.get("data") or {}).items()}
        data |= {k: _digest(v) for k, v in (obj.get("binaryData") or {}).items()}
        return Item(kind, name, data=data)
    if kind == "Secret":
        if obj.get("type") == SERVICE_ACCOUNT_TOKEN:
            return None  # minted by the cluster per service account, never restored as is
        return Item(kind, name, data={k: _digest(v) for k, v in (obj.get("data") or {}).items()})
    if kind in ("Deployment.apps", "StatefulSet.apps", "DaemonSet.apps"):
        return Item(kind, name, ready=_workload_ready(
            kind, obj.get("status") or {}, obj.get("spec") or {}))
    if kind == "PersistentVolumeClaim":
        return Item(kind, name, phase=(obj.get("status") or {}).get("phase") or "Pending")
    return Item(kind, name)


def custom_kinds(client: Client) -> list[Any]:
    """Namespaced custom resource kinds the cluster serves (storage version), except those
    regenerated per object or not restored by Velero."""
    kinds = []
    for crd in client.list(CustomResourceDefinition):
        spec = crd.spec
        if spec.scope != "Namespaced" or spec.group in SKIPPED_GROUPS:
            continue
        version = next((v.name for v in spec.versions if v.storage), spec.versions[0].name)
        kinds.append(create_namespaced_resource(
            spec.group, version, spec.names.kind, spec.names.plural))
    return sorted(kinds, key=_kind_name)


def inventory(client: Client, namespace: str, kinds: Iterable[Any]) -> Inventory:
    found: Inventory = {}
    for kind in kinds:
        label = _kind_name(kind)
        try:
            objects = list_or_none(client, kind, namespace=namespace) or []
        except ApiError as err:
            if err.status.code in (403, 405):
                continue  # not listable here: neither side can be compared
            raise
        for obj in objects:
            item = item_of(label, obj)
            if item is not None:
                found[(label, item.name)] = item
    return found


@dataclass(frozen=True)
class KindCount:
    kind: str
    source: int
    restored: int


def count_by_kind(source: Inventory, restored: Inventory) -> list[KindCount]:
    kinds = sorted({k for k, _ in source} | {k for k, _ in restored})
    return [KindCount(k, sum(1 for kk, _ in source if kk == k),
                      sum(1 for kk, _ in restored if kk == k)) for k in kinds]


def compare(source: Inventory, restored: Inventory) -> list[str]:
    """Differences, one line each, in a stable order; never a value, only key names."""
    out = []
    for key in sorted(set(source) | set(restored)):
        kind, name = key
        src, got = source.get(key), restored.get(key)
        if got is None:
            out.append(f"{kind} {name}: missing in the restore")
            continue
        if src is None:
            out.append(f"{kind} {name}: only in the restore")
            continue
        if src.data is not None and got.data is not None and src.data != got.data:
            keys = sorted(k for k in set(src.data) | set(got.data)
                          if src.data.get(k) != got.data.get(k))
            out.append(f"{kind} {name}: data differs (keys: {', '.join(keys)})")
        if src.phase is not None and got.phase != "Bound" and src.phase == "Bound":
            out.append(f"{kind} {name}: not Bound in the restore ({got.phase})")
        if _ready(src) and got.ready is not None and not _ready(got):
            # Only what works in the source counts: a restore cannot fix a broken workload.
            out.append(f"{kind} {name}: {got.ready[0]}/{got.ready[1]} ready in the restore")
    return out


def settled(source: Inventory, restored: Inventory) -> bool:
    """Everything the comparison waits for has had its chance: workloads ready, PVCs bound."""
    for key, src in source.items():
        got = restored.get(key)
        if got is None:
            continue
        if src.phase == "Bound" and got.phase != "Bound":
            return False
        if _ready(src) and got.ready is not None and not _ready(got):
            return False
    return True


def _ready(item: Item) -> bool:
    return item.ready is not None and item.ready[0] >= item.ready[1]
