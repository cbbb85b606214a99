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

from helm_fixtures import CHART, flux_sync, helm_binary, tree, write
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


ARGO_SYNC = flux_sync("https://git.example.com/me/home-ops", "./apps")


def argo_chart_app(name: str, value_file: str, values_repo: str = "") -> str:
    ref_repo = values_repo or "git@git.example.com:me/home-ops.git"
    return f"""
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: {name}, namespace: argocd}}
spec:
  project: default
  destination: {{server: 'https://kubernetes.default.svc', namespace: apps}}
  sources:
    - repoURL: https://charts.example.com
      chart: web
      targetRevision: 1.0.0
      helm:
        valueFiles: ['{value_file}']
        parameters: [{{name: port, value: '8080'}}]
    - {{repoURL: '{ref_repo}', targetRevision: main, ref: values}}
"""


def test_argo_cd_applications_charts_are_templated_with_their_values(
    helm: str, charts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Flux applies Argo CD Applications that install chart `web`: the values come from a
    value file of this repository (`$values/…`, a misspelt Secret key in it) and a
    `--set port=8080` parameter (the datasource's port 8080 is found). A value file of
    another repository, or inside the chart, is a note: not templated, nothing guessed; one
    this repository lacks fails the sync."""
    base = {k: v for k, v in tree(host="web.apps.svc:8080").items()
            if k not in ("apps/web.yaml", "apps/helmrepository.yaml")}
    repo = write(tmp_path / "repo", {
        **base,
        "apps/flux-system/gotk-sync.yaml": ARGO_SYNC,
        "argocd/web/values.yaml": "host: web.example.com\n"
                                  "secret: {name: web-db, key: pasword}\n",
        "apps/argocd/applications.yaml": "---".join([
            argo_chart_app("web", "$values/argocd/web/values.yaml"),
            argo_chart_app("elsewhere", "$values/web/values.yaml",
                           "https://git.example.com/someone/else"),
            argo_chart_app("inside", "values-prod.yaml"),
            argo_chart_app("missing", "$values/argocd/nope.yaml")]),
    })
    main(["validate", str(repo), "--kubernetes-version", "1.36", "--json", "--helm",
          "--helm-bin", helm, "--charts", str(charts), "--offline"])
    found = [(f["rule"], f["file"], f["message"]) for f in
             json.loads(capsys.readouterr().out)["findings"] if f["rule"] != "not-validated"]
    assert [(rule, file) for rule, file, _ in found] == [
        ("secret-key", "apps/argocd/applications.yaml"),
        ("remote-resource", "apps/argocd/applications.yaml"),
        ("argocd-not-rendered", "apps/argocd/applications.yaml"),
        ("helm-template", "apps/argocd/applications.yaml")]
    assert found[3][2] == ("web 1.0.0: value file $values/argocd/nope.yaml is not in this "
                           "repository (Argo CD fails the sync)")
    assert "'pasword'" in found[0][2]
    assert found[1][2] == ("web 1.0.0: value file $values/web/values.yaml is in "
                           "https://git.example.com/someone/else, not this repository: not "
                           "fetched (offline), not templated")
    assert found[2][2] == ("web 1.0.0: value file values-prod.yaml is read from the chart, "
                           "not here: not templated")
