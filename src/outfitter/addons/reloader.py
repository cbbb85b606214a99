"""Reloader: rolling restarts when a ConfigMap or Secret changes.

Installed cluster-wide with the `annotations` reload strategy: it stamps the pod template
with an annotation instead of adding an env var, which upstream recommends under GitOps so
that Flux's drift detection and Reloader do not fight over the pod template.
"""

from __future__ import annotations

from typing import Any

from outfitter.addons.base import Addon, Chart, Priority, Workload
from outfitter.addons.context import Context
from outfitter.cluster.namespaces import PLATFORM
from outfitter.cluster.reader import ClusterReader
from outfitter.status import kinds
from outfitter.status.checks import Check, Read, Result, name_of, summarize
from outfitter.status.ownership import addon_of

# Namespaces whose workloads are the platform's own, not the user's apps (shared with
# `reloader plan --live`).
SYSTEM_NAMESPACES = PLATFORM


class Reloader(Addon):
    name = "reloader"
    title = "Reloader"
    namespace = "reloader"
    mesh = "enabled"
    priority = Priority.MEDIUM
    roadmap_names = ("reloader",)
    roadmap_aliases = ("stakater reloader",)
    roadmap_capabilities = ("config reload", "config reloading", "configuration reload",
                            "auto-reload", "reload on config change", "restart on config change",
                            "restart pods on config change", "rolling restart on config change",
                            "config change restarts")
    chart = Chart("reloader", "2.2.16", "oci://ghcr.io/stakater/charts/reloader")
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

    def checks(self, ctx: Context) -> list[Check]:
        reads = tuple(Read(k) for k in kinds.WORKLOADS)
        own = {(a.name, a.namespace) for a in ctx_addons(ctx)}

        def annotated(reader: ClusterReader) -> Result:
            from outfitter.ops.reloader import coverage, pod_refs

            lacking, consumers, left_out = [], 0, 0
            for read in reads:
                for w in reader.list(read.kind).items:
                    if w["metadata"].get("namespace") in SYSTEM_NAMESPACES:
                        continue
                    if addon_of(w, own) is not None:
                        # outfitter's own charts: a chart upgrade rolls them; the user's
                        # workloads are what the roadmap item is about.
                        left_out += 1
                        continue
                    refs = pod_refs(((w.get("spec") or {}).get("template") or {}).get("spec"))
                    if not refs:
                        continue
                    consumers += 1
                    state, _ = coverage(w["metadata"].get("annotations") or {}, refs)
                    if state in ("none", "partial"):
                        lacking.append(f"{w['kind']} {name_of(w)}")
            note = (f"; {left_out} workload(s) of outfitter's add-ons left out (their charts "
                    f"roll them on upgrade)" if left_out else "")
            if lacking:
                return Result("fail", f"{len(lacking)} of {consumers} workloads that use "
                              f"ConfigMaps or Secrets lack Reloader annotations: "
                              f"{summarize(sorted(lacking))}{note}",
                              "outfitter reloader plan PATH --write")
            return Result("pass", f"all {consumers} workloads that use ConfigMaps or Secrets "
                          f"are annotated (or opted out){note}")

        return [Check("reloader.annotations", "Workloads annotated for reload", reads,
                      annotated, roadmap=("annotate",))]

    def notes(self, ctx: Context) -> list[str]:
        return ["Workloads opt in with `reloader.stakater.com/auto: \"true\"`: "
                "`outfitter reloader plan PATH` finds the ones that need it."]


def ctx_addons(ctx: Context) -> list[Addon]:
    from outfitter.addons import registry

    return [a for a in registry.all_addons() if ctx.enabled(a.name)]


ADDON = Reloader()
