"""The Velero restore drill: back a namespace up, restore it beside itself, compare.

The roadmap's "Test restore procedure", done safely: the restore always goes into a separate
drill namespace through Velero's `namespaceMapping`, never into the source; a drill
namespace that already exists is refused, never overwritten. The comparison covers kinds,
names and counts, ConfigMap and Secret data by hash (values are never printed or stored),
PVCs bound and workloads ready. The verdict is recorded in the cluster (ConfigMap
`outfitter-restore-drill` in Velero's namespace) so that `status` can answer "restore
tested, when, verdict".

Reached from `outfitter.addons.velero` (as `restore_drill`) and `outfitter drill backup`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lightkube import ApiError, Client
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap, Namespace

from outfitter.addons.velero import BACKUP_STORAGE_LOCATIONS, BACKUPS
from outfitter.cluster.kinds import Kind
from outfitter.cluster.resources import as_dict, resource_of
from outfitter.errors import InputError
from outfitter.ops.drill_compare import (
    TYPED_KINDS,
    Inventory,
    KindCount,
    compare,
    count_by_kind,
    custom_kinds,
    inventory,
    settled,
)

VELERO_NAMESPACE = "velero"
RECORD_NAME = "outfitter-restore-drill"
MANAGED_BY = {"app.kubernetes.io/managed-by": "outfitter"}
DRILL_LABEL = "outfitter.dev/restore-drill"
SCHEDULE_LABEL = "velero.io/schedule-name"
DRILL_BACKUP_TTL = "72h0m0s"

RESTORES = Kind("velero.io", "v1", "restores", "Restore")
Backup = resource_of(BACKUPS)
Restore = resource_of(RESTORES)
BackupStorageLocation = resource_of(BACKUP_STORAGE_LOCATIONS)

# Phases after which Velero does nothing more to the object.
DONE = {"Completed"}
FAILED = {"Failed", "PartiallyFailed", "FailedValidation", "Deleting"}


class DrillRefused(InputError):
    """The drill cannot start (exit 2); nothing was created."""


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _name_part(text: str, limit: int) -> str:
    return text[:limit].rstrip("-")


# -- the plan ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DrillPlan:
    namespace: str
    drill_namespace: str
    backup: str
    """The Backup to restore: a new one the drill creates, or a scheduled one."""
    create_backup: bool
    restore: str
    velero_namespace: str = VELERO_NAMESPACE
    backup_finished: str | None = None
    """When the scheduled backup completed (RFC 3339), for the preview."""
    warnings: tuple[str, ...] = ()

    def steps(self) -> list[str]:
        ns, vns = self.namespace, self.velero_namespace
        first = (f"create Backup {vns}/{self.backup} of namespace {ns} (ttl {DRILL_BACKUP_TTL})"
                 " and wait for it to complete" if self.create_backup else
                 f"use the newest completed scheduled Backup {vns}/{self.backup} "
                 f"(completed {self.backup_finished})")
        return [
            first,
            f"create Restore {vns}/{self.restore} of namespace {ns} into {self.drill_namespace}"
            f" (namespaceMapping {ns} -> {self.drill_namespace}; {ns} is not touched)",
            f"compare {ns} with {self.drill_namespace}: kinds, names and counts, ConfigMap and "
            "Secret data by hash, PVCs bound, workloads ready",
            f"record the verdict in ConfigMap {vns}/{RECORD_NAME}",
            f"delete namespace {self.drill_namespace} and Restore {self.restore} "
            "(unless --keep)",
        ]


def _exists(client: Client, kind: Any, name: str, namespace: str | None = None) -> bool:
    try:
        client.get(kind, name, namespace=namespace) if namespace else client.get(kind, name)
    except ApiError as err:
        if err.status.code == 404:
            return False
        raise
    return True


def _covers(backup: dict[str, Any], namespace: str) -> bool:
    spec = backup.get("spec") or {}
    included = spec.get("includedNamespaces") or ["*"]
    excluded = spec.get("excludedNamespaces") or []
    return (namespace in included or "*" in included) and namespace not in excluded


def newest_scheduled_backup(
    client: Client, namespace: str, velero_namespace: str = VELERO_NAMESPACE
) -> dict[str, Any] | None:
    """The newest Completed backup made by a Schedule that covers `namespace`."""
    found = []
    for item in client.list(Backup, namespace=velero_namespace):
        backup = as_dict(item)
        meta, status = backup.get("metadata") or {}, backup.get("status") or {}
        if (SCHEDULE_LABEL in (meta.get("labels") or {}) and status.get("phase") == "Completed"
                and _covers(backup, namespace)):
            found.append(backup)
    if not found:
        return None
    return max(found, key=lambda b: (b["status"].get("completionTimestamp") or "",
                                     b["metadata"]["name"]))


def plan_drill(
    client: Client,
    namespace: str,
    *,
    from_schedule: bool = False,
    drill_namespace: str | None = None,
    velero_namespace: str = VELERO_NAMESPACE,
    now: datetime | None = None,
) -> DrillPlan:
    """Check that a drill can run and say what it will do; raises DrillRefused otherwise."""
    moment = now or utc_now()
    drill_ns = drill_namespace or f"{_name_part(namespace, 57)}-drill"
    problems = []
    if drill_ns == namespace:
        problems.append("the drill namespace must differ from the namespace backed up")
    if len(drill_ns) > 63:
        problems.append(f"drill namespace {drill_ns!r} is longer than 63 characters; "
                        "choose one with --drill-namespace")
    try:
        list(client.list(Backup, namespace=velero_namespace, chunk_size=1))
        served = True
    except ApiError as err:
        if err.status.code != 404:
            raise
        served = False
        problems.append("Velero's CRDs (velero.io/v1 Backup, Restore) are not installed; "
                        "install Velero first")
    if not _exists(client, Namespace, velero_namespace):
        problems.append(f"namespace {velero_namespace} (Velero's) does not exist")
    if not _exists(client, Namespace, namespace):
        problems.append(f"namespace {namespace} does not exist")
    if drill_ns != namespace and _exists(client, Namespace, drill_ns):
        problems.append(f"drill namespace {drill_ns} already exists; the drill never "
                        "overwrites a namespace: delete it, or choose another with "
                        "--drill-namespace")
    stamp = moment.strftime("%Y%m%d%H%M%S")
    base = f"drill-{_name_part(namespace, 40)}-{stamp}"
    backup, finished = base, None
    if from_schedule and served and not problems:
        scheduled = newest_scheduled_backup(client, namespace, velero_namespace)
        if scheduled is None:
            problems.append(f"no completed scheduled backup covers namespace {namespace}; "
                            "run without --from-schedule to take one now")
        else:
            backup = scheduled["metadata"]["name"]
            finished = scheduled["status"].get("completionTimestamp")
    if problems:
        raise DrillRefused(problems)
    return DrillPlan(namespace=namespace, drill_namespace=drill_ns, backup=backup,
                     create_backup=not from_schedule, restore=base,
                     velero_namespace=velero_namespace, backup_finished=finished,
                     warnings=tuple(_location_warnings(client, velero_namespace)))


def _location_warnings(client: Client, velero_namespace: str) -> list[str]:
    locations = [as_dict(b) for b in client.list(BackupStorageLocation, namespace=velero_namespace)]
    if not locations:
        return [f"no BackupStorageLocation in {velero_namespace}: Velero has nowhere to write"]
    return [f"BackupStorageLocation {loc['metadata']['name']} is "
            f"{(loc.get('status') or {}).get('phase') or 'not yet checked'}, not Available"
            for loc in locations
            if (loc.get("spec") or {}).get("default")
            and (loc.get("status") or {}).get("phase") != "Available"]


# -- running it ---------------------------------------------------------------------------------


@dataclass
class DrillResult:
    plan: DrillPlan
    started: datetime
    finished: datetime | None = None
    verdict: str = "fail"
    failure: str | None = None
    """Why the drill could not compare (a failed Backup or Restore, a timeout)."""
    velero_details: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    counts: list[KindCount] = field(default_factory=list)
    restore_created: bool = False
    cleaned_up: bool = False

    @property
    def summary(self) -> str:
        ns, drill = self.plan.namespace, self.plan.drill_namespace
        if self.failure:
            return f"{ns}: {self.failure}"
        objects = sum(c.source for c in self.counts)
        if self.verdict == "pass":
            return f"{ns}: {objects} objects restored into {drill} and matched"
        return (f"{ns}: {len(self.differences)} difference(s) between {ns} and its restore "
                f"in {drill}")

    def as_json(self) -> dict[str, Any]:
        return {
            "namespace": self.plan.namespace, "drillNamespace": self.plan.drill_namespace,
            "backup": self.plan.backup, "restore": self.plan.restore,
            "startedAt": rfc3339(self.started),
            "finishedAt": rfc3339(self.finished) if self.finished else None,
            "verdict": self.verdict, "failure": self.failure,
            "velero": self.velero_details, "differences": self.differences,
            "counts": [{"kind": c.kind, "source": c.source, "restored": c.restored}
                       for c in self.counts],
            "cleanedUp": self.cleaned_up, "summary": self.summary,
        }


class Timeout(Exception):
    pass


@dataclass
class Waiter:
    """Polling with an injectable clock, so tests can run the drill fast."""

    poll: float = 2.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def until(self, check: Callable[[], Any], timeout: float) -> Any:
        deadline = self.clock() + timeout
        while True:
            got = check()
            if got is not None:
                return got
            if self.clock() >= deadline:
                raise Timeout
            self.sleep(self.poll)


def _velero_details(kind: str, obj: dict[str, Any]) -> list[str]:
    status = obj.get("status") or {}
    lines = [f"{kind} {obj['metadata']['name']}: phase {status.get('phase') or 'New'}, "
             f"{status.get('warnings') or 0} warning(s), {status.get('errors') or 0} error(s)"]
    if status.get("failureReason"):
        lines.append(f"failure reason: {status['failureReason']}")
    lines += [f"validation error: {e}" for e in status.get("validationErrors") or []]
    if status.get("warnings") or status.get("errors"):
        lines.append(f"details: velero {kind.lower()} describe {obj['metadata']['name']} "
                     f"--details; velero {kind.lower()} logs {obj['metadata']['name']}")
    return lines


def _wait_phase(client: Client, kind: Any, name: str, namespace: str, waiter: Waiter,
                timeout: float) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        try:
            obj = as_dict(client.get(kind, name, namespace=namespace))
        except ApiError as err:
            if (err.status.code or 0) >= 429:
                return None  # a passing hiccup (flow control, a restart): poll again
            raise
        phase = (obj.get("status") or {}).get("phase")
        return obj if phase in DONE or phase in FAILED else None

    result: dict[str, Any] = waiter.until(check, timeout)
    return result


def backup_object(plan: DrillPlan) -> dict[str, Any]:
    return {
        "apiVersion": "velero.io/v1", "kind": "Backup",
        "metadata": {"name": plan.backup, "namespace": plan.velero_namespace,
                     "labels": {**MANAGED_BY, DRILL_LABEL: plan.namespace}},
        "spec": {"includedNamespaces": [plan.namespace], "ttl": DRILL_BACKUP_TTL},
    }


def restore_object(plan: DrillPlan) -> dict[str, Any]:
    return {
        "apiVersion": "velero.io/v1", "kind": "Restore",
        "metadata": {"name": plan.restore, "namespace": plan.velero_namespace,
                     "labels": {**MANAGED_BY, DRILL_LABEL: plan.namespace}},
        "spec": {
            "backupName": plan.backup,
            # Only the drilled namespace, even from a backup of the whole cluster.
            "includedNamespaces": [plan.namespace],
            "namespaceMapping": {plan.namespace: plan.drill_namespace},
        },
    }


def run_drill(
    client: Client,
    plan: DrillPlan,
    *,
    keep: bool = False,
    timeout: float = 1800.0,
    settle_timeout: float = 300.0,
    waiter: Waiter | None = None,
    log: Callable[[str], None] = lambda line: None,
    now: Callable[[], datetime] = utc_now,
) -> DrillResult:
    """Run the drill the plan describes. Failures of Velero or timeouts end in a `fail`
    verdict (recorded too); the drill namespace is cleaned up whatever happened."""
    waiter = waiter or Waiter()
    result = DrillResult(plan=plan, started=now())
    vns = plan.velero_namespace
    try:
        if plan.create_backup:
            log(f"creating Backup {vns}/{plan.backup}")
            client.create(Backup.from_dict(backup_object(plan)))
            log("waiting for the backup to complete")
            try:
                backup = _wait_phase(client, Backup, plan.backup, vns, waiter, timeout)
            except Timeout:
                result.failure = (f"Backup {plan.backup} did not finish within {timeout:.0f}s "
                                  "(is Velero running? velero backup describe "
                                  f"{plan.backup})")
                return result
            if backup["status"]["phase"] not in DONE:
                result.failure = f"Backup {plan.backup} {backup['status']['phase']}"
                result.velero_details = _velero_details("Backup", backup)
                return result
        if _exists(client, Namespace, plan.drill_namespace):
            # Created since the plan was checked: still never restore over it.
            result.failure = f"drill namespace {plan.drill_namespace} appeared; not restoring"
            return result
        log(f"creating Restore {vns}/{plan.restore} into {plan.drill_namespace}")
        client.create(Restore.from_dict(restore_object(plan)))
        result.restore_created = True
        log("waiting for the restore to complete")
        try:
            restore = _wait_phase(client, Restore, plan.restore, vns, waiter, timeout)
        except Timeout:
            result.failure = (f"Restore {plan.restore} did not finish within {timeout:.0f}s "
                              f"(velero restore describe {plan.restore})")
            return result
        phase = restore["status"]["phase"]
        result.velero_details = _velero_details("Restore", restore)
        if phase not in DONE:
            result.failure = f"Restore {plan.restore} {phase}"
            if phase != "PartiallyFailed":
                return result
            # Most of it is there: the comparison shows what is missing.
        log(f"comparing {plan.namespace} with {plan.drill_namespace}")
        kinds = [*TYPED_KINDS, *custom_kinds(client)]
        source = inventory(client, plan.namespace, kinds)

        def restored_when_settled() -> Inventory | None:
            restored = inventory(client, plan.drill_namespace, kinds)
            return restored if settled(source, restored) else None

        try:
            restored = waiter.until(restored_when_settled, settle_timeout)
        except Timeout:
            restored = inventory(client, plan.drill_namespace, kinds)
        result.counts = count_by_kind(source, restored)
        result.differences = compare(source, restored)
        result.verdict = "fail" if result.differences or result.failure else "pass"
        return result
    except ApiError as err:
        # Refused by the API server (RBAC, a name taken, a webhook): a failed drill, told so.
        result.failure = f"the API server refused the drill: {err.status.message or err}"
        return result
    finally:
        result.finished = now()
        write_record(client, result)
        if not keep:
            _cleanup(client, plan, result.restore_created, log)
            result.cleaned_up = True


def _cleanup(client: Client, plan: DrillPlan, restore_created: bool,
             log: Callable[[str], None]) -> None:
    # Only what this drill made: the namespace did not exist before the restore.
    if restore_created:
        steps: list[tuple[str, Callable[[], None]]] = [
            (f"namespace {plan.drill_namespace}",
             lambda: client.delete(Namespace, plan.drill_namespace)),
            (f"Restore {plan.velero_namespace}/{plan.restore}",
             lambda: client.delete(Restore, plan.restore, namespace=plan.velero_namespace)),
        ]
        for what, delete in steps:
            try:
                delete()
                log(f"deleted {what}")
            except ApiError as err:
                if err.status.code != 404:
                    raise


# -- the record ---------------------------------------------------------------------------------


def record_data(result: DrillResult) -> dict[str, str]:
    """The keys `status` reads; keep them."""
    finished = result.finished or result.started
    return {
        "namespace": result.plan.namespace,
        "backup": result.plan.backup,
        "restore": result.plan.restore,
        "startedAt": rfc3339(result.started),
        "finishedAt": rfc3339(finished),
        "verdict": result.verdict,
        "differences": str(len(result.differences)),
        "summary": result.summary,
    }


def write_record(client: Client, result: DrillResult) -> None:
    record = ConfigMap(
        metadata=ObjectMeta(name=RECORD_NAME, namespace=result.plan.velero_namespace,
                            labels=dict(MANAGED_BY)),
        data=record_data(result))
    client.apply(record, field_manager="outfitter", force=True)


def read_record(client: Client, velero_namespace: str = VELERO_NAMESPACE) -> dict[str, str] | None:
    """The last drill's record, or None when no drill has run."""
    try:
        cm = client.get(ConfigMap, RECORD_NAME, namespace=velero_namespace)
    except ApiError as err:
        if err.status.code == 404:
            return None
        raise
    return dict(cm.data or {})


__all__ = [
    "Backup", "DrillPlan", "DrillRefused", "DrillResult", "Restore", "Waiter",
    "plan_drill", "read_record", "run_drill",
]
