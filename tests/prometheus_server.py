"""A real Prometheus server for tests (Debian's `prometheus` package), on 127.0.0.1 with a
temporary storage folder that `promtool tsdb create-blocks-from openmetrics` fills first.

The data stands for a homelab that runs Graylog, OpenSearch and MongoDB in `logging` and ships
with a Fluent Bit DaemonSet, over three days: cAdvisor CPU counters and working-set gauges,
kubelet volume stats, Fluent Bit output counters. It also holds series the comparison must
leave out (pod-level cAdvisor rows, the pause container, other namespaces, another output).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tool_needs import unavailable

GIB = 1024**3
MIB = 1024**2
STEP = 60
DAYS = 3


@dataclass(frozen=True)
class Server:
    url: str
    end: float
    """Unix time of the last sample: query `at` it."""


def binaries() -> tuple[str, str]:
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if not prometheus or not promtool:
        msg = ("prometheus/promtool not found: apt-get install -y prometheus "
               "(Debian's package; the tests start the binary themselves)")
        unavailable(msg)
    return prometheus, promtool


# --- the data -------------------------------------------------------------------------------

BURST = (10 * 3600, 9 * 3600)
"""OpenSearch works hard between 10 h and 9 h before the end (a reindex)."""
INGEST_BURST = (6 * 3600, 4 * 3600)
"""One node's Fluent Bit sends 4x for 2 h (a noisy app)."""

CPU = {  # (namespace, pod, container) -> cores
    ("logging", "graylog-0", "graylog"): 0.30,
    ("logging", "opensearch-master-0", "opensearch"): 0.50,
    ("logging", "mongodb-0", "mongodb"): 0.04,
    ("logging", "graylog-0", ""): 0.34,  # cAdvisor's pod-level row: would double count
    ("logging", "graylog-0", "POD"): 0.001,
    ("logging", "fluent-bit-x7k2p", "fluent-bit"): 0.02,  # the shipper, not Graylog
    ("media", "jellyfin-0", "jellyfin"): 1.20,
}
MEMORY = {
    ("logging", "graylog-0", "graylog"): 1.5 * GIB,
    ("logging", "opensearch-master-0", "opensearch"): 2.5 * GIB,
    ("logging", "mongodb-0", "mongodb"): 300 * MIB,
    ("logging", "graylog-0", ""): 1.6 * GIB,
    ("media", "jellyfin-0", "jellyfin"): 3 * GIB,
}
VOLUMES = {  # (namespace, pvc) -> (used, capacity)
    ("logging", "journal-graylog-0"): (2 * GIB, 5 * GIB),
    ("logging", "data-opensearch-master-0"): (40 * GIB, 100 * GIB),
    ("logging", "datadir-mongodb-0"): (1 * GIB, 10 * GIB),
    ("media", "config-jellyfin-0"): (20 * GIB, 50 * GIB),
}
SHIPPERS = {  # (pod, output name) -> bytes/s
    ("fluent-bit-x7k2p", "gelf.0"): 10_000.0,
    ("fluent-bit-m4q9z", "gelf.0"): 8_000.0,
    ("fluent-bit-c2w8d", "gelf.0"): 7_000.0,
    ("fluent-bit-x7k2p", "loki.1"): 25_000.0,  # a second output: not what Graylog gets
}
BYTES_PER_RECORD = 200.0


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def openmetrics(end: int) -> str:
    """Three days of samples every minute, ending at `end`."""
    start = end - DAYS * 86400
    times = range(start, end + 1, STEP)
    out: list[str] = []

    def counter(name: str, labels: str, rate_at: dict[int, float]) -> None:
        total = 0.0
        previous = start
        for t in times:
            total += rate_at[t] * (t - previous)
            previous = t
            out.append(f"{name}{labels} {total:.6f} {t}")

    def in_window(t: int, window: tuple[int, int]) -> bool:
        return end - window[0] <= t < end - window[1]

    for (ns, pod, container), cores in CPU.items():
        rates = {t: cores * 4 if pod.startswith("opensearch") and in_window(t, BURST) else cores
                 for t in times}
        counter("container_cpu_usage_seconds_total",
                _labels(namespace=ns, pod=pod, container=container), rates)
    for (ns, pod, container), size in MEMORY.items():
        labels = _labels(namespace=ns, pod=pod, container=container)
        for t in times:
            value = size + GIB if pod.startswith("opensearch") and in_window(t, BURST) else size
            out.append(f"container_memory_working_set_bytes{labels} {value:.0f} {t}")
    for metric, index in (("kubelet_volume_stats_used_bytes", 0),
                          ("kubelet_volume_stats_capacity_bytes", 1)):
        for (ns, pvc), sizes in VOLUMES.items():
            labels = _labels(namespace=ns, persistentvolumeclaim=pvc)
            out += [f"{metric}{labels} {sizes[index]:.0f} {t}" for t in times]
    for metric, per in (("fluentbit_output_proc_bytes_total", 1.0),
                        ("fluentbit_output_proc_records_total", 1 / BYTES_PER_RECORD)):
        for (pod, name), rate in SHIPPERS.items():
            rates = {t: (rate * 4 if pod == "fluent-bit-x7k2p" and name == "gelf.0"
                         and in_window(t, INGEST_BURST) else rate) * per for t in times}
            counter(metric, _labels(namespace="logging", pod=pod, name=name), rates)
    return "\n".join(out) + "\n# EOF\n"


# --- expected values (what the data says, worked out by hand) -------------------------------

def expected_ingest_avg(window_hours: float) -> float:
    graylog = sum(r for (_, name), r in SHIPPERS.items() if name == "gelf.0")
    burst_hours = (INGEST_BURST[0] - INGEST_BURST[1]) / 3600
    return graylog + 3 * SHIPPERS[("fluent-bit-x7k2p", "gelf.0")] * burst_hours / window_hours


# --- the server -----------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(workdir: Path) -> Iterator[Server]:
    prometheus, promtool = binaries()
    end = int(time.time()) // 3600 * 3600 - 3600
    data = workdir / "data.om"
    data.write_text(openmetrics(end))
    storage = workdir / "tsdb"
    subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(data),
                    str(storage)], check=True, capture_output=True, timeout=300)
    config = workdir / "prometheus.yml"
    config.write_text("global:\n  evaluation_interval: 1h\nscrape_configs: []\n")
    port = _free_port()
    log = (workdir / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [prometheus, f"--config.file={config}", f"--storage.tsdb.path={storage}",
         f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=3650d"],
        stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"prometheus exited: {(workdir / 'prometheus.log').read_text()}",
                            pytrace=False)
            try:
                if httpx.get(f"{url}/-/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("prometheus not ready after 60 s", pytrace=False)
            time.sleep(0.2)
        yield Server(url=url, end=float(end))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
