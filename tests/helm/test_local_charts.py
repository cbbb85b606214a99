"""`validate --helm` on a chart kept in the repository itself (a HelmRelease whose chart is a
path of the repository's own GitRepository, as home-ops repositories keep their own
charts): templated from the checkout, offline, with its `file://` dependencies and the
release's `valuesFiles`, never reading outside the repository — by the real helm."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from helm_fixtures import (
    CHART,
    WEB_DB_SECRET,
    flux_kustomization,
    flux_sync,
    helm_binary,
    write,
)
from outfitter.cli import main

SYNC = flux_sync("ssh://git@git.example.com/me/home-ops", "./kubernetes/flux")
APPS = flux_kustomization("cluster-apps", "./kubernetes/apps")

# A chart of the repository using another one of its charts (a `file://` dependency).
WEB = {
    **{f"charts/web/{name}": text for name, text in CHART.items()},
    "charts/web/Chart.yaml": """
        apiVersion: v2
        name: web
        version: 1.0.0
        appVersion: "1.27.0"
        dependencies:
          - name: common
            version: 0.1.0
            repository: file://../common
        """,
    "charts/common/Chart.yaml": "apiVersion: v2\nname: common\nversion: 0.1.0\n",
    "charts/common/templates/settings.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: {{ .Release.Name }}-settings}
        data: {level: info}
        """,
}


def helm_release(chart: str = "./charts/web", values_files: tuple[str, ...] = (
        "charts/web/values.yaml", "kubernetes/apps/web/app/values-prod.yaml"),
        source: str = "flux-system") -> str:
    files = "".join(f"\n        - {f}" for f in values_files)
    return f"""
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {{name: web, namespace: apps}}
spec:
  interval: 1h
  chart:
    spec:
      chart: {chart}
      sourceRef: {{kind: GitRepository, name: {source}, namespace: flux-system}}
      valuesFiles:{files or ' []'}
"""


def home_ops(root: Path, release: str = "") -> Path:
    return write(root, {
        **WEB,
        "kubernetes/flux/gotk-sync.yaml": SYNC,
        "kubernetes/flux/apps.yaml": APPS,
        "kubernetes/apps/kustomization.yaml": "resources: [namespace.yaml, web/app]\n",
        "kubernetes/apps/namespace.yaml":
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: apps}\n",
        "kubernetes/apps/web/app/kustomization.yaml":
            "resources: [helmrelease.yaml, externalsecret.yaml, datasource.yaml]\n",
        "kubernetes/apps/web/app/helmrelease.yaml": release or helm_release(),
        # The production values: a host, and a misspelt key of the database Secret.
        "kubernetes/apps/web/app/values-prod.yaml": """
            host: web.example.com
            secret: {name: web-db, key: pasword}
            """,
        "kubernetes/apps/web/app/externalsecret.yaml": WEB_DB_SECRET,
        "kubernetes/apps/web/app/datasource.yaml": """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: datasources, namespace: apps}
            data:
              datasource.yaml: |
                url: http://web.apps.svc:8080/api
            """,
    })


@pytest.fixture(scope="module")
def helm() -> str:
    return helm_binary()


@pytest.fixture(autouse=True)
def chart_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "chart-cache"
    monkeypatch.setenv("OUTFITTER_CHART_CACHE", str(cache))
    return cache


def findings(repo: Path, helm: str, capsys: pytest.CaptureFixture[str]
             ) -> list[tuple[str, str, str]]:
    main(["validate", str(repo), "--kubernetes-version", "1.36", "--json", "--helm",
          "--helm-bin", helm, "--offline"])
    return [(f["rule"], f["file"], f["message"])
            for f in json.loads(capsys.readouterr().out)["findings"]
            if f["severity"] != "info"]


def test_a_chart_of_the_repository_is_templated_from_the_checkout(
        helm: str, tmp_path: Path, chart_cache: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Offline, with no chart anywhere but the repository: the `file://` dependency is
    taken from the repository (helm refuses a chart whose dependency is missing), the
    production values file is merged over the chart's (the misspelt key is found), and a
    template linked to a file outside the repository is left out (helm would fail on it)."""
    repo = home_ops(tmp_path / "home-ops")
    outside = write(tmp_path / "outside", {"leak.yaml": '{{ fail "read outside" }}\n'})
    os.symlink(outside / "leak.yaml", repo / "charts/web/templates/leak.yaml")
    found = findings(repo, helm, capsys)
    assert [(rule, file) for rule, file, _ in found] == [
        ("service-port", "kubernetes/apps/web/app/datasource.yaml"),
        ("secret-key", "kubernetes/apps/web/app/helmrelease.yaml")]
    assert "Service apps/web does not open port 8080 (it opens 80)" in found[0][2]
    assert "reads key 'pasword' of Secret apps/web-db" in found[1][2]
    [copy] = chart_cache.glob("repository-web-*/web")
    assert sorted(p.name for p in (copy / "charts").iterdir()) == ["common"]
    assert not (copy / "templates/leak.yaml").exists()


def test_the_chart_as_it_stands_now_is_templated(
        helm: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The chart changes between runs (its Service moves to port 8080): the second run
    templates the new chart, not a copy kept from the first."""
    repo = home_ops(tmp_path / "home-ops")
    assert [rule for rule, _, _ in findings(repo, helm, capsys)] == \
        ["service-port", "secret-key"]
    template = repo / "charts/web/templates/service.yaml"
    template.write_text(template.read_text().replace("{{ .Values.port }}", "8080"))
    assert [rule for rule, _, _ in findings(repo, helm, capsys)] == ["secret-key"]


@pytest.mark.parametrize(("release", "extra", "message"), [
    (helm_release(chart="./charts/nope"), {},
     "charts/nope: no such folder in this repository"),
    (helm_release(values_files=("kubernetes/apps/web/app/values-staging.yaml",)), {},
     "values file kubernetes/apps/web/app/values-staging.yaml is not in this repository "
     "(source-controller fails the chart)"),
    (helm_release(), {"charts/web/Chart.yaml": WEB["charts/web/Chart.yaml"].replace(
        "file://../common", "file://../../../elsewhere")},
     "dependency common of charts/web: file://../../../elsewhere is outside the "
     "repository"),
    (helm_release(), {"charts/common/Chart.yaml": WEB["charts/common/Chart.yaml"] +
                      "dependencies: [{name: web, version: 1.0.0, repository: file://../web}]\n"},
     "dependency web of charts/common: file://../web depends on a chart that depends on it "
     "(a cycle)"),
    (helm_release(), {"charts/web/Chart.yaml": WEB["charts/web/Chart.yaml"].replace(
        "file://../common", "https://charts.example.com")},
     "dependency common of charts/web: chart common 0.1.0 from https://charts.example.com "
     "is not in the chart cache"),
])
def test_what_the_chart_needs_and_the_repository_lacks_is_one_finding(
        helm: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], release: str,
        extra: dict[str, str], message: str) -> None:
    repo = home_ops(tmp_path / "home-ops", release)
    write(repo, extra)
    [(rule, file, text)] = findings(repo, helm, capsys)
    assert (rule, file) == ("helm-chart", "kubernetes/apps/web/app/helmrelease.yaml")
    assert message in text


def test_a_chart_named_like_a_path_is_copied_inside_the_cache(
        helm: str, tmp_path: Path, chart_cache: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Chart.yaml's name is the repository's text: `../../escaped` names no folder."""
    repo = home_ops(tmp_path / "home-ops")
    write(repo, {"charts/common/Chart.yaml": "apiVersion: v2\nname: ../../../escaped\n"
                                             "version: 0.1.0\n",
                 "charts/web/Chart.yaml": WEB["charts/web/Chart.yaml"].replace(
                     "name: common", "name: ../../../escaped")})
    findings(repo, helm, capsys)
    assert not list(tmp_path.glob("**/escaped*"))
    assert [p.name for p in chart_cache.glob("repository-web-*/web/charts/*")] == \
        ["_.._.._escaped"]  # one folder


def test_another_repository_s_chart_is_still_not_fetched_offline(
        helm: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = """
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: upstream, namespace: flux-system}
spec: {interval: 1h, url: 'https://git.example.com/someone/charts', ref: {tag: v1.0.0}}
"""
    repo = home_ops(tmp_path / "home-ops", helm_release(source="upstream"))
    write(repo, {"kubernetes/apps/web/app/upstream.yaml": other,
                 "kubernetes/apps/web/app/kustomization.yaml":
                     "resources: [helmrelease.yaml, externalsecret.yaml, datasource.yaml, "
                     "upstream.yaml]\n"})
    [(rule, _, text)] = findings(repo, helm, capsys)
    assert rule == "helm-chart"
    assert "from https://git.example.com/someone/charts" in text
    assert "--offline forbids pulling it" in text


ARGO_APP = """
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web, namespace: argocd}
spec:
  project: default
  destination: {server: 'https://kubernetes.default.svc', namespace: apps}
  source:
    repoURL: git@git.example.com:me/home-ops.git
    path: charts/web
    targetRevision: main
    helm:
      valueFiles: [values-prod.yaml]
"""


def test_an_argo_cd_application_of_a_chart_in_the_repository_is_templated(
        helm: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Flux applies an Application whose source is the chart folder of this repository
    (Argo CD templates it with helm; its value files are relative to that folder): with
    --helm it is templated as Argo CD does (the misspelt key of its production values is
    found); without, it is the one note it was."""
    repo = home_ops(tmp_path / "home-ops")
    write(repo, {
        "kubernetes/apps/web/app/kustomization.yaml":
            "resources: [externalsecret.yaml, datasource.yaml, application.yaml]\n",
        "kubernetes/apps/web/app/application.yaml": ARGO_APP,
        "charts/web/values-prod.yaml": "host: web.example.com\n"
                                       "secret: {name: web-db, key: pasword}\n"})
    (repo / "kubernetes/apps/web/app/helmrelease.yaml").unlink()  # Argo CD installs it
    main(["validate", str(repo), "--kubernetes-version", "1.36", "--json", "--helm",
          "--helm-bin", helm, "--offline"])
    found = [(f["rule"], f["file"], f["message"])
             for f in json.loads(capsys.readouterr().out)["findings"]
             if f["rule"] != "not-validated"]
    assert [(rule, file) for rule, file, _ in found] == [
        ("secret-key", "kubernetes/apps/web/app/application.yaml"),
        ("service-port", "kubernetes/apps/web/app/datasource.yaml")]
    assert found[0][2].startswith("Deployment apps/web: container 'web' env 'DB_PASSWORD' "
                                  "reads key 'pasword' of Secret apps/web-db")
    main(["validate", str(repo), "--kubernetes-version", "1.36", "--json"])
    found = [(f["rule"], f["file"], f["message"])
             for f in json.loads(capsys.readouterr().out)["findings"]
             if f["rule"] != "not-validated"]
    assert found == [("argocd-not-rendered", "kubernetes/apps/web/app/application.yaml",
                      "Argo CD renders 'charts/web' with helm (a Chart.yaml is in its path); "
                      "its objects are not checked (validate --helm templates it)")]
