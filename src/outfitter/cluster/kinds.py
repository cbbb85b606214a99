"""Kinds, declared once. A `Kind` is plain data (no client library): the add-ons declare
their own custom kinds with it, status lists them, the day-2 commands turn them into
lightkube resources (`outfitter.cluster.resources.resource_of`), and render derives the
status ClusterRole from them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Kind:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def path(self) -> str:
        prefix = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        return f"{prefix}/{self.plural}"

    def path_in(self, namespace: str | None) -> str:
        if namespace is None or not self.namespaced:
            return self.path
        prefix = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        return f"{prefix}/namespaces/{namespace}/{self.plural}"

    def __str__(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural


# Built-in kinds and the GitOps controllers' kinds (custom kinds of an add-on live in its room).
NAMESPACES = Kind("", "v1", "namespaces", "Namespace", namespaced=False)
NODES = Kind("", "v1", "nodes", "Node", namespaced=False)
PODS = Kind("", "v1", "pods", "Pod")
CONFIGMAPS = Kind("", "v1", "configmaps", "ConfigMap")
SECRETS = Kind("", "v1", "secrets", "Secret")
PVCS = Kind("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim")
SERVICES = Kind("", "v1", "services", "Service")
DEPLOYMENTS = Kind("apps", "v1", "deployments", "Deployment")
STATEFULSETS = Kind("apps", "v1", "statefulsets", "StatefulSet")
DAEMONSETS = Kind("apps", "v1", "daemonsets", "DaemonSet")
REPLICASETS = Kind("apps", "v1", "replicasets", "ReplicaSet")
JOBS = Kind("batch", "v1", "jobs", "Job")
CRONJOBS = Kind("batch", "v1", "cronjobs", "CronJob")
KUSTOMIZATIONS = Kind("kustomize.toolkit.fluxcd.io", "v1", "kustomizations", "Kustomization")
HELMRELEASES = Kind("helm.toolkit.fluxcd.io", "v2", "helmreleases", "HelmRelease")
FLUX_INSTANCES = Kind("fluxcd.controlplane.io", "v1", "fluxinstances", "FluxInstance")
APPLICATIONS = Kind("argoproj.io", "v1alpha1", "applications", "Application")
PROMETHEUSRULES = Kind("monitoring.coreos.com", "v1", "prometheusrules", "PrometheusRule")
WORKLOADS = (DEPLOYMENTS, STATEFULSETS, DAEMONSETS)
