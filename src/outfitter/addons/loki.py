"""Loki: log aggregation for the existing Grafana, in monolithic mode (one pod).

The open-source chart moved to grafana-community/helm-charts in March 2026 (`loki` 18.x, where
single-binary mode is now called `Monolithic`); the grafana/loki chart is maintained for
Grafana Enterprise Logs only. Chunks and ruler data go to the object storage contract, or to
a volume when the profile says `storage: filesystem`. Retention comes from the profile and is
applied by the compactor.

Who ships the logs is the profile's choice (`shipper`): Grafana Alloy, the replacement for
Promtail (which reached end of life on 2026-03-02), or the Fluent Bit the cluster already
runs. The shipper is its own add-on (`log_shipper.py`) because it is its own Helm release
with its own budget and its own failure; this module holds the choice and its checks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Literal

from pydantic import Field

from outfitter.addons.base import (
    Addon,
    AddonOptions,
    Chart,
    Placement,
    Priority,
    ProfileProblem,
    Rendered,
    Workload,
    options_of,
)
from outfitter.addons.context import Context
from outfitter.cluster.reader import ClusterReader
from outfitter.config import Profile
from outfitter.status import kinds
from outfitter.status.checks import Check, Read, Result, is_ready, items

NAMESPACE = "observability"
RELEASE = "loki"
HTTP_PORT = 3100
# Monolithic mode: the chart names the Service after the release (loki.fullname), so the
# addresses follow where Loki runs (Loki.endpoints; an adopted Loki's namespace and release).
DATASOURCE_UID = "loki"
TEMPO_DATASOURCE_UID = "tempo"  # tempo.py provisions the Tempo datasource under this uid
CHUNKS_BUCKET = "loki-chunks"
RULER_BUCKET = "loki-ruler"
CREDENTIALS_SECRET = "loki-s3-credentials"
PROMTAIL_EOL = "2026-03-02"
CHART = Chart("loki", "18.11.0", "oci://ghcr.io/grafana-community/helm-charts/loki")

Shipper = Literal["alloy", "fluent-bit", "promtail"]
Storage = Literal["s3", "filesystem"]
DURATION = re.compile(r"^(?P<n>[0-9]+)(?P<unit>[hd])$")


class LokiOptions(AddonOptions):
    storage: Storage = Field(
        "s3", description="s3: the object storage contract; filesystem: a volume (one replica)")
    retention: str = Field(
        "30d", pattern=DURATION.pattern,
        description="how long logs are kept, in whole days (e.g. 30d or 720h)")
    shipper: Shipper = Field(
        "alloy", description="alloy (Grafana Alloy DaemonSet) or fluent-bit (the cluster's "
                             "Fluent Bit gets a Loki output); promtail is end of life")
    size: str | None = Field(
        None, description="volume size; default 10Gi with object storage (WAL, index cache), "
                          "50Gi with filesystem storage (all logs)")
    fluent_bit_namespace: str = Field(
        "logging", alias="fluentBitNamespace",
        description="namespace of the cluster's Fluent Bit HelmRelease (shipper: fluent-bit)")
    fluent_bit_match: str = Field(
        "kube.*", alias="fluentBitMatch",
        description="Fluent Bit tag pattern of the container logs (shipper: fluent-bit)")


def endpoints(where: Placement) -> dict[str, str]:
    """`url` (query API), `push` and `otlp`, and `host` and `port` for a shipper that takes
    them apart."""
    host = f"{where.fullname(CHART.name)}.{where.namespace}.svc"
    url = f"http://{host}:{HTTP_PORT}"
    return {"url": url, "push": f"{url}/loki/api/v1/push", "otlp": f"{url}/otlp",
            "host": host, "port": str(HTTP_PORT)}


def options(profile: Profile) -> LokiOptions:
    return options_of(profile, "loki", LokiOptions)


def hours(duration: str) -> int:
    """A validated `<n>h`/`<n>d` duration in hours."""
    match = DURATION.match(duration)
    assert match is not None, duration
    n = int(match["n"])
    return n * 24 if match["unit"] == "d" else n


def s3_host(endpoint: str) -> str:
    """host[:port] of an S3 endpoint URL: Loki's and Tempo's S3 clients take the scheme from
    their `insecure` flag instead."""
    return endpoint.split("://", 1)[-1].rstrip("/")


def volume_size(opts: LokiOptions) -> str:
    return opts.size or ("10Gi" if opts.storage == "s3" else "50Gi")


def _logs_dashboard() -> str:
    """A small logs dashboard: volume and errors per namespace, and the lines themselves."""
    ds = {"type": "loki", "uid": DATASOURCE_UID}
    selector = '{namespace=~"$namespace", pod=~"$pod"}'

    def variable(name: str, query: str, all_value: str) -> dict[str, Any]:
        return {
            "name": name, "label": name.capitalize(), "type": "query", "datasource": ds,
            "query": query, "refresh": 2, "includeAll": True, "multi": True,
            "allValue": all_value, "current": {"text": "All", "value": "$__all"},
            "sort": 1,
        }

    def timeseries(panel_id: int, title: str, expr: str, x: int) -> dict[str, Any]:
        return {
            "id": panel_id, "type": "timeseries", "title": title, "datasource": ds,
            "gridPos": {"h": 8, "w": 12, "x": x, "y": 0},
            "fieldConfig": {"defaults": {"custom": {"drawStyle": "bars", "fillOpacity": 60,
                                                    "stacking": {"mode": "normal"}}},
                            "overrides": []},
            "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
            "targets": [{"refId": "A", "datasource": ds, "expr": expr,
                         "legendFormat": "{{namespace}}", "queryType": "range"}],
        }

    dashboard = {
        "uid": "outfitter-logs",
        "title": "Logs",
        "tags": ["outfitter", "loki", "logs"],
        "editable": True,
        "schemaVersion": 39,
        "version": 1,
        "time": {"from": "now-1h", "to": "now"},
        "refresh": "1m",
        "templating": {"list": [
            variable("namespace", "label_values(namespace)", ".+"),
            variable("pod", 'label_values({namespace=~"$namespace"}, pod)', ".*"),
            {"name": "search", "label": "Search", "type": "textbox", "query": "",
             "current": {"text": "", "value": ""}},
        ]},
        "panels": [
            timeseries(1, "Log lines per namespace",
                       f'sum by (namespace) (count_over_time({selector} |~ "$search" '
                       "[$__interval]))", 0),
            timeseries(2, "Error lines per namespace",
                       f"sum by (namespace) (count_over_time({selector} "
                       '|~ "(?i)(error|fatal|panic|exception)" [$__interval]))', 12),
            {
                "id": 3, "type": "logs", "title": "Logs", "datasource": ds,
                "gridPos": {"h": 18, "w": 24, "x": 0, "y": 8},
                "options": {"showTime": True, "wrapLogMessage": True, "sortOrder": "Descending",
                            "enableLogDetails": True, "dedupStrategy": "none"},
                "targets": [{"refId": "A", "datasource": ds, "queryType": "range",
                             "expr": f'{selector} |~ "$search"'}],
            },
        ],
    }
    return json.dumps(dashboard, indent=2) + "\n"


class Loki(Addon):
    name = "loki"
    title = "Loki"
    namespace = NAMESPACE
    stateful = True
    mesh = "enabled"
    priority = Priority.MEDIUM
    roadmap_names = ("loki",)
    roadmap_aliases = ("grafana loki",)
    roadmap_capabilities = ("log aggregation", "logging", "centralized logging",
                            "centralised logging", "centralized logs", "centralised logs",
                            "log management", "log storage", "log search")
    depends_on = ("object-storage",)  # with storage: s3, the default (see requires)
    Options = LokiOptions
    chart = CHART
    release_name = RELEASE
    workloads = (
        Workload("loki", "StatefulSet", "singleBinary.resources",
                 replicas_path="singleBinary.replicas"),
    )
    documented_in_comments = {  # noqa: RUF012 (read-only class data)
        "loki": ("loki.storage.bucketNames", "loki.rulerConfig.storage"),
    }

    def endpoints(self, profile: Profile) -> dict[str, str]:
        return endpoints(self.placement(profile))

    def requires(self, profile: Profile) -> tuple[str, ...]:
        # With object storage disabled, check_profile says what is wrong in Loki's own words.
        if options(profile).storage == "s3" and profile.addon_options("object-storage").enabled:
            return ("object-storage",)
        return ()

    def check_profile(self, profile: Profile) -> list[ProfileProblem]:
        opts = options(profile)
        problems = []
        if opts.storage == "s3" and not profile.addon_options("object-storage").enabled:
            problems.append(ProfileProblem(
                "storage", "Loki with neither object storage nor a volume: storage is s3 but "
                           "addons.object-storage is disabled (enable it, or set storage: "
                           "filesystem for a single Loki on a volume)"))
        if DURATION.match(opts.retention) and hours(opts.retention) % 24:
            problems.append(ProfileProblem(
                "retention", "Loki applies retention per day of index: use whole days "
                             "(e.g. 30d or 720h)"))
        if opts.shipper == "promtail":
            problems.append(ProfileProblem(
                "shipper", f"Promtail reached end of life on {PROMTAIL_EOL} and its chart is "
                           "deprecated; use alloy (Grafana Alloy, its replacement) or "
                           "fluent-bit (the Fluent Bit the cluster already runs)"))
        if opts.shipper == "fluent-bit" and not profile.has("fluent-bit"):
            problems.append(ProfileProblem(
                "shipper", "fluent-bit adds a Loki output to the cluster's Fluent Bit, but "
                           "fluent-bit is not in existing; use alloy or list fluent-bit there"))
        return problems

    def buckets(self, ctx: Context) -> tuple[str, ...]:
        if options(ctx.profile).storage == "s3":
            return (CHUNKS_BUCKET, RULER_BUCKET)
        return ()

    def values(self, ctx: Context) -> dict[str, Any]:
        opts = options(ctx.profile)
        s3 = opts.storage == "s3"
        store_name = "s3" if s3 else "filesystem"
        loki: dict[str, Any] = {
            # One tenant: no X-Scope-OrgID needed from shippers, Grafana or the collector.
            "auth_enabled": False,
            "commonConfig": {"replication_factor": 1},
            "schemaConfig": {"configs": [{
                "from": "2024-04-01",
                "store": "tsdb",
                "object_store": store_name,
                "schema": "v13",
                "index": {"prefix": "loki_index_", "period": "24h"},
            }]},
            "compactor": {
                "working_directory": "/var/loki/compactor",
                "retention_enabled": True,
                "retention_delete_delay": "2h",
                "delete_request_store": store_name,
            },
            # The chart merges structuredConfig over its templated config, so this only adds
            # the retention to the chart's limits_config defaults.
            "structuredConfig": {"limits_config": {
                "retention_period": f"{hours(opts.retention)}h"}},
        }
        if s3:
            store = ctx.require_object_store()
            loki["storage"] = {
                "type": "s3",
                "bucketNames": {"chunks": CHUNKS_BUCKET, "ruler": RULER_BUCKET},
                "s3": {
                    "endpoint": s3_host(store.endpoint),
                    "region": store.region,
                    # Expanded by Loki (-config.expand-env) from the ExternalSecret's Secret.
                    "accessKeyId": "${AWS_ACCESS_KEY_ID}",
                    "secretAccessKey": "${AWS_SECRET_ACCESS_KEY}",
                    "s3ForcePathStyle": store.path_style,
                    "insecure": store.insecure,
                },
            }
        else:
            loki["storage"] = {"type": "filesystem"}
            loki["rulerConfig"] = {"storage": {
                "type": "local", "local": {"directory": "/var/loki/rules"}}}

        single: dict[str, Any] = {
            "replicas": 1,
            "resources": {"requests": {"cpu": "100m", "memory": "512Mi"},
                          "limits": {"cpu": "1", "memory": "2Gi"}},
            "persistence": {"enabled": True, "size": volume_size(opts),
                            "storageClass": ctx.profile.cluster.storage_class},
            # The rules sidecar watches ConfigMaps for Loki rules; nothing here uses it.
            "sidecar": False,
        }
        if s3:
            # The chart always passes -config.expand-env=true: the credentials only need to
            # be in the environment.
            single["extraEnvFrom"] = [{"secretRef": {"name": CREDENTIALS_SECRET}}]

        values: dict[str, Any] = {
            "deploymentMode": "Monolithic",
            "loki": loki,
            "singleBinary": single,
            # Monolithic only: the chart refuses replicas in both monolithic and scalable
            # targets, and the scalable ones default to 3.
            "write": {"replicas": 0},
            "read": {"replicas": 0},
            "backend": {"replicas": 0},
            # Not for a homelab: the nginx gateway (Loki is reached directly), the memcached
            # chunk and result caches (8 GiB and 1 GiB by default), the canary DaemonSet and
            # the Helm test that needs it, and the deprecated bundled MinIO.
            "gateway": {"enabled": False},
            "chunksCache": {"enabled": False},
            "resultsCache": {"enabled": False},
            "lokiCanary": {"enabled": False},
            "test": {"enabled": False},
            "minio": {"enabled": False},
            "sidecar": {"rules": {"enabled": False}},
        }
        if ctx.monitoring:
            labels = ctx.monitoring_labels
            values["monitoring"] = {
                "serviceMonitor": {"enabled": True, "labels": labels},
                # Upstream's Loki mixin alerts; its latency alert reads the recording rules.
                "rules": {"enabled": True, "labels": labels},
                "alerts": {"enabled": True, "labels": labels},
            }
        return values

    def resources(self, ctx: Context) -> Rendered:
        opts = options(ctx.profile)
        out = Rendered()
        if opts.storage == "s3":
            out.app.append(ctx.object_store_secret(
                CREDENTIALS_SECRET, self.namespace,
                template={"AWS_ACCESS_KEY_ID": "{{ .access_key_id }}",
                          "AWS_SECRET_ACCESS_KEY": "{{ .secret_access_key }}"}))
        if ctx.monitoring:
            out.app.append(ctx.grafana_datasource("loki", self.datasource(ctx)))
            out.app.append(ctx.grafana_dashboard("logs", self.namespace, _logs_dashboard()))
        return out

    def datasource(self, ctx: Context) -> dict[str, Any]:
        json_data: dict[str, Any] = {"maxLines": 1000, "timeout": 300}
        if ctx.renders("tempo"):
            # `$$` is a literal `$` in a provisioning file (Grafana expands $VARS there).
            json_data["derivedFields"] = [
                {"name": "TraceID", "datasourceUid": TEMPO_DATASOURCE_UID,
                 "matcherRegex": r"(?:traceID|traceId|trace_id)\W+([0-9a-fA-F]{16,32})",
                 "url": "$${__value.raw}", "urlDisplayLabel": "View trace"},
                # OTLP logs carry the trace id as structured metadata.
                {"name": "trace_id", "datasourceUid": TEMPO_DATASOURCE_UID,
                 "matcherType": "label", "matcherRegex": "trace_id",
                 "url": "$${__value.raw}", "urlDisplayLabel": "View trace"},
            ]
        return {
            "name": "Loki",
            "type": "loki",
            "uid": DATASOURCE_UID,
            "access": "proxy",
            "url": ctx.endpoint(self.name, "url"),
            "isDefault": False,
            "editable": False,
            "jsonData": json_data,
        }

    def checks(self, ctx: Context) -> list[Check]:
        opts = options(ctx.profile)
        grafana_ns = ctx.profile.monitoring.namespace
        datasources, dashboards = Read(kinds.CONFIGMAPS, grafana_ns), Read(kinds.CONFIGMAPS,
                                                                              self.namespace)
        releases, daemonsets, nodes = (Read(kinds.HELMRELEASES, self.namespace),
                                       Read(kinds.DAEMONSETS), Read(kinds.NODES))

        def labelled(read: Read, name: str, label: str, what: str
                     ) -> Callable[[ClusterReader], Result]:
            def decide(reader: ClusterReader) -> Result:
                found = next((c for c in items(reader, read) if c["metadata"]["name"] == name),
                             None)
                if found is None:
                    return Result("fail", f"no ConfigMap {read.namespace}/{name}",
                                  "commit the rendered loki app folder")
                if (found["metadata"].get("labels") or {}).get(label) != "1":
                    return Result("fail", f"{read.namespace}/{name} lacks label {label}=1",
                                  "Grafana's sidecar only loads labelled ConfigMaps")
                return Result("pass", f"{what} {read.namespace}/{name} present for Grafana")
            return decide

        def shipping(reader: ClusterReader) -> Result:
            loki = next((r for r in items(reader, releases)
                         if r["metadata"]["name"] == self.name), None)
            if loki is None or not is_ready(loki):
                return Result("fail", "Loki's HelmRelease is not Ready")
            if opts.shipper == "alloy":
                mine = [d for d in items(reader, daemonsets)
                        if d["metadata"].get("namespace") == self.namespace
                        and "alloy" in d["metadata"]["name"]]
            else:
                mine = [d for d in items(reader, daemonsets)
                        if d["metadata"].get("namespace") == opts.fluent_bit_namespace
                        and "fluent-bit" in d["metadata"]["name"]]
            if not mine:
                return Result("fail", f"no {opts.shipper} DaemonSet found")
            count = len(items(reader, nodes))
            status = mine[0].get("status") or {}
            ready = status.get("numberReady", 0)
            evidence = f"{opts.shipper} ready on {ready} of {count} nodes"
            return Result("pass" if ready >= count else "fail", evidence)

        return [
            # Before the generic install check: the roadmap's "Install Loki + Promtail"
            # means Loki and a shipper (Promtail itself is end of life).
            Check("loki.shipper", "Loki and its shipper on every node",
                  (releases, daemonsets, nodes), shipping, roadmap=("promtail", "shipper")),
            Check("loki.datasource", "Grafana datasource", (datasources,),
                  labelled(datasources, "loki-datasource", "grafana_datasource", "datasource"),
                  roadmap=("datasource",)),
            Check("loki.dashboards", "Log dashboards", (dashboards,),
                  labelled(dashboards, "logs-dashboard", "grafana_dashboard", "dashboard"),
                  roadmap=("dashboard",)),
        ]

    def notes(self, ctx: Context) -> list[str]:
        opts = options(ctx.profile)
        notes = [
            f"Chart grafana-community/loki {CHART.version} (Loki 3.7): the "
            "open-source Loki chart moved to grafana-community/helm-charts in March 2026; "
            "the grafana/loki chart is now for Grafana Enterprise Logs only.",
        ]
        if opts.storage == "s3":
            store = ctx.object_store
            where = f" at {store.endpoint}" if store else ""
            notes.append(
                f"Monolithic Loki (one pod); chunks and rules in buckets {CHUNKS_BUCKET} and "
                f"{RULER_BUCKET}{where}, credentials from ExternalSecret {CREDENTIALS_SECRET}; "
                f"a {volume_size(opts)} volume holds the WAL and index cache.")
        else:
            notes.append(
                f"Monolithic Loki (one pod) on a {volume_size(opts)} volume "
                f"({ctx.profile.cluster.storage_class}): filesystem storage allows one replica "
                "only and is not in the object storage backups.")
        notes.append(f"Logs kept {opts.retention} (limits_config.retention_period, deleted by "
                     "the compactor).")
        if not ctx.enabled("log-shipper"):
            notes.append(
                f"No log shipper: addons.log-shipper is disabled, so nothing sends the "
                f"cluster's logs to Loki. Enable it to ship with {opts.shipper}.")
        elif opts.shipper == "alloy":
            notes.append(
                f"Logs shipped by Grafana Alloy (add-on log-shipper): Promtail, which the "
                f"roadmap names, reached end of life on {PROMTAIL_EOL}. shipper: fluent-bit "
                "would reuse the cluster's Fluent Bit instead (no new agent, one edit to its "
                "HelmRelease).")
        elif opts.shipper == "fluent-bit":
            notes.append(
                "Logs shipped by the cluster's Fluent Bit (see log-shipper): no new agent. "
                "shipper: alloy would add a Grafana Alloy DaemonSet that outfitter manages "
                "end to end.")
        notes.append(
            "Turned off for a homelab: the nginx gateway, the memcached chunk and result "
            "caches, the canary and Helm test, the bundled MinIO.")
        if ctx.monitoring:
            links = " with trace links to Tempo" if ctx.renders("tempo") else ""
            if ctx.enabled("tempo") and not ctx.renders("tempo"):
                links = (" without trace links: Tempo is adopted and its Grafana datasource "
                         "(its uid) is yours")
            notes.append(f"Grafana datasource uid {DATASOURCE_UID}{links}; dashboard 'Logs'.")
        notes.append(f"Push: {ctx.endpoint(self.name, 'push')}; OTLP: "
                     f"{ctx.endpoint(self.name, 'otlp')}. Graylog keeps running until the "
                     "evaluation against it is done.")
        return notes


ADDON = Loki()
