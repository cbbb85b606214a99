"""Tempo: distributed tracing for the existing Grafana, as a single binary.

The Tempo chart moved from grafana/helm-charts (its last release there, 1.24.4, is marked
deprecated) to grafana-community/helm-charts in January 2026. Traces go to the object storage
contract (bucket `tempo`), or to a volume when the profile says `storage: filesystem`. Tempo
receives OTLP over gRPC and HTTP. The chart's default Jaeger receivers stay: the chart's
Service template reads `tempo.receivers.jaeger.protocols.*` without a guard, so removing them
(`jaeger: null`) makes `helm template` fail and Tempo never installs. They listen inside the
cluster only (ClusterIP).
Grafana gets a Tempo datasource that links traces to their logs in Loki.
"""

from __future__ import annotations

from typing import Any, Literal

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
from outfitter.addons.loki import DURATION, hours, s3_host
from outfitter.config import Profile

NAMESPACE = "observability"
RELEASE = "tempo"
QUERY_PORT = 3200
OTLP_GRPC_PORT = 4317
OTLP_HTTP_PORT = 4318
# The chart names its Service after the release (tempo.fullname), so the addresses follow
# where Tempo runs (Tempo.endpoints; an adopted Tempo's namespace and release).
DATASOURCE_UID = "tempo"
LOKI_DATASOURCE_UID = "loki"  # loki.py provisions the Loki datasource under this uid
BUCKET = "tempo"
CREDENTIALS_SECRET = "tempo-s3-credentials"
CHART = Chart("tempo", "2.2.4", "oci://ghcr.io/grafana-community/helm-charts/tempo")


class TempoOptions(AddonOptions):
    storage: Literal["s3", "filesystem"] = Field(
        "s3", description="s3: the object storage contract; filesystem: the volume")
    retention: str = Field(
        "7d", pattern=DURATION.pattern, description="how long traces are kept (e.g. 7d, 72h)")
    size: str = Field("10Gi", description="volume size (WAL; all traces with filesystem)")


def options(profile: Profile) -> TempoOptions:
    return options_of(profile, "tempo", TempoOptions)


class Tempo(Addon):
    name = "tempo"
    title = "Tempo"
    namespace = NAMESPACE
    stateful = True
    mesh = "enabled"
    priority = Priority.LOW
    roadmap_names = ("tempo",)
    roadmap_capabilities = ("tracing", "distributed tracing", "trace", "trace storage",
                            "tracing backend")
    depends_on = ("object-storage",)  # with storage: s3, the default (see requires)
    Options = TempoOptions
    chart = CHART
    release_name = RELEASE
    workloads = (Workload("tempo", "StatefulSet", "tempo.resources", replicas_path="replicas"),)
    documented_in_comments = {  # noqa: RUF012 (read-only class data)
        "tempo": ("tempo.storage.trace.s3", "persistence.storageClassName"),
    }

    def endpoints(self, profile: Profile) -> dict[str, str]:
        """`url` (query API), `otlp-grpc` (host:port) and `otlp-http`."""
        where = self.placement(profile)
        host = f"{where.fullname(CHART.name)}.{where.namespace}.svc"
        return {"url": f"http://{host}:{QUERY_PORT}", "otlp-grpc": f"{host}:{OTLP_GRPC_PORT}",
                "otlp-http": f"http://{host}:{OTLP_HTTP_PORT}"}

    def requires(self, profile: Profile) -> tuple[str, ...]:
        if options(profile).storage == "s3" and profile.addon_options("object-storage").enabled:
            return ("object-storage",)
        return ()

    def check_profile(self, profile: Profile) -> list[ProfileProblem]:
        if options(profile).storage == "s3" and not profile.addon_options(
                "object-storage").enabled:
            return [ProfileProblem(
                "storage", "Tempo with neither object storage nor a volume: storage is s3 but "
                           "addons.object-storage is disabled (enable it, or set storage: "
                           "filesystem)")]
        return []

    def buckets(self, ctx: Context) -> tuple[str, ...]:
        return (BUCKET,) if options(ctx.profile).storage == "s3" else ()

    def values(self, ctx: Context) -> dict[str, Any]:
        opts = options(ctx.profile)
        tempo: dict[str, Any] = {
            "resources": {"requests": {"cpu": "50m", "memory": "256Mi"},
                          "limits": {"cpu": "500m", "memory": "1Gi"}},
            "retention": f"{hours(opts.retention)}h",  # Go durations know no days
            "receivers": {
                # `jaeger` is left to the chart's defaults: see the module's docstring.
                "otlp": {"protocols": {
                    "grpc": {"endpoint": f"0.0.0.0:{OTLP_GRPC_PORT}"},
                    "http": {"endpoint": f"0.0.0.0:{OTLP_HTTP_PORT}"},
                }},
            },
        }
        if opts.storage == "s3":
            store = ctx.require_object_store()
            tempo["storage"] = {"trace": {
                "backend": "s3",
                "s3": {
                    "bucket": BUCKET,
                    "endpoint": s3_host(store.endpoint),
                    "region": store.region,
                    # Expanded by Tempo (-config.expand-env) from the ExternalSecret's Secret.
                    "access_key": "${AWS_ACCESS_KEY_ID}",
                    "secret_key": "${AWS_SECRET_ACCESS_KEY}",
                    "insecure": store.insecure,
                    "forcepathstyle": store.path_style,
                },
            }}
            tempo["extraArgs"] = {"config.expand-env": "true"}
            tempo["extraEnvFrom"] = [{"secretRef": {"name": CREDENTIALS_SECRET}}]
        values: dict[str, Any] = {
            "replicas": 1,
            "tempo": tempo,
            "persistence": {"enabled": True, "size": opts.size,
                            "storageClassName": ctx.profile.cluster.storage_class},
        }
        if ctx.monitoring:
            values["serviceMonitor"] = {"enabled": True,
                                        "additionalLabels": ctx.monitoring_labels}
        return values

    def resources(self, ctx: Context) -> Rendered:
        out = Rendered()
        if options(ctx.profile).storage == "s3":
            out.app.append(ctx.object_store_secret(
                CREDENTIALS_SECRET, self.namespace,
                template={"AWS_ACCESS_KEY_ID": "{{ .access_key_id }}",
                          "AWS_SECRET_ACCESS_KEY": "{{ .secret_access_key }}"}))
        if ctx.monitoring:
            out.app.append(ctx.grafana_datasource("tempo", self.datasource(ctx)))
        return out

    def datasource(self, ctx: Context) -> dict[str, Any]:
        json_data: dict[str, Any] = {"nodeGraph": {"enabled": True}}
        if ctx.renders("loki"):
            json_data["tracesToLogsV2"] = {
                "datasourceUid": LOKI_DATASOURCE_UID,
                "spanStartTimeShift": "-5m",
                "spanEndTimeShift": "5m",
                "filterByTraceID": True,
                "filterBySpanID": False,
                # Loki 3 labels every stream with service_name (OTLP: from service.name).
                "tags": [{"key": "service.name", "value": "service_name"}],
            }
            json_data["lokiSearch"] = {"datasourceUid": LOKI_DATASOURCE_UID}
        return {
            "name": "Tempo",
            "type": "tempo",
            "uid": DATASOURCE_UID,
            "access": "proxy",
            "url": ctx.endpoint(self.name, "url"),
            "isDefault": False,
            "editable": False,
            "jsonData": json_data,
        }

    def notes(self, ctx: Context) -> list[str]:
        opts = options(ctx.profile)
        notes = [
            f"Chart grafana-community/tempo {CHART.version} (Tempo 2.10): the Tempo chart moved "
            "to grafana-community/helm-charts in January 2026; grafana/helm-charts tempo is "
            "deprecated.",
        ]
        if opts.storage == "s3":
            notes.append(f"Single-binary Tempo; traces in bucket {BUCKET}, credentials from "
                         f"ExternalSecret {CREDENTIALS_SECRET}; WAL on a {opts.size} volume.")
        else:
            notes.append(f"Single-binary Tempo with traces on a {opts.size} volume "
                         f"({ctx.profile.cluster.storage_class}).")
        notes.append(f"Traces kept {opts.retention} (compactor block_retention).")
        via = (" — applications should send to the OpenTelemetry Collector instead"
               if ctx.enabled("otel-collector") else "")
        notes.append(f"OTLP receivers: gRPC {ctx.endpoint(self.name, 'otlp-grpc')}, HTTP "
                     f"{ctx.endpoint(self.name, 'otlp-http')}{via}.")
        if ctx.monitoring:
            links = " with trace-to-logs links to Loki" if ctx.renders("loki") else ""
            if ctx.enabled("loki") and not ctx.renders("loki"):
                links = (" without trace-to-logs links: Loki is adopted and its Grafana "
                         "datasource (its uid) is yours")
            notes.append(f"Grafana datasource uid {DATASOURCE_UID}{links}.")
        return notes


ADDON = Tempo()
