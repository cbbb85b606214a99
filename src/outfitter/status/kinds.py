"""The kinds status reads, from the one declaration in outfitter.cluster.kinds (checks name
them from there so that `render` can grant exactly these)."""

from __future__ import annotations

from outfitter.cluster.kinds import (
    APPLICATIONS,
    CONFIGMAPS,
    CRONJOBS,
    DAEMONSETS,
    DEPLOYMENTS,
    FLUX_INSTANCES,
    HELMRELEASES,
    KUSTOMIZATIONS,
    NODES,
    PROMETHEUSRULES,
    STATEFULSETS,
    WORKLOADS,
)

__all__ = ["APPLICATIONS", "CONFIGMAPS", "CRONJOBS", "DAEMONSETS", "DEPLOYMENTS",
           "FLUX_INSTANCES", "HELMRELEASES", "KUSTOMIZATIONS", "NODES", "PROMETHEUSRULES",
           "STATEFULSETS", "WORKLOADS"]
