"""Reloader: rolling restarts when a ConfigMap or Secret changes.

Installed cluster-wide with the `annotations` reload strategy: it stamps the pod template
with an annotation instead of adding an env var, which upstream recommends under GitOps so
that Flux's drift detection and Reloader do not fight over the pod template.
"""

from __future__ import annotations

from typing import Any

from outfitter.addons.base import Addon, Chart, Priority, Workload
from outfitter.addons.context import Context


class Reloader(Addon):
    name = "reloader"
    title = "Reloader"
    namespace = "reloader"
    mesh = "enabled"
    priority = Priority.MEDIUM
    roadmap_names = ("reloader",)
    chart = Chart("reloader", "2.2.16", "https://stakater.github.io/stakater-charts")
    workloads = (Workload("reloader", "Deployment", "reloader.deployment.resources"),)

    def values(self, ctx: Context) -> dict[str, Any]:
        return {
            "reloader": {
                "reloadStrategy": "annotations",
                "watchGlobally": True,
                "ignoreNamespaces": "kube-system",
                "readOnlyRootFileSystem": True,
                "deployment": {
                    "resources": {"requests": {"cpu": "10m", "memory": "64Mi"},
                                  "limits": {"cpu": "100m", "memory": "256Mi"}},
                },
                "serviceMonitor": {"enabled": ctx.monitoring, "labels": ctx.monitoring_labels},
            },
        }

    def notes(self, ctx: Context) -> list[str]:
        return ["Workloads opt in with `reloader.stakater.com/auto: \"true\"`: "
                "`outfitter reloader plan PATH` finds the ones that need it."]


ADDON = Reloader()
