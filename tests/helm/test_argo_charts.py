"""The releases `--helm` makes of an Argo CD Application's chart sources (helm.argo_charts):
chart location, release name and namespace, and the values in Argo CD's order."""

from __future__ import annotations

from typing import Any

from outfitter.helm.argo_charts import Unrendered, chart_releases
from outfitter.helm.charts import ChartSource

FILES = {("https://git.example.com/me/ops", "values/base.yaml"): "a: {x: 1, y: 1}\nb: 1\n",
         ("https://git.example.com/me/ops", "values/prod.yaml"): "a: {y: 2}\nc: 1\n"}


def read(url: str, path: str) -> str | None:
    if url != "https://git.example.com/me/ops":
        return None  # another repository
    if (url, path) not in FILES:
        raise FileNotFoundError(path)
    return FILES[(url, path)]


def app(source: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "web", "namespace": "gitops"},
            "spec": {"destination": {"namespace": "apps"},
                     "sources": [source, {"repoURL": "https://git.example.com/me/ops",
                                          "ref": "values"}], **extra}}


def test_values_come_in_argo_cds_order() -> None:
    [(release, note)] = chart_releases(app({
        "repoURL": "https://charts.example.com", "chart": "web", "targetRevision": "1.0.0",
        "helm": {"releaseName": "site", "skipCrds": True,
                 "valueFiles": ["$values/values/base.yaml", "$values/values/prod.yaml"],
                 "values": "b: 2\nd: 1\n", "valuesObject": {"b": 3},
                 "parameters": [{"name": "a.x", "value": "5"},
                                {"name": "e", "value": "true", "forceString": True},
                                {"name": "f", "value": "false"}]}}), read)
    assert note is None
    # Files merged in order; valuesObject wins over the values text (not merged with it);
    # parameters last, typed as --set types them unless forceString.
    assert release.spec["values"] == {"a": {"x": 5, "y": 2}, "b": 3, "c": 1, "e": "true",
                                      "f": False}
    assert (release.name, release.namespace, release.release_name) == ("web", "apps", "site")
    assert not release.include_crds
    assert release.label == "Argo CD Application gitops/web"
    assert release.source == ChartSource("web", "1.0.0", "HelmRepository",
                                         "https://charts.example.com")


def test_an_oci_chart_is_named_with_or_without_its_scheme() -> None:
    for url in ("ghcr.io/org/charts", "oci://ghcr.io/org/charts/"):
        [(release, _)] = chart_releases(app({"repoURL": url, "chart": "web",
                                             "targetRevision": "2.0.0"}), read)
        assert release.source == ChartSource("web", "2.0.0", "OCIRepository",
                                             "oci://ghcr.io/org/charts/web")
        assert release.release_name == "web"


def test_value_files_not_readable_here_are_said_not_guessed() -> None:
    other = app({"repoURL": "https://charts.example.com", "chart": "web",
                 "helm": {"valueFiles": ["$values/values/base.yaml"]}})
    other["spec"]["sources"][1]["repoURL"] = "https://git.example.com/someone/else"
    assert [note for _, note in chart_releases(other, read)] == [Unrendered(
        "remote-resource", "value file $values/values/base.yaml is in "
        "https://git.example.com/someone/else, not this repository: not fetched (offline), "
        "not templated")]
    missing = chart_releases(app({"repoURL": "https://charts.example.com", "chart": "web",
                                  "helm": {"valueFiles": ["$values/values/none.yaml"]}}),
                             read)
    assert [note for _, note in missing] == [Unrendered(
        "helm-template", "value file $values/values/none.yaml is not in this repository "
        "(Argo CD fails the sync)")]
    ignored = chart_releases(app({"repoURL": "https://charts.example.com", "chart": "web",
                                  "helm": {"valueFiles": ["$values/values/none.yaml"],
                                           "ignoreMissingValueFiles": True}}), read)
    assert [note for _, note in ignored] == [None]
    unknown_ref = chart_releases(app({"repoURL": "https://charts.example.com", "chart": "web",
                                      "helm": {"valueFiles": ["$cfg/a.yaml"]}}), read)
    assert [n.rule if n else None for _, n in unknown_ref] == ["helm-template"]


def test_sources_without_a_chart_make_no_release() -> None:
    assert chart_releases(app({"repoURL": "https://git.example.com/me/ops", "path": "apps"}),
                          read) == []
