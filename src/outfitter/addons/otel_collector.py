"""OpenTelemetry Collector: one gateway (a Deployment) that receives OTLP from the cluster's
applications and sends each signal to the backend the platform has for it:

- traces to Tempo's distributor (OTLP gRPC),
- logs to Loki's OTLP endpoint (`/otlp`, OTLP over HTTP),
- metrics to the existing Prometheus by remote write.

A pipeline exists only for a backend that is there. Metrics use remote write rather than a
`prometheus` exporter scraped by a ServiceMonitor: pushed samples keep the applications' own
timestamps, nothing is held in the collector between scrapes, and the chart's port list
(which outfitter keeps to the chart's own keys) needs no extra scrape port. The price is one
flag in the user's kube-prometheus-stack (`enableRemoteWriteReceiver`), which outfitter does
not own; the plan says so, and an alert fires while deliveries fail.

The collector's configuration is written whole (`alternateConfig`) instead of being merged
into the chart's default one, which would otherwise keep its Jaeger, Zipkin and self-scraping
receivers and a debug exporter in every pipeline, removable only with nulls.
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
from outfitter.addons.context import Context
from outfitter.config import Profile
from outfitter.helm.checks import MetricCatalogue

NAMESPACE = "observability"
FULLNAME = "otel-collector"
# The contrib distribution: prometheusremotewrite is not in the core one.
IMAGE = "otel/opentelemetry-collector-contrib"
OTLP_GRPC_PORT = 4317
OTLP_HTTP_PORT = 4318
METRICS_PORT = 8888
POD_IP = "${env:MY_POD_IP}"
CHART = Chart("opentelemetry-collector", "0.170.0",
              "oci://ghcr.io/open-telemetry/opentelemetry-helm-charts/opentelemetry-collector")


class OtelCollectorOptions(AddonOptions):
    metrics: bool = Field(
        True, description="forward OTLP metrics to Prometheus (monitoring.prometheusURL) by "
                          "remote write; needs enableRemoteWriteReceiver in kube-prometheus-stack")


def options(profile: Profile) -> OtelCollectorOptions:
    return options_of(profile, "otel-collector", OtelCollectorOptions)


def remote_write_url(profile: Profile) -> str:
    return profile.monitoring.prometheus_url.rstrip("/") + "/api/v1/write"


class OtelCollector(Addon):
    name = "otel-collector"
    # What the component exports (from its source, at the pinned version): the names the
    # PrometheusRules may use.
    metrics = MetricCatalogue(
        "the OpenTelemetry Collector", ("otelcol_exporter_", "otelcol_receiver_",), frozenset({
        "otelcol_exporter_send_failed_spans_total",
        "otelcol_exporter_send_failed_log_records_total",
        "otelcol_exporter_send_failed_metric_points_total",
        "otelcol_exporter_sent_spans_total",
        "otelcol_exporter_sent_log_records_total",
        "otelcol_exporter_sent_metric_points_total",
        "otelcol_exporter_queue_size",
        "otelcol_exporter_queue_capacity",
        "otelcol_exporter_enqueue_failed_spans_total",
        "otelcol_exporter_enqueue_failed_log_records_total",
        "otelcol_exporter_enqueue_failed_metric_points_total",
        "otelcol_receiver_accepted_spans_total",
        "otelcol_receiver_refused_spans_total",
        "otelcol_receiver_accepted_log_records_total",
        "otelcol_receiver_refused_log_records_total",
        "otelcol_receiver_accepted_metric_points_total",
        "otelcol_receiver_refused_metric_points_total",
    }))
    title = "OpenTelemetry Collector"
    namespace = NAMESPACE
    mesh = "enabled"
    priority = Priority.LOW
    roadmap_names = ("opentelemetry collector", "otel collector", "opentelemetry")
    roadmap_aliases = ("otel", "otelcol")
    roadmap_capabilities = ("telemetry", "telemetry collection", "telemetry pipeline", "otlp")
    after = ("loki", "tempo")
    Options = OtelCollectorOptions
    chart = CHART
    release_name = FULLNAME
    workloads = (
        Workload("otel-collector", "Deployment", "resources", replicas_path="replicaCount"),
    )

    def signals(self, profile: Profile) -> dict[str, bool]:
        """Which pipelines the collector runs: one per backend that is there."""
        return {
            "traces": profile.addon_options("tempo").enabled,
            "logs": profile.addon_options("loki").enabled,
            "metrics": options(profile).metrics,
        }

    def check_profile(self, profile: Profile) -> list[ProfileProblem]:
        if not any(self.signals(profile).values()):
            return [ProfileProblem(
                "", "the collector would have nowhere to send anything: enable loki or tempo, "
                    "or set metrics: true")]
        return []

    def config(self, ctx: Context) -> dict[str, Any]:
        """The collector's whole configuration."""
        signals = self.signals(ctx.profile)
        exporters: dict[str, Any] = {}
        pipelines: dict[str, Any] = {}
        processors = ["memory_limiter", "batch"]
        if signals["traces"]:
            exporters["otlp/tempo"] = {"endpoint": ctx.endpoint("tempo", "otlp-grpc"),
                                       "tls": {"insecure": True}}
            pipelines["traces"] = {"receivers": ["otlp"], "processors": processors,
                                   "exporters": ["otlp/tempo"]}
        if signals["logs"]:
            exporters["otlphttp/loki"] = {"endpoint": ctx.endpoint("loki", "otlp")}
            pipelines["logs"] = {"receivers": ["otlp"], "processors": processors,
                                 "exporters": ["otlphttp/loki"]}
        if signals["metrics"]:
            exporters["prometheusremotewrite"] = {"endpoint": remote_write_url(ctx.profile)}
            pipelines["metrics"] = {"receivers": ["otlp"], "processors": processors,
                                    "exporters": ["prometheusremotewrite"]}
        return {
            # The chart's probes need health_check.
            "extensions": {"health_check": {"endpoint": f"{POD_IP}:13133"}},
            "receivers": {"otlp": {"protocols": {
                "grpc": {"endpoint": f"{POD_IP}:{OTLP_GRPC_PORT}"},
                "http": {"endpoint": f"{POD_IP}:{OTLP_HTTP_PORT}"},
            }}},
            "processors": {
                # Refuse data before the container's memory limit is reached (percentages of
                # the limit), then batch what is accepted.
                "memory_limiter": {"check_interval": "5s", "limit_percentage": 80,
                                   "spike_limit_percentage": 25},
                "batch": {},
            },
            "exporters": exporters,
            "service": {
                "extensions": ["health_check"],
                "telemetry": {"metrics": {"readers": [{"pull": {"exporter": {"prometheus": {
                    "host": POD_IP, "port": METRICS_PORT}}}}]}},
                "pipelines": pipelines,
            },
        }

    def values(self, ctx: Context) -> dict[str, Any]:
        values: dict[str, Any] = {
            "mode": "deployment",
            "fullnameOverride": FULLNAME,
            "replicaCount": 1,
            "image": {"repository": IMAGE},
            "command": {"name": "otelcol-contrib"},
            "resources": {"requests": {"cpu": "50m", "memory": "128Mi"},
                          "limits": {"cpu": "500m", "memory": "512Mi"}},
            "ports": {
                "jaeger-compact": {"enabled": False},
                "jaeger-thrift": {"enabled": False},
                "jaeger-grpc": {"enabled": False},
                "zipkin": {"enabled": False},
                "metrics": {"enabled": True},
            },
            "alternateConfig": self.config(ctx),
        }
        if ctx.monitoring:
            values["serviceMonitor"] = {"enabled": True, "extraLabels": ctx.monitoring_labels}
        return values

    def resources(self, ctx: Context) -> Rendered:
        out = Rendered()
        if ctx.monitoring:
            out.app.append(ctx.prometheus_rule("otel-collector", self.namespace, [ctx.alert(
                "OtelCollectorExportFailing",
                "sum by (exporter) ("
                "rate(otelcol_exporter_send_failed_spans_total[5m])"
                " or rate(otelcol_exporter_send_failed_log_records_total[5m])"
                " or rate(otelcol_exporter_send_failed_metric_points_total[5m])) > 0",
                "15m", "warning",
                "OpenTelemetry Collector exporter {{ $labels.exporter }} cannot deliver "
                "(for prometheusremotewrite: is enableRemoteWriteReceiver on?)")]))
        return out

    def notes(self, ctx: Context) -> list[str]:
        signals = self.signals(ctx.profile)
        service = f"{FULLNAME}.{NAMESPACE}.svc"
        routes = []
        if signals["traces"]:
            routes.append(f"traces → Tempo ({ctx.endpoint('tempo', 'otlp-grpc')})")
        if signals["logs"]:
            routes.append(f"logs → Loki ({ctx.endpoint('loki', 'otlp')})")
        if signals["metrics"]:
            routes.append(f"metrics → Prometheus ({remote_write_url(ctx.profile)})")
        notes = [
            f"Gateway collector ({IMAGE}, one replica) at {service}: OTLP gRPC "
            f"{OTLP_GRPC_PORT}, HTTP {OTLP_HTTP_PORT}. Applications set "
            f"OTEL_EXPORTER_OTLP_ENDPOINT=http://{service}:{OTLP_HTTP_PORT}.",
            "Pipelines (memory_limiter, batch): " + "; ".join(routes) + ".",
        ]
        if signals["metrics"]:
            notes.append(
                "Prometheus must accept remote write: set "
                "prometheus.prometheusSpec.enableRemoteWriteReceiver: true in the "
                "kube-prometheus-stack values (outfitter does not edit that release). Remote "
                "write was chosen over a scraped prometheus exporter: samples keep their own "
                "timestamps and need no extra scrape port.")
        return notes


ADDON = OtelCollector()
