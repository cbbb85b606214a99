"""Velero: cluster backups to the object storage contract, with file-system backups of
volumes by the node agent, daily and hourly Schedules, metrics and alerts.

Velero charts before 1.18 pulled a kubectl image that has no tags for Kubernetes >= 1.34;
the pinned chart (12.x, Velero 1.18) does not.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from outfitter.addons.base import (
    Addon,
    AddonOptions,
    Chart,
    Priority,
    ProfileProblem,
    Rendered,
    Workload,
    options_of,
)
from outfitter.addons.context import Context, meta
from outfitter.cluster.reader import ClusterReader, Kind
from outfitter.config import Profile
from outfitter.helm.checks import MetricCatalogue
from outfitter.status import kinds
from outfitter.status.checks import Check, Read, Result, age, items, now, parse_time

CREDENTIALS_SECRET = "velero-s3-credentials"
LOCATION = "default"
DRILL_RECORD = "outfitter-restore-drill"
"""ConfigMap in Velero's namespace where `outfitter drill backup` (outfitter.ops.drill, not
imported here: a profile or a render must not load a cluster client) records its result."""
BACKUP_STORAGE_LOCATIONS = Kind("velero.io", "v1", "backupstoragelocations",
                                "BackupStorageLocation")
SCHEDULES = Kind("velero.io", "v1", "schedules", "Schedule")
BACKUPS = Kind("velero.io", "v1", "backups", "Backup")
RECENT_BACKUP_HOURS = 25


class VeleroOptions(AddonOptions):
    bucket: str = "velero"
    daily_schedule: str = Field("0 3 * * *", alias="dailySchedule")
    daily_ttl: str = Field("720h", alias="dailyTtl", pattern=r"^[0-9]+h$")
    critical_namespaces: list[str] = Field(
        default_factory=list, alias="criticalNamespaces",
        description="namespaces also backed up every hour")
    hourly_ttl: str = Field("72h", alias="hourlyTtl", pattern=r"^[0-9]+h$")
    file_system_backup: bool = Field(
        True, alias="fileSystemBackup",
        description="back up volumes with the node agent (kopia); no CSI snapshots needed")
    aws_plugin: str = Field("velero/velero-plugin-for-aws:v1.14.0", alias="awsPlugin")


def _options(profile: Profile) -> VeleroOptions:
    return options_of(profile, "velero", VeleroOptions)


class Velero(Addon):
    name = "velero"
    # What the component exports (from its source, at the pinned version): the names the
    # PrometheusRules may use.
    metrics = MetricCatalogue(
        "Velero", ("velero_",), frozenset({
        "velero_backup_total",
        "velero_backup_attempt_total",
        "velero_backup_success_total",
        "velero_backup_partial_failure_total",
        "velero_backup_failure_total",
        "velero_backup_validation_failure_total",
        "velero_backup_duration_seconds",
        "velero_backup_last_successful_timestamp",
        "velero_backup_last_status",
        "velero_backup_tarball_size_bytes",
        "velero_backup_items_total",
        "velero_backup_items_errors",
        "velero_backup_deletion_attempt_total",
        "velero_backup_deletion_success_total",
        "velero_backup_deletion_failure_total",
        "velero_restore_total",
        "velero_restore_attempt_total",
        "velero_restore_success_total",
        "velero_restore_partial_failure_total",
        "velero_restore_failed_total",
        "velero_restore_validation_failed_total",
        "velero_volume_snapshot_attempt_total",
        "velero_volume_snapshot_success_total",
        "velero_volume_snapshot_failure_total",
        "velero_csi_snapshot_attempt_total",
        "velero_csi_snapshot_success_total",
        "velero_csi_snapshot_failure_total",
    }))
    title = "Velero"
    namespace = "velero"
    mesh = "disabled"
    priority = Priority.HIGH
    roadmap_names = ("velero",)
    roadmap_capabilities = ("backup", "back up", "backing up", "restore", "disaster recovery",
                            "cluster backup", "volume backup")
    depends_on = ("object-storage",)
    crds = ("velero.io",)
    Options = VeleroOptions
    chart = Chart("velero", "12.1.0", "https://vmware-tanzu.github.io/helm-charts")

    def lint_exceptions(self, ctx: Context) -> dict[str, str]:
        return {"host-path": "the node agent reads pod volumes from /var/lib/kubelet for "
                             "file-system backups"}

    def workloads_for(self, profile: Profile) -> tuple[Workload, ...]:
        server = Workload("velero", "Deployment", "resources")
        if not _options(profile).file_system_backup:
            return (server,)
        return (server, Workload("node-agent", "DaemonSet", "nodeAgent.resources"))

    def check_profile(self, profile: Profile) -> list[ProfileProblem]:
        opts = _options(profile)
        problems = []
        if len(opts.daily_schedule.split()) != 5:
            problems.append(ProfileProblem("dailySchedule", "must be a 5-field cron expression"))
        return problems

    def buckets(self, ctx: Context) -> tuple[str, ...]:
        return (_options(ctx.profile).bucket,)

    def values(self, ctx: Context) -> dict[str, Any]:
        opts = _options(ctx.profile)
        labels = ctx.monitoring_labels
        values: dict[str, Any] = {
            "initContainers": [{
                "name": "velero-plugin-for-aws",
                "image": opts.aws_plugin,
                "imagePullPolicy": "IfNotPresent",
                "volumeMounts": [{"mountPath": "/target", "name": "plugins"}],
                # It copies the plugin binary and exits.
                "resources": {"requests": {"cpu": "10m", "memory": "32Mi"},
                              "limits": {"cpu": "100m", "memory": "64Mi"}},
            }],
            # No pre-upgrade hook Job applying Velero's CRDs: the chart ships them in crds/
            # and the HelmRelease creates and replaces them on install and upgrade. The Job's
            # pod could not carry the app label without the chart writing it twice on the Job.
            "upgradeCRDs": False,
            "resources": {"requests": {"cpu": "50m", "memory": "128Mi"},
                          "limits": {"cpu": "500m", "memory": "512Mi"}},
            # outfitter renders the BackupStorageLocation and Schedules itself (config/),
            # so they are reviewed as objects and validated against Velero's CRDs.
            "backupsEnabled": False,
            "snapshotsEnabled": False,
            "credentials": {"useSecret": True, "existingSecret": CREDENTIALS_SECRET},
            "configuration": {
                "uploaderType": "kopia",
                "defaultVolumesToFsBackup": opts.file_system_backup,
            },
            "deployNodeAgent": opts.file_system_backup,
            "metrics": {
                "enabled": True,
                "serviceMonitor": {"enabled": ctx.monitoring, "additionalLabels": labels},
                "prometheusRule": {
                    "enabled": ctx.monitoring,
                    "additionalLabels": labels,
                    "spec": [
                        ctx.alert(
                            "VeleroBackupFailed",
                            'increase(velero_backup_failure_total{schedule!=""}[1h]) > 0',
                            "5m", "warning", "Velero backup {{ $labels.schedule }} failed"),
                        ctx.alert(
                            "VeleroNoRecentBackup",
                            '(time() - velero_backup_last_successful_timestamp{schedule!=""})'
                            " > 25 * 3600",
                            "15m", "critical",
                            "No successful Velero backup of {{ $labels.schedule }} for 25 hours"),
                    ],
                },
            },
        }
        if opts.file_system_backup:
            values["nodeAgent"] = {
                "resources": {"requests": {"cpu": "50m", "memory": "128Mi"},
                              "limits": {"cpu": "1", "memory": "1Gi"}},
            }
        return values

    def resources(self, ctx: Context) -> Rendered:
        opts = _options(ctx.profile)
        store = ctx.require_object_store()
        cloud = (
            "[default]\naws_access_key_id={{ .access_key_id }}\n"
            "aws_secret_access_key={{ .secret_access_key }}\n"
        )
        out = Rendered()
        out.app.append(ctx.object_store_secret(
            CREDENTIALS_SECRET, self.namespace, template={"cloud": cloud}))
        out.config.append({
            "apiVersion": "velero.io/v1",
            "kind": "BackupStorageLocation",
            "metadata": meta(LOCATION, self.namespace),
            "spec": {
                "provider": "aws",
                "default": True,
                "objectStorage": {"bucket": opts.bucket},
                "credential": {"name": CREDENTIALS_SECRET, "key": "cloud"},
                "config": {
                    "region": store.region,
                    "s3Url": store.endpoint,
                    "s3ForcePathStyle": str(store.path_style).lower(),
                    **({"insecureSkipTLSVerify": "false"} if not store.insecure else {}),
                },
            },
        })
        out.config.append(self._schedule(
            "daily", opts.daily_schedule, opts.daily_ttl, ["*"], opts.file_system_backup))
        if opts.critical_namespaces:
            out.config.append(self._schedule(
                "hourly-critical", "0 * * * *", opts.hourly_ttl,
                sorted(opts.critical_namespaces), opts.file_system_backup))
        return out

    def _schedule(
        self, name: str, cron: str, ttl: str, namespaces: list[str], fs_backup: bool
    ) -> dict[str, Any]:
        return {
            "apiVersion": "velero.io/v1",
            "kind": "Schedule",
            "metadata": meta(name, self.namespace),
            "spec": {
                "schedule": cron,
                "useOwnerReferencesInBackup": False,
                "template": {
                    "ttl": f"{ttl}0m0s",
                    "includedNamespaces": namespaces,
                    "storageLocation": LOCATION,
                    "defaultVolumesToFsBackup": fs_backup,
                },
            },
        }

    def checks(self, ctx: Context) -> list[Check]:
        ns = self.namespace
        bsl, schedules, backups = (Read(BACKUP_STORAGE_LOCATIONS, ns), Read(SCHEDULES, ns),
                                   Read(BACKUPS, ns))
        drill = Read(kinds.CONFIGMAPS, ns)

        def storage(reader: ClusterReader) -> Result:
            locations = items(reader, bsl)
            if not locations:
                return Result("fail", "no BackupStorageLocation", "commit velero-config")
            phases = {o["metadata"]["name"]: (o.get("status") or {}).get("phase", "Unknown")
                      for o in locations}
            text = ", ".join(f"{n} {p}" for n, p in sorted(phases.items()))
            if all(p == "Available" for p in phases.values()):
                return Result("pass", f"BackupStorageLocation {text}")
            return Result("fail", f"BackupStorageLocation {text}",
                          "check the bucket, endpoint and credentials")

        def scheduled(reader: ClusterReader) -> Result:
            if not items(reader, schedules):
                return Result("fail", "no Velero Schedule", "commit velero-config")
            done = [b for b in items(reader, backups)
                    if "velero.io/schedule-name" in (b["metadata"].get("labels") or {})
                    and (b.get("status") or {}).get("phase") == "Completed"
                    and (b.get("status") or {}).get("completionTimestamp")]
            if not done:
                return Result("fail", f"{len(items(reader, schedules))} schedules, no completed "
                              "scheduled backup yet", "wait for the first run or check Velero")
            newest = max(done, key=lambda b: parse_time(b["status"]["completionTimestamp"]))
            when = newest["status"]["completionTimestamp"]
            hours = (now() - parse_time(when)).total_seconds() / 3600
            evidence = f"last scheduled backup {newest['metadata']['name']} completed {age(when)}"
            if hours > RECENT_BACKUP_HOURS:
                return Result("fail", evidence, f"no completed backup for {RECENT_BACKUP_HOURS}h")
            return Result("pass", evidence)

        def drilled(reader: ClusterReader) -> Result:
            record = next((c for c in items(reader, drill)
                           if c["metadata"]["name"] == DRILL_RECORD), None)
            if record is None:
                return Result("fail", "no restore drill recorded",
                              "outfitter drill backup --namespace NS --yes")
            data = record.get("data") or {}
            evidence = (f"drill of {data.get('namespace')} {data.get('verdict')} "
                        f"{age(data['finishedAt']) if data.get('finishedAt') else ''}: "
                        f"{data.get('summary', '')}").strip()
            return Result("pass" if data.get("verdict") == "pass" else "fail", evidence)

        return [
            Check("velero.storage", "Backup storage reachable", (bsl,), storage,
                  roadmap=("s3", "backend")),
            Check("velero.schedules", "Scheduled backups recent", (schedules, backups),
                  scheduled, roadmap=("scheduled backups",)),
            Check("velero.drill", "Restore tested", (drill,), drilled,
                  roadmap=("restore",)),
        ]

    def notes(self, ctx: Context) -> list[str]:
        opts = _options(ctx.profile)
        notes = [f"Daily backup '{opts.daily_schedule}' kept {opts.daily_ttl}."]
        if opts.critical_namespaces:
            notes.append(f"Hourly backups of {', '.join(sorted(opts.critical_namespaces))} "
                         f"kept {opts.hourly_ttl}.")
        notes.append("Run `outfitter drill backup --namespace NS` to test a restore.")
        return notes


ADDON = Velero()
