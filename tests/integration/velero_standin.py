"""A STAND-IN for Velero's backup and restore controllers, for tests only.

Velero's controllers cannot run here (no object storage, no node agent), so this thread plays
their part against the real API server: it moves Backups New -> InProgress -> Completed,
keeping a copy of the backed-up namespace's objects in memory (the stand-in's "object
storage"), and Restores New -> InProgress -> Completed, creating those objects in the target
namespace of `spec.namespaceMapping` the way Velero does: server-set metadata, status,
Service cluster IPs and PVC volume bindings dropped, objects a controller owns left for the
controller to recreate, `velero.io/backup-name` and `velero.io/restore-name` labels added.

Knobs make it misbehave as Velero can: end a Backup or a Restore in another phase with
warnings, errors and a failure reason, or never progress (`paused`).
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lightkube import ApiError, Client
from lightkube.resources.apps_v1 import DaemonSet, Deployment, StatefulSet
from lightkube.resources.batch_v1 import CronJob
from lightkube.resources.core_v1 import (
    ConfigMap,
    Namespace,
    PersistentVolumeClaim,
    Secret,
    Service,
    ServiceAccount,
)
from lightkube.resources.rbac_authorization_v1 import Role, RoleBinding
from lightkube.types import PatchType

from outfitter.ops.drill import Backup, Restore

# What this stand-in backs up, in the order Velero restores (its restore priorities put
# namespaces, service accounts, config and claims before workloads).
KINDS: tuple[Any, ...] = (ServiceAccount, ConfigMap, Secret, PersistentVolumeClaim, Service,
                          Role, RoleBinding, Deployment, StatefulSet, DaemonSet, CronJob)
SERVER_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation",
                 "selfLink", "deletionTimestamp")


@dataclass
class Outcome:
    phase: str = "Completed"
    warnings: int = 0
    errors: int = 0
    failure_reason: str | None = None


@dataclass
class VeleroStandIn:
    client: Client
    namespace: str = "velero"
    backup_outcome: Outcome = field(default_factory=Outcome)
    restore_outcome: Outcome = field(default_factory=Outcome)
    paused: bool = False
    storage: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Backup name -> the objects it holds."""
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> VeleroStandIn:
        self._thread = threading.Thread(target=self._loop, name="velero-stand-in", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(0.1):
            if self.paused:
                continue
            try:
                self._step()
            except ApiError as err:
                # A fresh CRD's storage "(re)initializing" (429) or a 5xx: try again, as
                # a controller's work queue would.
                if err.status.code is None or err.status.code < 429:
                    self.errors.append(repr(err))
            except Exception as err:  # keep going; the test reads what went wrong
                self.errors.append(repr(err))

    def _step(self) -> None:
        for backup in self.client.list(Backup, namespace=self.namespace):
            if not (backup.get("status") or {}).get("phase"):
                self.run_backup(backup.to_dict())
        for restore in self.client.list(Restore, namespace=self.namespace):
            if not (restore.get("status") or {}).get("phase"):
                self.run_restore(restore.to_dict())

    def _set_status(self, kind: Any, obj: dict[str, Any], status: dict[str, Any]) -> None:
        # Velero's CRDs have no status subresource: status is patched on the object.
        self.client.patch(kind, obj["metadata"]["name"], {"status": status},
                          namespace=self.namespace, patch_type=PatchType.MERGE)

    def snapshot(self, namespaces: list[str]) -> list[dict[str, Any]]:
        if "*" in namespaces:
            namespaces = [n.metadata.name for n in self.client.list(Namespace)
                          if n.metadata and n.metadata.name]
        objects = []
        for ns in namespaces:
            for kind in KINDS:
                for item in self.client.list(kind, namespace=ns):
                    obj = item.to_dict()
                    if obj["metadata"].get("ownerReferences"):
                        continue
                    objects.append(obj)
        return objects

    def run_backup(self, backup: dict[str, Any], schedule: str | None = None) -> None:
        self._set_status(Backup, backup, {"phase": "InProgress",
                                          "startTimestamp": _now()})
        outcome = self.backup_outcome
        if outcome.phase in ("Completed", "PartiallyFailed"):
            self.storage[backup["metadata"]["name"]] = self.snapshot(
                backup["spec"].get("includedNamespaces") or [])
        self._set_status(Backup, backup, _final(outcome))

    def run_restore(self, restore: dict[str, Any]) -> None:
        self._set_status(Restore, restore, {"phase": "InProgress", "startTimestamp": _now()})
        spec = restore["spec"]
        outcome = self.restore_outcome
        if outcome.phase in ("Completed", "PartiallyFailed"):
            mapping = spec.get("namespaceMapping") or {}
            wanted = set(spec.get("includedNamespaces") or ["*"])
            for obj in self.storage.get(spec["backupName"], []):
                ns = obj["metadata"]["namespace"]
                if "*" in wanted or ns in wanted:
                    self._restore_one(obj, mapping.get(ns, ns), spec["backupName"],
                                      restore["metadata"]["name"])
        self._set_status(Restore, restore, _final(outcome))

    def _restore_one(self, obj: dict[str, Any], target: str, backup: str, restore: str) -> None:
        self._ensure_namespace(target)
        obj = copy.deepcopy(obj)
        meta = obj["metadata"]
        for key in SERVER_FIELDS:
            meta.pop(key, None)
        meta["namespace"] = target
        meta.setdefault("labels", {}).update(
            {"velero.io/backup-name": backup, "velero.io/restore-name": restore})
        obj.pop("status", None)
        kind = obj["kind"]
        if kind == "Service":
            for key in ("clusterIP", "clusterIPs"):
                obj["spec"].pop(key, None)
        if kind == "PersistentVolumeClaim":
            obj["spec"].pop("volumeName", None)
            annotations = meta.get("annotations") or {}
            for key in [k for k in annotations if k.startswith("pv.kubernetes.io/")]:
                del annotations[key]
        if kind == "Secret" and obj.get("type") == "kubernetes.io/service-account-token":
            return
        resource = next(k for k in KINDS if k.__name__ == kind)
        try:
            self.client.create(resource.from_dict(obj))
        except ApiError as err:
            if err.status.code != 409:  # Velero warns and keeps the existing object
                raise

    def _ensure_namespace(self, name: str) -> None:
        try:
            self.client.create(Namespace.from_dict(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}))
        except ApiError as err:
            if err.status.code != 409:
                raise


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _final(outcome: Outcome) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": outcome.phase, "completionTimestamp": _now()}
    if outcome.warnings:
        status["warnings"] = outcome.warnings
    if outcome.errors:
        status["errors"] = outcome.errors
    if outcome.failure_reason:
        status["failureReason"] = outcome.failure_reason
    return status
