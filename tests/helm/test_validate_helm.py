"""`outfitter validate --helm`: HelmReleases templated by the real helm; a template failure,
a wrong port, a misspelt Secret key and a metric that does not exist are one finding each."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from helm_fixtures import CHART, helm_binary, tree, write
from outfitter.cli import main


@pytest.fixture(scope="module")
def helm() -> str:
    return helm_binary()


@pytest.fixture
def charts(tmp_path: Path) -> Path:
    write(tmp_path / "charts" / "web", CHART)
    return tmp_path / "charts"


@pytest.fixture(autouse=True)
def chart_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "chart-cache"
    monkeypatch.setenv("OUTFITTER_CHART_CACHE", str(cache))
    return cache


def validate(repo: Path, capsys: pytest.CaptureFixture[str], *args: str
             ) -> tuple[int, list[dict[str, object]]]:
    code = main(["validate", str(repo), "--kubernetes-version", "1.36", "--json", "--helm",
                 *args])
    data = json.loads(capsys.readouterr().out)
    return code, [f for f in data["findings"] if f["severity"] != "info"]


def test_a_clean_tree_templates_clean(helm: str, charts: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    repo = write(tmp_path / "repo", tree())
    code, findings = validate(repo, capsys, "--helm-bin", helm, "--charts", str(charts),
                              "--offline")
    assert findings == []
    assert code == 0


def test_each_planted_defect_is_exactly_one_finding(
    helm: str, charts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = write(tmp_path / "repo", tree(host="web.apps.svc:8080", key="pasword",
                                         metric="falcosidekick_outputs_total", broken=True))
    code, findings = validate(repo, capsys, "--helm-bin", helm, "--charts", str(charts),
                              "--offline")
    assert code == 1
    got = sorted((f["rule"], f["file"], f["line"]) for f in findings)
    assert got == [
        ("helm-template", "apps/broken.yaml", 1),
        ("metric-unknown", "apps/rule.yaml", 9),
        ("secret-key", "apps/web.yaml", 1),
        ("service-port", "apps/datasource.yaml", 5),
    ]
    by_rule = {f["rule"]: f for f in findings}
    assert "values.host is required" in str(by_rule["helm-template"]["message"])
    assert str(by_rule["helm-template"]["object"]) == "HelmRelease apps/broken"
    assert "Service apps/web does not open port 8080 (it opens 80)" in \
        str(by_rule["service-port"]["message"])
    assert "reads key 'pasword' of Secret apps/web-db" in str(by_rule["secret-key"]["message"])
    assert str(by_rule["secret-key"]["object"]) == "HelmRelease apps/web"
    assert str(by_rule["secret-key"]["message"]).startswith(
        "Deployment apps/web: container 'web' env 'DB_PASSWORD' reads key 'pasword'")
    assert "did you mean 'falcosecurity_falcosidekick_outputs_total'" in \
        str(by_rule["metric-unknown"]["message"])


def test_without_helm_it_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = write(tmp_path / "repo", tree())
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("OUTFITTER_TOOLS_DIR", str(tmp_path / "no-tools"))
    assert main(["validate", str(repo), "--helm"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--helm needs helm" in err[0]
    # Without --helm, validate works as before.
    assert main(["validate", str(repo), "--kubernetes-version", "1.36"]) == 0


def test_offline_names_the_missing_chart_and_pulls_nothing(
    helm: str, tmp_path: Path, chart_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = write(tmp_path / "repo", tree())
    code, findings = validate(repo, capsys, "--helm-bin", helm, "--offline")
    assert code == 1
    [finding] = findings
    assert finding["rule"] == "helm-chart"
    assert "chart web 1.0.0 from https://charts.example.com is not in the chart cache" in \
        str(finding["message"])
    assert "--offline forbids pulling it" in str(finding["message"])
    assert not chart_cache.exists()


@pytest.fixture
def chart_repository(helm: str, charts: Path, tmp_path: Path) -> Iterator[str]:
    """A Helm repository (index.yaml + package) served on 127.0.0.1."""
    served = tmp_path / "served"
    served.mkdir()
    subprocess.run([helm, "package", str(charts / "web"), "--destination", str(served)],
                   check=True, capture_output=True)
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 partial(_QuietHandler, directory=str(served)))
    url = f"http://127.0.0.1:{server.server_address[1]}"
    subprocess.run([helm, "repo", "index", str(served), "--url", url], check=True,
                   capture_output=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_chart_is_pulled_once_into_the_cache_then_used_offline(
    helm: str, chart_repository: str, tmp_path: Path, chart_cache: Path,
    capsys: pytest.CaptureFixture[str]
) -> None:
    repo = write(tmp_path / "repo", tree(url=chart_repository))
    code, findings = validate(repo, capsys, "--helm-bin", helm)
    assert (code, findings) == (0, [])
    assert [p.name for p in chart_cache.glob("web-1.0.0-*/*.tgz")] == ["web-1.0.0.tgz"]
    code, findings = validate(repo, capsys, "--helm-bin", helm, "--offline")
    assert (code, findings) == (0, [])
