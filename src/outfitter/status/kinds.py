"""The kinds status reads. Checks name them from here so that `render` can grant exactly
these (the status ClusterRole is derived from the checks, not written by hand)."""

from __future__ import annotations

from outfitter.cluster.reader import Kind

NODES = Kind("", "v1", "nodes", "Node", namespaced=False)
CONFIGMAPS = Kind("", "v1", "configmaps", "ConfigMap")
DEPLOYMENTS = Kind("apps", "v1", "deployments", "Deployment")
STATEFULSETS = Kind("apps", "v1", "statefulsets", "StatefulSet")
DAEMONSETS = Kind("apps", "v1", "daemonsets", "DaemonSet")
CRONJOBS = Kind("batch", "v1", "cronjobs", "CronJob")
KUSTOMIZATIONS = Kind("kustomize.toolkit.fluxcd.io", "v1", "kustomizations", "Kustomization")
HELMRELEASES = Kind("helm.toolkit.fluxcd.io", "v2", "helmreleases", "HelmRelease")
FLUX_INSTANCES = Kind("fluxcd.controlplane.io", "v1", "fluxinstances", "FluxInstance")
APPLICATIONS = Kind("argoproj.io", "v1alpha1", "applications", "Application")
PROMETHEUSRULES = Kind("monitoring.coreos.com", "v1", "prometheusrules", "PrometheusRule")
WORKLOADS = (DEPLOYMENTS, STATEFULSETS, DAEMONSETS)
