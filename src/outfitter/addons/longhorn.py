"""Longhorn: replicated block storage across the nodes, with recurring snapshots and backups
to the object storage contract, metrics and alerts, and its UI behind authentication.

Choices for a homelab:
- Volume replicas default to min(3, node count): three copies where there are three nodes,
  never more copies than nodes (Longhorn cannot place two replicas of a volume on one node
  unless soft anti-affinity is on, so extra replicas would leave every volume degraded).
- Longhorn is *not* made the default StorageClass unless asked: the cluster already has one
  (profile `cluster.storageClass`), and two defaults make PVC binding ambiguous.
- The chart's pre-upgrade checker Job is off: upstream says to disable it under GitOps tools.
- Snapshots and backups are Longhorn `RecurringJob` objects in the `default` group, which
  applies them to every volume that has no recurring-job label of its own.
- Backups go to the object storage contract (`s3://<bucket>@<region>/`) with credentials from
  the secret store; with no object storage, Longhorn keeps local snapshots only.

Longhorn needs open-iscsi (iscsid running) and an NFSv4 client (for RWX volumes) on every
node; `notes()` says so, because no chart value can install host packages.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import Field

from outfitter import yamlio
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
from outfitter.config import Profile
from outfitter.helm.checks import MetricCatalogue

NAMESPACE = "longhorn-system"
CREDENTIALS_SECRET = "longhorn-backup-credentials"
UI_SERVICE = "longhorn-frontend"  # chart templates/deployment-ui.yaml: Service port 80 -> http
UI_PORT = 80
# Longhorn's default for guaranteedInstanceManagerCPU: this share (%) of each node's
# allocatable CPU is requested by the instance-manager pod Longhorn itself creates there.
INSTANCE_MANAGER_CPU_PERCENT = 12


# Containers of the chart without a resources value: (kind, object, container list,
# container, CPU request, memory request, memory limit).
_UNBOUNDED = (
    ("DaemonSet", "longhorn-manager", "containers", "pre-pull-share-manager-image",
     "1m", "8Mi", "16Mi"),  # `sleep infinity`, only there to pull the image
    ("Deployment", "longhorn-driver-deployer", "initContainers", "wait-longhorn-manager",
     "5m", "16Mi", "32Mi"),
    ("Deployment", "longhorn-driver-deployer", "containers", "longhorn-driver-deployer",
     "10m", "32Mi", "128Mi"),
    ("Deployment", "longhorn-ui", "containers", "longhorn-ui", "10m", "32Mi", "128Mi"),
    ("Job", "longhorn-post-upgrade", "containers", "longhorn-post-upgrade",
     "50m", "64Mi", "256Mi"),
    ("Job", "longhorn-uninstall", "containers", "longhorn-uninstall", "50m", "64Mi", "256Mi"),
)


def _bounded(kind: str, name: str, field: str, container: str, cpu: str, memory: str,
             limit: str) -> dict[str, Any]:
    """A strategic-merge patch giving one container of one object its resources."""
    api = "batch/v1" if kind == "Job" else "apps/v1"
    patch = {"apiVersion": api, "kind": kind, "metadata": {"name": name},
             "spec": {"template": {"spec": {field: [{
                 "name": container,
                 "resources": {"requests": {"cpu": cpu, "memory": memory},
                               "limits": {"memory": limit}}}]}}}}
    return {"target": {"kind": kind, "name": name}, "patch": yamlio.dump(patch)}


class LonghornOptions(AddonOptions):
    replicas: int | None = Field(
        None, ge=1, le=10,
        description="copies of each volume; default min(3, node count)")
    default_storage_class: bool = Field(
        False, alias="defaultStorageClass",
        description="make `longhorn` the cluster's default StorageClass")
    backup: bool | None = Field(
        None, description="recurring backups to object storage; default: on when object "
                          "storage is enabled")
    bucket: str = Field("longhorn-backups", pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    snapshot_schedule: str = Field("0 */6 * * *", alias="snapshotSchedule")
    snapshot_retain: int = Field(4, alias="snapshotRetain", ge=1, le=100)
    backup_schedule: str = Field("0 4 * * *", alias="backupSchedule")
    backup_retain: int = Field(7, alias="backupRetain", ge=1, le=100)


def _options(profile: Profile) -> LonghornOptions:
    return options_of(profile, "longhorn", LonghornOptions)


def replicas(profile: Profile) -> int:
    """Volume replicas: the option, or as many as fit (at most 3)."""
    chosen = _options(profile).replicas
    return chosen if chosen is not None else min(3, profile.cluster.nodes.count)


def backups_on(profile: Profile) -> bool:
    chosen = _options(profile).backup
    if chosen is not None:
        return chosen
    return profile.addon_options("object-storage").enabled


def _per_engine(value: int | str) -> str:
    """A data-engine-specific Longhorn setting value, in the format of the chart's own default
    (`{"v1":"3","v2":"3"}`). The chart fails on any defaultSettings value that is not a
    string, so this is always one."""
    return json.dumps({"v1": str(value), "v2": str(value)}, separators=(",", ":"))


def ui_exposed(ctx: Context) -> bool:
    """ctx.ui_route needs the ingress (Traefik with cert-manager, or envoy-gateway) and the
    secrets provider (External Secrets, or SOPS) to be there."""
    secrets = ctx.sops or ctx.profile.has("external-secrets")
    if ctx.gateway_api:
        return secrets and ctx.profile.has("envoy-gateway")
    return secrets and ctx.profile.has("traefik") and ctx.enabled("cert-manager")


def _node_notes(os: str) -> list[str]:
    """What the nodes need before Longhorn starts; Talos has no package manager or shell."""
    if os == "talos":
        return [
            "Talos: add the system extensions siderolabs/iscsi-tools and "
            "siderolabs/util-linux-tools to the node image (Image Factory schematic), and "
            "give the kubelet the data path with shared propagation in the machine config: "
            "`machine.kubelet.extraMounts: [{destination: /var/lib/longhorn, type: bind, "
            "source: /var/lib/longhorn, options: [bind, rshared, rw]}]`; then upgrade the "
            "nodes to the new image.",
            f"Talos enforces the baseline Pod Security Standard: label the {NAMESPACE} "
            f"namespace `pod-security.kubernetes.io/enforce: privileged` (Longhorn's manager "
            f"and CSI pods are privileged).",
        ]
    return ["Every node needs open-iscsi installed with iscsid running (and an NFSv4 client "
            "for RWX volumes) before Longhorn starts; run `longhornctl check preflight` or "
            "the environment check script from the Longhorn docs."]


def _storage_class_note(longhorn_default: bool, cluster_class: str) -> str:
    if not longhorn_default:
        return (f"The `longhorn` StorageClass is not the default; `{cluster_class}` stays the "
                "default (set defaultStorageClass: true to change that).")
    if cluster_class == "longhorn":
        return "The `longhorn` StorageClass is the cluster default."
    return (f"The `longhorn` StorageClass is the cluster default: remove the default-class "
            f"annotation from `{cluster_class}` so that only one default is left.")


def _cron_problem(field: str, cron: str) -> ProfileProblem | None:
    if len(cron.split()) != 5:
        return ProfileProblem(field, "must be a 5-field cron expression")
    return None


class Longhorn(Addon):
    name = "longhorn"
    # What the component exports (from its source, at the pinned version): the names the
    # PrometheusRules may use.
    metrics = MetricCatalogue(
        "Longhorn", ("longhorn_",), frozenset({
        "longhorn_volume_robustness",
        "longhorn_volume_state",
        "longhorn_volume_capacity_bytes",
        "longhorn_volume_actual_size_bytes",
        "longhorn_volume_read_throughput",
        "longhorn_volume_write_throughput",
        "longhorn_volume_read_iops",
        "longhorn_volume_write_iops",
        "longhorn_volume_read_latency",
        "longhorn_volume_write_latency",
        "longhorn_node_status",
        "longhorn_node_count_total",
        "longhorn_node_storage_capacity_bytes",
        "longhorn_node_storage_usage_bytes",
        "longhorn_node_storage_reservation_bytes",
        "longhorn_disk_capacity_bytes",
        "longhorn_disk_usage_bytes",
        "longhorn_disk_reservation_bytes",
        "longhorn_backup_state",
        "longhorn_backup_actual_size_bytes",
        "longhorn_instance_manager_cpu_usage_millicpu",
        "longhorn_instance_manager_memory_usage_bytes",
        "longhorn_manager_cpu_usage_millicpu",
        "longhorn_manager_memory_usage_bytes",
    }))
    title = "Longhorn"
    namespace = NAMESPACE
    stateful = True
    mesh = "disabled"  # node agents on the host network, CSI and iSCSI: no proxy there
    priority = Priority.LOW
    roadmap_names = ("longhorn",)
    roadmap_capabilities = ("distributed storage", "replicated storage", "block storage",
                            "distributed block storage", "storage replication",
                            "replicated volume", "ha storage", "highly available storage",
                            "storage")
    crds = ("longhorn.io",)
    Options = LonghornOptions
    chart = Chart("longhorn", "1.12.1", "https://charts.longhorn.io")
    # The chart exposes resources only for the manager DaemonSet: the UI, the driver
    # deployer and the hook Jobs get theirs from post_renderers(); what the driver deployer
    # creates at run time takes none (see notes()).
    workloads = (Workload("longhorn-manager", "DaemonSet", "longhornManager.resources"),)

    def lint_exceptions(self, ctx: Context) -> dict[str, str]:
        return {"host-path": "longhorn-manager keeps replicas in /var/lib/longhorn and "
                             "reaches /dev, /proc, /etc and /boot of each node",
                "privileged": "longhorn-manager mounts block devices and runs iSCSI"}

    def check_profile(self, profile: Profile) -> list[ProfileProblem]:
        opts = _options(profile)
        nodes = profile.cluster.nodes.count
        problems = []
        if opts.replicas is not None and opts.replicas > nodes:
            problems.append(ProfileProblem(
                "replicas", f"{opts.replicas} is above the node count {nodes}"))
        if opts.backup and not profile.addon_options("object-storage").enabled:
            problems.append(ProfileProblem(
                "backup", "backups need object storage, which is disabled (enable "
                          "addons.object-storage or set backup: false)"))
        storage = profile.addon_options("object-storage")
        in_cluster_store = getattr(storage, "provider", "external") != "external"
        if (profile.cluster.storage_class == "longhorn" and storage.enabled and in_cluster_store
                and backups_on(profile)):
            problems.append(ProfileProblem(
                "backup", "cluster.storageClass is longhorn, so the in-cluster object store "
                          "would need a Longhorn volume while Longhorn waits for that store "
                          "(its backup target): use an external object store, another "
                          "cluster.storageClass, or backup: false"))
        for field, cron in (("snapshotSchedule", opts.snapshot_schedule),
                            ("backupSchedule", opts.backup_schedule)):
            if (problem := _cron_problem(field, cron)) is not None:
                problems.append(problem)
        return problems

    def buckets(self, ctx: Context) -> tuple[str, ...]:
        return (_options(ctx.profile).bucket,) if backups_on(ctx.profile) else ()

    def values(self, ctx: Context) -> dict[str, Any]:
        opts = _options(ctx.profile)
        profile = ctx.profile
        count = replicas(profile)
        # CSI attacher/provisioner/resizer/snapshotter run 3 replicas each by default; they
        # are leader-elected, so two (one on a single node) keep failover at a third the pods.
        csi_replicas = min(2, profile.cluster.nodes.count)
        values: dict[str, Any] = {
            "preUpgradeChecker": {"jobEnabled": False},
            "persistence": {
                "defaultClass": opts.default_storage_class,
                "defaultClassReplicaCount": count,
            },
            "csi": {
                "attacherReplicaCount": csi_replicas,
                "provisionerReplicaCount": csi_replicas,
                "resizerReplicaCount": csi_replicas,
                "snapshotterReplicaCount": csi_replicas,
            },
            "defaultSettings": {
                "defaultReplicaCount": _per_engine(count),
            },
            "longhornManager": {
                "resources": {"requests": {"cpu": "50m", "memory": "128Mi"},
                              "limits": {"cpu": "500m", "memory": "512Mi"}},
            },
            "longhornUI": {"replicas": 1},
            "metrics": {
                "serviceMonitor": {"enabled": ctx.monitoring,
                                   "additionalLabels": ctx.monitoring_labels},
            },
        }
        if backups_on(profile) and ctx.object_store is not None:
            store = ctx.object_store
            values["defaultBackupStore"] = {
                "backupTarget": f"s3://{opts.bucket}@{store.region}/",
                "backupTargetCredentialSecret": CREDENTIALS_SECRET,
                "pollInterval": "300",
            }
        return values

    def post_renderers(self, ctx: Context) -> list[dict[str, Any]]:
        """Resources for the containers the chart takes none for from values.yaml (Helm 4
        post-renders hooks too, so its hook Jobs are bounded as well)."""
        patches = [_bounded(kind, name, field, container, cpu, memory, limit)
                   for kind, name, field, container, cpu, memory, limit in _UNBOUNDED]
        return [{"kustomize": {"patches": patches}}]

    def resources(self, ctx: Context) -> Rendered:
        opts = _options(ctx.profile)
        out = Rendered()
        backups = backups_on(ctx.profile) and ctx.object_store is not None
        if backups:
            store = ctx.require_object_store()
            template = {
                "AWS_ACCESS_KEY_ID": "{{ .access_key_id }}",
                "AWS_SECRET_ACCESS_KEY": "{{ .secret_access_key }}",
                "AWS_ENDPOINTS": store.endpoint,
            }
            if not store.path_style:
                template["VIRTUAL_HOSTED_STYLE"] = "true"
            out.app.append(ctx.object_store_secret(CREDENTIALS_SECRET, self.namespace,
                                                   template=template))
        if ui_exposed(ctx):
            out.app += ctx.ui_route("longhorn", self.namespace, UI_SERVICE, UI_PORT)
        if ctx.monitoring:
            out.app.append(ctx.prometheus_rule("longhorn", self.namespace, self._alerts(ctx)))
        out.config.append(self._recurring_job(
            "snapshot", "snapshot", opts.snapshot_schedule, opts.snapshot_retain, 2))
        if backups:
            out.config.append(self._recurring_job(
                "backup", "backup", opts.backup_schedule, opts.backup_retain, 1))
        return out

    def _recurring_job(
        self, name: str, task: str, cron: str, retain: int, concurrency: int
    ) -> dict[str, Any]:
        return {
            "apiVersion": "longhorn.io/v1beta2",
            "kind": "RecurringJob",
            "metadata": meta(name, self.namespace),
            "spec": {
                "name": name,
                "task": task,
                "cron": cron,
                "retain": retain,
                "concurrency": concurrency,
                # `default` applies the job to every volume without recurring-job labels.
                "groups": ["default"],
                "labels": {},
            },
        }

    @staticmethod
    def _alerts(ctx: Context) -> list[dict[str, Any]]:
        # Longhorn 1.12 reports robustness as one series per state, 1 for the current one.
        return [
            ctx.alert("LonghornVolumeFaulted",
                      'longhorn_volume_robustness{state="faulted"} == 1', "2m", "critical",
                      "Longhorn volume {{ $labels.volume }} ({{ $labels.pvc_namespace }}/"
                      "{{ $labels.pvc }}) is faulted: no healthy replica left"),
            ctx.alert("LonghornVolumeDegraded",
                      'longhorn_volume_robustness{state="degraded"} == 1', "15m", "warning",
                      "Longhorn volume {{ $labels.volume }} ({{ $labels.pvc_namespace }}/"
                      "{{ $labels.pvc }}) has been degraded for 15 minutes"),
            ctx.alert("LonghornNodeStorageAlmostFull",
                      "longhorn_node_storage_usage_bytes / longhorn_node_storage_capacity_bytes"
                      " > 0.85", "10m", "warning",
                      "Longhorn storage on node {{ $labels.node }} is over 85% used"),
        ]

    def notes(self, ctx: Context) -> list[str]:
        opts = _options(ctx.profile)
        nodes = ctx.profile.cluster.nodes
        count = replicas(ctx.profile)
        im_cpu = nodes.cpu_millis * INSTANCE_MANAGER_CPU_PERCENT // 100
        notes = [
            *_node_notes(ctx.profile.cluster.nodes.os),
            f"Volumes get {count} replica(s) on {nodes.count} node(s)."
            + (" A single replica survives no node failure." if count == 1 else ""),
            _storage_class_note(opts.default_storage_class, ctx.profile.cluster.storage_class),
            f"Snapshots '{opts.snapshot_schedule}', {opts.snapshot_retain} kept per volume.",
            "Created at run time, not by the chart (so the budget cannot count them): an "
            f"instance-manager pod per node requesting {INSTANCE_MANAGER_CPU_PERCENT}% of the "
            f"node's CPU ({im_cpu}m, setting guaranteedInstanceManagerCPU); the CSI attacher, "
            "provisioner, resizer and snapshotter Deployments (csi.*ReplicaCount each) and "
            "the CSI plugin and engine-image DaemonSets, made by the driver deployer with no "
            "resources.",
        ]
        if backups_on(ctx.profile) and ctx.object_store is not None:
            notes.append(f"Backups '{opts.backup_schedule}', {opts.backup_retain} kept per "
                         f"volume, to s3://{opts.bucket} at {ctx.object_store.endpoint}.")
            if ctx.object_store.provider != "external":
                notes.append("The backup target runs in this cluster: it does not survive "
                             "losing the cluster. An external endpoint (e.g. a NAS) does.")
        else:
            notes.append("No backups: object storage is off, so Longhorn keeps local "
                         "snapshots only.")
        if not ui_exposed(ctx):
            notes.append("No UI route (it needs Traefik with cert-manager or envoy-gateway, and "
                         "External Secrets or SOPS): "
                         f"use `kubectl -n {NAMESPACE} port-forward svc/{UI_SERVICE} 8080:80`.")
        return notes


ADDON = Longhorn()
