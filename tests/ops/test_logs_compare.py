"""`outfitter logs compare` against a real Prometheus server (Debian's package) started on
127.0.0.1 with three days of backfilled data (tests/prometheus_server.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import prometheus_server as ps
from outfitter.cli import main
from outfitter.config import Profile, default_profile, parse_profile
from outfitter.ops import logs_compare as lc

GIB = ps.GIB


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ps.Server]:
    yield from ps.serve(tmp_path_factory.mktemp("prometheus"))


def run(prom: ps.Server, window: str = "2d", profile: Profile | None = None,
        pods: dict[str, str] | None = None) -> lc.Comparison:
    query = lc.Query(window=window, at=prom.end, pods=pods or dict(lc.DEFAULT_PODS))
    return lc.compare(lc.direct(prom.url), query, profile or default_profile())


def test_measures_the_graylog_stack(prom: ps.Server) -> None:
    c = run(prom)
    g, o, m = c.usage["graylog"], c.usage["opensearch"], c.usage["mongodb"]
    # CPU: container rows only (not the pod-level row, the pause container, the shipper).
    assert g.cpu_avg == pytest.approx(0.30, rel=0.01)
    assert m.cpu_avg == pytest.approx(0.04, rel=0.01)
    # OpenSearch: 0.5 cores, 2.0 for one hour of the 48.
    assert o.cpu_avg == pytest.approx(0.5 + 1.5 / 48, rel=0.02)
    assert o.cpu_peak == pytest.approx(2.0, rel=0.01)
    assert o.memory_avg == pytest.approx(2.5 * GIB + GIB / 48, rel=0.02)
    assert o.memory_peak == pytest.approx(3.5 * GIB, rel=0.001)
    assert g.memory_avg == pytest.approx(1.5 * GIB, rel=0.001)
    assert o.volume_used == 40 * GIB and o.volume_capacity == 100 * GIB
    assert g.volume_used == 2 * GIB and m.volume_used == 1 * GIB
    total = c.graylog_total
    assert total.volume_used == 43 * GIB  # jellyfin's volume is not Graylog's
    assert c.missing == []


def test_measures_what_the_shipper_sends(prom: ps.Server) -> None:
    c = run(prom)
    # gelf outputs only (not the loki output beside them); a 2 h burst on one node.
    assert c.ingest.bytes_avg == pytest.approx(ps.expected_ingest_avg(48), rel=0.01)
    assert c.ingest.bytes_peak == pytest.approx(25_000 + 30_000, rel=0.01)
    assert c.ingest.records_avg == pytest.approx(ps.expected_ingest_avg(48) / 200, rel=0.01)


def test_estimate_and_recommendation(prom: ps.Server) -> None:
    c = run(prom)
    avg = ps.expected_ingest_avg(48)
    assert c.loki is not None
    assert c.retention == "30d" and c.loki.retention_days == 30
    assert c.loki.object_storage == pytest.approx(
        avg * 86400 * 30 / lc.COMPRESSION * (1 + lc.INDEX_OVERHEAD), rel=0.01)
    assert c.loki.memory_avg < 0.5 * GIB
    assert c.verdict == "replace graylog with loki"
    assert c.reasons[0].startswith("Loki would free ~")
    assert any(r.startswith("storage: 43.0 GiB on block volumes now") for r in c.reasons)


def test_the_profile_retention_scales_object_storage(prom: ps.Server) -> None:
    thirty = run(prom)
    ninety = run(prom, profile=parse_profile({"addons": {"loki": {"retention": "90d"}}}))
    assert ninety.retention == "90d"
    assert thirty.loki is not None and ninety.loki is not None
    assert ninety.loki.object_storage == pytest.approx(3 * thirty.loki.object_storage)


def test_cli_table_and_json(prom: ps.Server, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["logs", "compare", "--prometheus", prom.url, "--window", "2d",
            "--at", str(prom.end)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "Graylog stack" in out and "Loki (monolithic)" in out
    assert "Recommendation: replace graylog with loki" in out
    assert "Assumptions:" in out and "compress 5:1" in out
    assert main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["recommendation"]["verdict"] == "replace graylog with loki"
    assert data["graylogTotal"]["volume_used"] == 43 * GIB
    assert data["ingest"]["per_day"] == pytest.approx(ps.expected_ingest_avg(48) * 86400,
                                                      rel=0.01)
    assert data["lokiLimits"]["memory_limit"] == 2 * GIB
    assert len(data["assumptions"]) >= 5


def test_no_ingest_data_is_insufficient(
    prom: ps.Server, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["logs", "compare", "--prometheus", prom.url, "--window", "2d",
            "--at", str(prom.end), "--shipper-output", "syslog.*"]
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "Recommendation: insufficient data" in out
    assert "no fluentbit_output_proc_bytes_total for outputs matching /syslog.*/" in out


def test_pods_can_be_matched_differently(prom: ps.Server) -> None:
    c = run(prom, pods={**lc.DEFAULT_PODS, "mongodb": "mongo-replica.*"})
    assert c.usage["mongodb"].cpu_avg is None
    assert c.missing[0].startswith("mongodb: no container metrics for pods matching")


def test_a_query_prometheus_refuses_is_reported(
    prom: ps.Server, capsys: pytest.CaptureFixture[str]
) -> None:
    # Valid for Python's re, not for Prometheus (RE2 has no lookahead): Prometheus says why.
    argv = ["logs", "compare", "--prometheus", prom.url, "--pods", "graylog=(?=g)graylog.*"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{prom.url}: HTTP 400: " in err and "invalid" in err


@pytest.mark.parametrize(("extra", "message"), [
    (["--window", "7 days"], "--window '7 days': a Prometheus duration"),
    (["--namespace", "(logging"], "namespace pattern '(logging': not a regular expression"),
    (["--pods", "elastic=es.*"], "COMPONENT=REGEX"),
    (["--at", "yesterday"], "--at 'yesterday': RFC 3339 time or Unix seconds"),
])
def test_bad_input_exits_2(
    extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["logs", "compare", "--prometheus", "http://127.0.0.1:9", *extra]) == 2
    assert message in capsys.readouterr().err


def test_an_unreachable_prometheus_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["logs", "compare", "--prometheus", "http://127.0.0.1:9"]) == 2
    assert "cannot reach http://127.0.0.1:9: connection refused" in capsys.readouterr().err


def test_estimate_model() -> None:
    est = lc.estimate(lc.Ingest(bytes_avg=100_000, bytes_peak=400_000), 30)
    assert est is not None
    assert est.object_storage == pytest.approx(100_000 * 86400 * 30 / 5 * 1.05)
    assert est.memory_avg == pytest.approx(lc.BASE_MEMORY + 100_000 * 7200 / 5 * 2)
    assert est.memory_peak > est.memory_avg
    assert est.wal == 400_000 * 7200
    assert lc.estimate(lc.Ingest(), 30) is None


def test_too_much_ingest_for_monolithic_keeps_graylog() -> None:
    heavy = lc.Ingest(bytes_avg=30e9 / 86400)
    usage = {"graylog": lc.Usage(cpu_avg=1.0, memory_avg=4 * GIB)}
    verdict, reasons = lc._recommend(usage, heavy, lc.estimate(heavy, 30), {})
    assert verdict == "keep graylog"
    assert "simple scalable" in reasons[0]


def test_service_proxy_path() -> None:
    path, describe = lc.service_proxy_path(
        "http://kube-prometheus-stack-prometheus.monitoring.svc:9090")
    assert path == ("/api/v1/namespaces/monitoring/services/"
                    "kube-prometheus-stack-prometheus:9090/proxy")
    assert describe.startswith("Service monitoring/kube-prometheus-stack-prometheus:9090")
    path, _ = lc.service_proxy_path("https://prom.obs.svc.cluster.local/prometheus/")
    assert path == "/api/v1/namespaces/obs/services/https:prom:443/proxy/prometheus"
    with pytest.raises(lc.PrometheusError, match="not a Service URL"):
        lc.service_proxy_path("http://prometheus.example.com:9090")


def test_retention_falls_back_when_the_profile_has_none() -> None:
    assert lc.retention_of(default_profile()) == ("30d", 30, None)

    class NoLoki:
        def addon_options(self, name: str) -> object:
            raise AttributeError(name)

    retention, days, note = lc.retention_of(NoLoki())  # type: ignore[arg-type]
    assert (retention, days) == ("30d", 30) and note is not None and "assumed 30d" in note


def test_openmetrics_fixture_is_well_formed(tmp_path: Path) -> None:
    text = ps.openmetrics(1_800_000_000)
    assert text.endswith("# EOF\n")
    assert text.count("\n") > 10 * 86400 * ps.DAYS // ps.STEP


def test_no_kubeconfig_for_the_service_proxy_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["logs", "compare", "--kubeconfig", str(tmp_path / "none")]) == 2
    assert ": no such file" in capsys.readouterr().err
