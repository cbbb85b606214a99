"""Loki against the Graylog the cluster runs: measured cost on one side, estimate on the other.

The cluster's Prometheus says what Graylog, OpenSearch and MongoDB use over a window (CPU,
working-set memory, volume bytes, from cAdvisor and kubelet metrics that kube-prometheus-stack
scrapes) and what the log shipper sends to Graylog (Fluent Bit's output byte counters). From
that ingest rate and the retention Loki would keep, a small model estimates monolithic Loki:
every constant of the model is listed with the result, so a reader can see what the
recommendation rests on and redo it with their own numbers.

Prometheus is reached by URL, or through the API server's service proxy with the kubeconfig's
credentials (`/api/v1/namespaces/<ns>/services/<name>:<port>/proxy/…`), which needs no
port-forward.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from outfitter.config import Profile
from outfitter.errors import InputError

GIB = 1024**3
MIB = 1024**2
DAY = 86400
DURATION = re.compile(r"^[0-9]+[smhdwy]$")
COMPONENTS = ("graylog", "opensearch", "mongodb")
DEFAULT_PODS = {
    "graylog": r"graylog-[0-9]+|graylog-[a-z0-9]+-[a-z0-9]{5}",
    "opensearch": r"opensearch.*|graylog-datanode.*",
    "mongodb": r"mongo.*",
}
DEFAULT_NAMESPACES = "graylog|logging"
DEFAULT_OUTPUT = "gelf.*"
RETENTION_FALLBACK = "30d"

# --- the model ------------------------------------------------------------------------------
# Loki's documentation puts monolithic mode at "up to approximately 20GB per day".
MONOLITHIC_CEILING = 20e9
COMPRESSION = 5.0
"""Raw log bytes per stored chunk byte: snappy on typical text logs (measure after a week with
loki_ingester_chunk_size_bytes / loki_ingester_chunk_utilization)."""
INDEX_OVERHEAD = 0.05
"""TSDB index and metadata beside the chunks, as a share of chunk bytes (generous)."""
BASE_MEMORY = 256 * MIB
"""An idle monolithic Loki (all targets in one process)."""
INGESTER_HOLD = 2 * 3600
"""Seconds of compressed logs the ingester holds before a flush (max_chunk_age, 2h)."""
HEAP_FACTOR = 2.0
"""Go heap overhead on the data the ingester holds."""
QUERY_HEADROOM = 512 * MIB
"""A Grafana dashboard's range queries over a day of logs."""
BASE_CPU = 0.05
CPU_PER_MBPS = 0.25
"""Cores per MB/s of ingest (parsing, compressing, indexing)."""
QUERY_CPU = 0.5
"""Cores a query burst takes for a moment (the peak, not the average)."""
WAL_HOLD = 2 * 3600
"""Seconds of raw ingest the write-ahead log keeps on the volume."""


class PrometheusError(InputError):
    """Prometheus could not be asked (unreachable, refused, a bad query): exit 2."""


class _Http(Protocol):
    def get(self, url: str, *, params: dict[str, str]) -> Any: ...


@dataclass
class Prometheus:
    """The HTTP query API at `base` (a URL, or an API server service-proxy path)."""

    http: _Http
    base: str
    describe: str

    def query(self, expr: str, at: float) -> list[tuple[dict[str, str], float]]:
        try:
            response = self.http.get(f"{self.base}/api/v1/query",
                                     params={"query": expr, "time": f"{at:.3f}"})
        except Exception as err:
            from outfitter.cluster.errors import describe_transport, is_transport_error

            if not is_transport_error(err):
                raise
            line = describe_transport(err, self.describe)
            raise PrometheusError([line.replace("the API server at ", "")]) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code != 200 or not isinstance(body, dict) \
                or body.get("status") != "success":
            raise PrometheusError([f"{self.describe}: {_error_text(response, body)}"])
        data = body.get("data") or {}
        if data.get("resultType") != "vector":
            raise PrometheusError([f"{self.describe}: expected a vector for {expr}"])
        out = []
        for sample in data.get("result") or []:
            value = float(sample["value"][1])
            if not math.isnan(value):
                out.append((dict(sample.get("metric") or {}), value))
        return out

    def scalar(self, expr: str, at: float) -> float | None:
        """The one value of an aggregated expression; None when there is no data."""
        result = self.query(expr, at)
        return result[0][1] if result else None


def _error_text(response: Any, body: Any) -> str:
    if isinstance(body, dict):
        # Prometheus: {"status": "error", "error": ...}; API server: a Status with `message`.
        message = body.get("error") or body.get("message")
        if message:
            return f"HTTP {response.status_code}: {message}"
    text = str(getattr(response, "text", "")).strip().splitlines()
    return f"HTTP {response.status_code}: {text[0] if text else 'no body'}"


def direct(url: str) -> Prometheus:
    import httpx

    return Prometheus(httpx.Client(timeout=30), url.rstrip("/"), url)


def service_proxy_path(prometheus_url: str) -> tuple[str, str]:
    """(API server path, description) of the service proxy for an in-cluster URL such as
    http://kube-prometheus-stack-prometheus.monitoring.svc:9090."""
    parts = urlsplit(prometheus_url)
    host = parts.hostname or ""
    labels = host.split(".")
    if len(labels) < 2 or (len(labels) > 2 and labels[2] != "svc"):
        raise PrometheusError([
            f"monitoring.prometheusURL {prometheus_url!r} is not a Service URL "
            f"(<name>.<namespace>.svc:<port>); pass --prometheus URL instead"])
    name, namespace = labels[0], labels[1]
    port = parts.port or (443 if parts.scheme == "https" else 80)
    scheme = "https:" if parts.scheme == "https" else ""
    path = f"/api/v1/namespaces/{namespace}/services/{scheme}{name}:{port}/proxy"
    return path + parts.path.rstrip("/"), f"Service {namespace}/{name}:{port} (API server proxy)"


def via_api_server(prometheus_url: str, conn: Any) -> Prometheus:
    """Through the API server's service proxy, on a connection of the one cluster layer
    (outfitter.cluster.connect: client certificates, tokens and exec plugins from the
    kubeconfig, as kubectl would use them)."""
    path, describe = service_proxy_path(prometheus_url)
    return Prometheus(conn.http, path, f"{describe} at {conn.server}")


# --- measuring ------------------------------------------------------------------------------

@dataclass
class Usage:
    cpu_avg: float | None = None
    cpu_peak: float | None = None
    memory_avg: float | None = None
    memory_peak: float | None = None
    volume_used: float | None = None
    volume_capacity: float | None = None

    def add(self, other: Usage) -> Usage:
        def plus(a: float | None, b: float | None) -> float | None:
            return None if a is None and b is None else (a or 0.0) + (b or 0.0)
        return Usage(*(plus(getattr(self, f), getattr(other, f)) for f in _USAGE_FIELDS))


_USAGE_FIELDS = ("cpu_avg", "cpu_peak", "memory_avg", "memory_peak", "volume_used",
                 "volume_capacity")


@dataclass
class Ingest:
    bytes_avg: float | None = None
    bytes_peak: float | None = None
    records_avg: float | None = None

    @property
    def per_day(self) -> float | None:
        return None if self.bytes_avg is None else self.bytes_avg * DAY


@dataclass(frozen=True)
class Query:
    window: str
    at: float
    namespaces: str = DEFAULT_NAMESPACES
    pods: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PODS))
    output: str = DEFAULT_OUTPUT


def _quote(regex: str) -> str:
    return regex.replace("\\", "\\\\").replace('"', '\\"')


def expressions(q: Query, component: str) -> dict[str, str]:
    """The PromQL for one component (kept in one place so the report can show it)."""
    sel = (f'namespace=~"{_quote(q.namespaces)}",pod=~"{_quote(q.pods[component])}",'
           f'container!="",container!="POD"')
    pvc = (f'namespace=~"{_quote(q.namespaces)}",'
           f'persistentvolumeclaim=~".*({_quote(q.pods[component])})"')
    cpu = f"sum(rate(container_cpu_usage_seconds_total{{{sel}}}[5m]))"
    mem = f"sum(container_memory_working_set_bytes{{{sel}}})"
    w = q.window
    return {
        "cpu_avg": f"avg_over_time({cpu}[{w}:5m])",
        "cpu_peak": f"max_over_time({cpu}[{w}:5m])",
        "memory_avg": f"avg_over_time({mem}[{w}:5m])",
        "memory_peak": f"max_over_time({mem}[{w}:5m])",
        "volume_used": f"sum(last_over_time(kubelet_volume_stats_used_bytes{{{pvc}}}[{w}]))",
        "volume_capacity":
            f"sum(last_over_time(kubelet_volume_stats_capacity_bytes{{{pvc}}}[{w}]))",
    }


def ingest_expressions(q: Query) -> dict[str, str]:
    sel = f'name=~"{_quote(q.output)}"'
    w = q.window
    return {
        "bytes_avg": f"sum(rate(fluentbit_output_proc_bytes_total{{{sel}}}[{w}]))",
        "bytes_peak":
            f"max_over_time(sum(rate(fluentbit_output_proc_bytes_total{{{sel}}}[5m]))[{w}:5m])",
        "records_avg": f"sum(rate(fluentbit_output_proc_records_total{{{sel}}}[{w}]))",
    }


def measure(prom: Prometheus, q: Query) -> tuple[dict[str, Usage], Ingest]:
    usage = {}
    for component in COMPONENTS:
        exprs = expressions(q, component)
        usage[component] = Usage(**{k: prom.scalar(e, q.at) for k, e in exprs.items()})
    ingest = Ingest(**{k: prom.scalar(e, q.at) for k, e in ingest_expressions(q).items()})
    return usage, ingest


# --- estimating -----------------------------------------------------------------------------

@dataclass
class LokiEstimate:
    retention_days: int
    cpu_avg: float
    cpu_peak: float
    memory_avg: float
    memory_peak: float
    object_storage: float
    wal: float


def estimate(ingest: Ingest, retention_days: int) -> LokiEstimate | None:
    if ingest.bytes_avg is None:
        return None
    avg = ingest.bytes_avg
    peak = ingest.bytes_peak if ingest.bytes_peak is not None else avg
    held = avg * INGESTER_HOLD / COMPRESSION * HEAP_FACTOR
    held_peak = peak * INGESTER_HOLD / COMPRESSION * HEAP_FACTOR
    return LokiEstimate(
        retention_days=retention_days,
        cpu_avg=BASE_CPU + CPU_PER_MBPS * avg / 1e6,
        cpu_peak=BASE_CPU + CPU_PER_MBPS * peak / 1e6 + QUERY_CPU,
        memory_avg=BASE_MEMORY + held,
        memory_peak=BASE_MEMORY + held_peak + QUERY_HEADROOM,
        object_storage=avg * DAY * retention_days / COMPRESSION * (1 + INDEX_OVERHEAD),
        wal=peak * WAL_HOLD,
    )


def assumptions() -> list[str]:
    return [
        f"chunks compress {COMPRESSION:g}:1 (snappy on text logs); index adds "
        f"{INDEX_OVERHEAD:.0%} of the chunk bytes",
        f"memory: {BASE_MEMORY // MIB} MiB idle + {INGESTER_HOLD // 3600} h of compressed "
        f"ingest held by the ingester x{HEAP_FACTOR:g} heap overhead; peak adds "
        f"{QUERY_HEADROOM // MIB} MiB for queries",
        f"CPU: {BASE_CPU:g} cores idle + {CPU_PER_MBPS:g} cores per MB/s ingested; peak adds "
        f"{QUERY_CPU:g} cores for a query burst",
        f"write-ahead log: {WAL_HOLD // 3600} h of peak ingest, uncompressed, on Loki's volume",
        f"monolithic Loki serves up to ~{MONOLITHIC_CEILING / 1e9:g} GB/day (Loki's "
        f"documentation); above that, simple scalable mode",
        "Graylog's volumes hold its own retention, which may differ from Loki's",
        "Loki indexes labels, not the text: Graylog's full-text search, streams and "
        "pipelines become LogQL queries and Grafana alerts",
    ]


# --- the report -----------------------------------------------------------------------------

@dataclass
class Comparison:
    window: str
    at: float
    source: str
    retention: str
    retention_note: str | None
    usage: dict[str, Usage]
    ingest: Ingest
    loki: LokiEstimate | None
    loki_limits: dict[str, float]
    verdict: str
    reasons: list[str]
    missing: list[str]
    assumptions: list[str]

    @property
    def graylog_total(self) -> Usage:
        total = Usage()
        for u in self.usage.values():
            total = total.add(u)
        return total

    def to_json(self) -> dict[str, Any]:
        return {
            "window": self.window, "at": self.at, "prometheus": self.source,
            "retention": self.retention, "retentionNote": self.retention_note,
            "graylog": {name: asdict(u) for name, u in self.usage.items()},
            "graylogTotal": asdict(self.graylog_total),
            "ingest": {**asdict(self.ingest), "per_day": self.ingest.per_day},
            "loki": asdict(self.loki) if self.loki else None,
            "lokiLimits": self.loki_limits,
            "recommendation": {"verdict": self.verdict, "reasons": self.reasons},
            "missing": self.missing, "assumptions": self.assumptions,
        }


def retention_of(profile: Profile) -> tuple[str, int, str | None]:
    """(retention, days, note): the loki add-on's option, or 30d when there is none."""
    try:
        opts = profile.addon_options("loki")
        retention = str(getattr(opts, "retention"))  # noqa: B009  (optional add-on)
    except (AttributeError, AssertionError):
        return (RETENTION_FALLBACK, 30,
                f"no loki add-on options in this version: retention assumed "
                f"{RETENTION_FALLBACK}")
    match = re.match(r"^([0-9]+)([hd])$", retention)
    if not match:
        return (RETENTION_FALLBACK, 30,
                f"loki retention {retention!r} not understood: assumed {RETENTION_FALLBACK}")
    n = int(match[1])
    days = n if match[2] == "d" else max(1, math.ceil(n / 24))
    return retention, days, None


def loki_limits(profile: Profile) -> dict[str, float]:
    """Requests and limits the loki add-on renders for its pod (through the add-on contract),
    or nothing when this version has no loki add-on."""
    from outfitter.addons import registry
    from outfitter.plan import dig, make_context
    from outfitter.quantity import cpu_millis, memory_mib

    try:
        addon = registry.get("loki")
    except KeyError:
        return {}
    try:
        values = addon.values(make_context(profile))
        res = dig(values, addon.workloads[0].resources_path)
        return {"cpu_request": cpu_millis(str(res["requests"]["cpu"])) / 1000,
                "memory_request": float(memory_mib(str(res["requests"]["memory"])) * MIB),
                "cpu_limit": cpu_millis(str(res["limits"]["cpu"])) / 1000,
                "memory_limit": float(memory_mib(str(res["limits"]["memory"])) * MIB)}
    except (KeyError, IndexError, TypeError, ValueError, RuntimeError):
        return {}  # a profile where Loki cannot render (it is then refused elsewhere)


def compare(prom: Prometheus, q: Query, profile: Profile) -> Comparison:
    if not DURATION.match(q.window):
        raise InputError([f"--window {q.window!r}: a Prometheus duration such as 7d or 24h"])
    for name, regex in [("namespace", q.namespaces), ("output", q.output), *q.pods.items()]:
        try:
            re.compile(regex)
        except re.error as err:
            raise InputError([f"{name} pattern {regex!r}: not a regular expression ({err})"]) \
                from None
    usage, ingest = measure(prom, q)
    retention, days, note = retention_of(profile)
    loki = estimate(ingest, days)
    missing = []
    for component, u in usage.items():
        if u.cpu_avg is None and u.memory_avg is None:
            missing.append(f"{component}: no container metrics for pods matching "
                           f"/{q.pods[component]}/ in namespaces /{q.namespaces}/")
        elif u.volume_used is None:
            missing.append(f"{component}: no kubelet volume metrics (no volume, or kubelet "
                           f"metrics not scraped)")
    if ingest.bytes_avg is None:
        missing.append(f"ingest: no fluentbit_output_proc_bytes_total for outputs matching "
                       f"/{q.output}/ (is Fluent Bit's metrics endpoint scraped?)")
    limits = loki_limits(profile)
    verdict, reasons = _recommend(usage, ingest, loki, limits)
    return Comparison(window=q.window, at=q.at, source=prom.describe, retention=retention,
                      retention_note=note, usage=usage, ingest=ingest, loki=loki,
                      loki_limits=limits, verdict=verdict, reasons=reasons, missing=missing,
                      assumptions=assumptions())


def _recommend(usage: dict[str, Usage], ingest: Ingest, loki: LokiEstimate | None,
               limits: dict[str, float]) -> tuple[str, list[str]]:
    total = Usage()
    for u in usage.values():
        total = total.add(u)
    if loki is None or ingest.per_day is None:
        return "insufficient data", [
            "no ingest rate: without what the shipper sends, Loki cannot be sized"]
    if total.memory_avg is None:
        return "insufficient data", [
            "no Graylog, OpenSearch or MongoDB pods measured: nothing to compare with"]
    reasons = []
    per_day = ingest.per_day
    if per_day > MONOLITHIC_CEILING:
        return "keep graylog", [
            f"{per_day / 1e9:.1f} GB/day is above what monolithic Loki is meant for "
            f"(~{MONOLITHIC_CEILING / 1e9:g} GB/day): plan Loki in simple scalable mode "
            f"before replacing Graylog"]
    saved_memory = total.memory_avg - loki.memory_avg
    saved_cpu = (total.cpu_avg or 0.0) - loki.cpu_avg
    gib = GIB
    reasons.append(
        f"memory: Graylog stack {total.memory_avg / gib:.2f} GiB on average "
        f"(peak {(total.memory_peak or 0) / gib:.2f}) vs Loki ~{loki.memory_avg / gib:.2f} GiB "
        f"(peak ~{loki.memory_peak / gib:.2f})")
    reasons.append(
        f"CPU: {total.cpu_avg or 0:.2f} cores on average vs Loki ~{loki.cpu_avg:.2f}")
    if total.volume_used is not None:
        reasons.append(
            f"storage: {total.volume_used / gib:.1f} GiB on block volumes now vs Loki "
            f"~{loki.object_storage / gib:.1f} GiB in object storage for "
            f"{loki.retention_days} days")
    if limits.get("memory_limit") and loki.memory_peak > limits["memory_limit"]:
        reasons.append(
            f"raise the loki add-on's memory limit: the estimated peak "
            f"{loki.memory_peak / gib:.2f} GiB is above its "
            f"{limits['memory_limit'] / gib:.2f} GiB")
    if saved_memory > 0 and saved_cpu > -0.1:
        reasons.insert(0, f"Loki would free ~{saved_memory / gib:.2f} GiB of memory and "
                          f"~{max(saved_cpu, 0):.2f} cores at {per_day / 1e9:.2f} GB/day")
        return "replace graylog with loki", reasons
    reasons.insert(0, "Loki would not use less than the Graylog stack measured here")
    return "keep graylog", reasons


def fmt_bytes(value: float | None) -> str:
    if value is None:
        return "no data"
    for unit, size in (("GiB", GIB), ("MiB", MIB), ("KiB", 1024)):
        if value >= size:
            return f"{value / size:.2f} {unit}"
    return f"{value:.0f} B"


def fmt_cores(value: float | None) -> str:
    return "no data" if value is None else f"{value:.2f}"


def rows(c: Comparison) -> list[tuple[str, str, str, str, str, str, str]]:
    """(what, cpu avg, cpu peak, mem avg, mem peak, storage, note) for the table."""
    out = []
    for name, u in c.usage.items():
        out.append((name, fmt_cores(u.cpu_avg), fmt_cores(u.cpu_peak), fmt_bytes(u.memory_avg),
                    fmt_bytes(u.memory_peak), fmt_bytes(u.volume_used),
                    f"of {fmt_bytes(u.volume_capacity)} provisioned"
                    if u.volume_capacity is not None else "measured"))
    t = c.graylog_total
    out.append(("Graylog stack", fmt_cores(t.cpu_avg), fmt_cores(t.cpu_peak),
                fmt_bytes(t.memory_avg), fmt_bytes(t.memory_peak), fmt_bytes(t.volume_used),
                "measured; peaks added up"))
    if c.loki is not None:
        lk = c.loki
        out.append(("Loki (monolithic)", fmt_cores(lk.cpu_avg), fmt_cores(lk.cpu_peak),
                    fmt_bytes(lk.memory_avg), fmt_bytes(lk.memory_peak),
                    fmt_bytes(lk.object_storage),
                    f"estimate; object storage for {lk.retention_days} days, "
                    f"+{fmt_bytes(lk.wal)} WAL on its volume"))
    return out

