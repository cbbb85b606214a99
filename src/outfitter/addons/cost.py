"""Cost visibility: OpenCost (default) or Kubecost.

For a cluster that already runs Prometheus, OpenCost is the free cost engine: it reads the
metrics kube-prometheus-stack already collects (kube-state-metrics, node-exporter, cAdvisor)
and adds only a small exporter and its UI. Kubecost 3.x (the chart is now `kubecost`, no
longer `cost-analyzer`) does not use an existing Prometheus at all: it brings its own
collector (the FinOps agent), a ClickHouse-backed aggregator and local storage, so it costs
far more memory and disk. Both are offered; the plan says why OpenCost is the default.

The UI is only ever reachable through an authenticated route (ctx.ui_route: an IngressRoute
or an HTTPRoute).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field

from outfitter.addons.base import (
    Addon,
    AddonOptions,
    Chart,
    Priority,
    Rendered,
    Workload,
    options_of,
)
from outfitter.addons.context import Context
from outfitter.config import Profile

Engine = Literal["opencost", "kubecost"]

OPENCOST = Chart("opencost", "2.5.17", "oci://ghcr.io/opencost/charts/opencost")
KUBECOST = Chart("kubecost", "3.2.1", "https://kubecost.github.io/kubecost")
UI_PORT = 9090  # both charts serve their UI on 9090
# http://<service>.<namespace>.svc[.cluster.local]:<port> with no path: an in-cluster service
IN_CLUSTER = re.compile(
    r"^http://(?P<service>[a-z0-9-]+)\.(?P<namespace>[a-z0-9-]+)\.svc(\.cluster\.local)?"
    r":(?P<port>[0-9]+)/?$")


class CostOptions(AddonOptions):
    engine: Engine = Field(
        "opencost", description="opencost (free, uses the existing Prometheus) or kubecost "
                                "(3.x, brings its own collector and storage)")
    ui: bool = Field(True, description="expose the cost UI (Traefik or the gateway), behind "
                                       "basic auth")


def _options(profile: Profile) -> CostOptions:
    return options_of(profile, "cost", CostOptions)


def _container_security() -> dict[str, Any]:
    # A fresh dict each time: a shared one would be dumped as a YAML anchor and alias.
    return {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def _resources(cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> dict[str, Any]:
    return {"requests": {"cpu": cpu, "memory": memory},
            "limits": {"cpu": cpu_limit, "memory": memory_limit}}


def opencost_prometheus(url: str) -> dict[str, Any]:
    """`opencost.prometheus` values pointing at `url`: the chart's `internal` block for an
    in-cluster service (what kube-prometheus-stack is), `external` for anything else. The
    chart refuses both at once, and its internal default (prometheus-server in
    prometheus-system, port 80) never matches kube-prometheus-stack."""
    match = IN_CLUSTER.match(url)
    if match:
        return {
            "external": {"enabled": False},
            "internal": {"enabled": True, "serviceName": match["service"],
                         "namespaceName": match["namespace"], "port": int(match["port"])},
        }
    return {"external": {"enabled": True, "url": url}, "internal": {"enabled": False}}


class Cost(Addon):
    name = "cost"
    title = "Cost visibility (OpenCost / Kubecost)"
    namespace = "cost"
    mesh = "enabled"
    priority = Priority.LOW
    roadmap_names = ("kubecost", "opencost", "cost")
    roadmap_capabilities = ("cost", "cost analysis", "cost monitoring", "cost visibility",
                            "cost allocation", "cost reporting", "finops")
    Options = CostOptions

    def engine(self, profile: Profile) -> Engine:
        return _options(profile).engine

    def chart_for(self, ctx: Context) -> Chart | None:
        return OPENCOST if self.engine(ctx.profile) == "opencost" else KUBECOST

    def release_for(self, profile: Profile) -> str:
        # The engine's own name, so its Services keep the names its docs use
        # (`opencost`, `kubecost-frontend`).
        return self.engine(profile)

    def workloads_for(self, profile: Profile) -> tuple[Workload, ...]:
        if self.engine(profile) == "opencost":
            # One pod, two containers with their own resources blocks.
            return (
                Workload("opencost", "Deployment", "opencost.exporter.resources",
                         replicas_path="opencost.exporter.replicas"),
                Workload("opencost-ui", "Deployment", "opencost.ui.resources",
                         replicas_path="opencost.exporter.replicas",
                         enabled_path="opencost.ui.enabled"),
            )
        return (
            Workload("kubecost-frontend", "Deployment", "frontend.resources",
                     replicas_path="frontend.replicas", enabled_path="frontend.enabled"),
            Workload("kubecost-aggregator", "StatefulSet", "aggregator.resources",
                     replicas_path="aggregator.replicas", enabled_path="aggregator.enabled"),
            Workload("kubecost-local-store", "Deployment", "localStore.resources",
                     enabled_path="localStore.enabled"),
        )

    def values(self, ctx: Context) -> dict[str, Any]:
        if self.engine(ctx.profile) == "opencost":
            return self._opencost_values(ctx)
        return self._kubecost_values(ctx)

    def _opencost_values(self, ctx: Context) -> dict[str, Any]:
        opts = _options(ctx.profile)
        exporter: dict[str, Any] = {
            "defaultClusterId": ctx.profile.cluster.name,
            "replicas": 1,
            "resources": _resources("20m", "128Mi", "500m", "1Gi"),
            "securityContext": _container_security(),
        }
        values: dict[str, Any] = {
            "exporter": exporter,
            # The MCP server hands cost data to AI agents without authentication.
            "mcp": {"enabled": False},
            "metrics": {"serviceMonitor": {
                "enabled": ctx.monitoring, "additionalLabels": ctx.monitoring_labels}},
            "ui": {
                "enabled": opts.ui,
                "resources": _resources("10m", "32Mi", "100m", "128Mi"),
                "securityContext": _container_security(),
            },
        }
        if ctx.monitoring:
            values["prometheus"] = opencost_prometheus(ctx.profile.monitoring.prometheus_url)
        else:
            # No Prometheus to read: OpenCost's own collector gathers the cluster data.
            exporter["collectorDataSource"] = {"enabled": True}
        # Both images already run as user 1001 (the exporter and the nginx UI on port
        # 9090); the chart leaves the pod's security context empty, so say it.
        return {"podSecurityContext": {"runAsNonRoot": True,
                                       "seccompProfile": {"type": "RuntimeDefault"}},
                "opencost": values}

    def _kubecost_values(self, ctx: Context) -> dict[str, Any]:
        storage_class = ctx.profile.cluster.storage_class
        return {
            "global": {
                "clusterId": ctx.profile.cluster.name,
                "defaultStorageClass": storage_class,
            },
            "telemetry": {"enabled": False},
            "frontend": {
                "enabled": True,
                "replicas": 1,
                "resources": _resources("10m", "64Mi", "200m", "256Mi"),
            },
            "localStore": {
                "enabled": True,
                "resources": _resources("50m", "256Mi", "500m", "1Gi"),
                "persistentVolume": {"size": "8Gi", "storageClass": storage_class},
            },
            "aggregator": {
                "enabled": True,
                "replicas": 1,
                # The chart asks 3Gi with no limit, sized for a business's clusters; a
                # homelab's few hundred pods fit well below.
                "resources": _resources("100m", "1Gi", "1", "3Gi"),
                "aggregatorDbStorage": {"storageClass": storage_class, "storageRequest": "32Gi"},
                "persistentConfigsStorage": {"storageClass": storage_class},
                "serviceMonitor": {"enabled": ctx.monitoring,
                                   "additionalLabels": ctx.monitoring_labels},
            },
            # Not for a homelab: cloud billing (no cloud bill), forecasting, network costs
            # (a host-network DaemonSet that needs cloud region/zone node labels) and the
            # cluster controller (it resizes and turns down workloads).
            # The finops agent mounts `<release>-cloudability-secrets` whenever
            # cloudability.secret.create is on (the default) but the chart creates that
            # Secret only with Cloudability enabled: the pod could never start.
            "finopsagent": {"agent": {"cloudability": {"secret": {"create": False}}}},
            "cloudCost": {"enabled": False},
            "forecasting": {"enabled": False},
            "networkCosts": {"enabled": False},
            "clusterController": {"enabled": False},
        }

    def resources(self, ctx: Context) -> Rendered:
        out = Rendered()
        if not _options(ctx.profile).ui:
            return out
        engine = self.engine(ctx.profile)
        service = "opencost" if engine == "opencost" else "kubecost-frontend"
        out.app.extend(ctx.ui_route(engine, self.namespace, service, UI_PORT))
        return out

    def notes(self, ctx: Context) -> list[str]:
        opts = _options(ctx.profile)
        url = ctx.profile.monitoring.prometheus_url
        if opts.engine == "opencost" and not ctx.monitoring:
            notes = [
                "OpenCost without kube-prometheus-stack: its built-in collector gathers the "
                "cluster data instead of Prometheus; the history it keeps is lost when the pod "
                "restarts. With kube-prometheus-stack in existing it reads Prometheus instead.",
            ]
        elif opts.engine == "opencost":
            notes = [
                f"OpenCost, the free cost engine: it reads the existing Prometheus at {url} "
                "(kube-state-metrics, node-exporter, cAdvisor) and adds one small pod; its "
                "ServiceMonitor lets that Prometheus scrape the prices OpenCost computes.",
                "Kubecost (engine: kubecost) is the alternative: Kubecost 3.x does not use an "
                "existing Prometheus; it bundles its own collector, aggregator database and "
                "storage, at several times the memory.",
            ]
        else:
            notes = [
                "Kubecost 3.x bundles its own collector (FinOps agent), a ClickHouse-backed "
                "aggregator and local storage; it does not use the existing Prometheus. "
                "OpenCost (engine: opencost) is the free engine that does, at a fraction "
                "of the memory.",
                "Kubecost's FinOps agent is a subchart whose resources outfitter does not set "
                "(its defaults: requests 500m CPU / 512Mi, limits 2 CPU / 2Gi); the budget "
                "above does not count it.",
                "Turned off for a homelab: cloud billing, forecasting, network costs, cluster "
                "controller, telemetry.",
            ]
        if opts.ui:
            notes.append(f"UI at https://{ctx.host(opts.engine)} behind basic auth "
                         f"(secret store item '{opts.engine}-basic-auth', property htpasswd).")
        return notes


ADDON = Cost()
