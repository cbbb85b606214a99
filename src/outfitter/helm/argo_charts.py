"""The Helm charts an Argo CD Application installs, as releases `--helm` templates.

A source with `chart` is a chart of a chart repository (`repoURL` https, or an OCI registry:
`oci://…`, or Argo CD's scheme-less form, `ghcr.io/org/charts`), at `targetRevision`. Argo
CD installs it as release `helm.releaseName` (else the Application's name) into
`destination.namespace`, with the values of `helm.valueFiles` in order, then
`helm.valuesObject` (else the `helm.values` text), then `helm.parameters` (`--set`).
A value file of another source is named `$REF/path`: read from this repository when that
source (its `ref`) is this repository, else not fetched (offline) and the chart not
templated; a value file inside the chart is not read here either.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from outfitter import yamlio
from outfitter.helm.charts import ChartSource
from outfitter.helm.release import Release
from outfitter.helm.values import at_path, merge

ARGO_GROUP = "argoproj.io"


@dataclass(frozen=True)
class Unrendered:
    """Why a chart source is not templated here, and the rule of the note that says so."""

    rule: str
    message: str


def chart_releases(app: dict[str, Any], read: Callable[[str, str], str | None],
                   chart_folder: Callable[[str, str], bool] = lambda url, path: False
                   ) -> list[tuple[Release, Unrendered | None]]:
    """One release per chart source of the Application, with why it is not templated
    here when it is not. `read(repo_url, path)`: a file of a repository, when it is this
    one (None for another; FileNotFoundError when this one has no such file).
    `chart_folder(repo_url, path)`: the path is a chart folder of this repository (a
    source Argo CD templates with helm, its value files relative to it)."""
    meta = _dict(app.get("metadata"))
    spec = _dict(app.get("spec"))
    name = str(meta.get("name") or "")
    label = f"Argo CD Application {meta.get('namespace') or 'argocd'}/{name}"
    namespace = str(_dict(spec.get("destination")).get("namespace") or "default")
    listed = spec.get("sources")
    sources = [s for s in listed if isinstance(s, dict)] if isinstance(listed, list) \
        and listed else [_dict(spec.get("source"))]
    refs = {str(s["ref"]): str(s.get("repoURL") or "") for s in sources if s.get("ref")}
    out: list[tuple[Release, Unrendered | None]] = []
    for source in sources:
        url = str(source.get("repoURL") or "")
        path = str(source.get("path") or "").strip("/").removeprefix("./")
        here = not source.get("chart") and "path" in source and chart_folder(url, path)
        if not (source.get("chart") or here):
            continue
        helm = _dict(source.get("helm"))
        note = None
        try:
            values = _values(helm, refs, read, (url, path or ".") if here else None)
        except _NotRead as why:
            values, note = {}, Unrendered(why.rule, str(why))
        release_spec: dict[str, Any] = {"releaseName": str(helm.get("releaseName") or name),
                                        "values": values}
        if helm.get("skipCrds") is True:
            release_spec["install"] = {"crds": "Skip"}
        chart = ChartSource(posixpath.basename(path) or name, None, "Repository", url,
                            git_path=path or ".") if here else _chart(source)
        out.append((Release(name, namespace, release_spec, source=chart, title=label), note))
    return out


class _NotRead(Exception):
    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule


def _values(helm: dict[str, Any], refs: dict[str, str],
            read: Callable[[str, str], str | None], chart: tuple[str, str] | None
            ) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for entry in helm.get("valueFiles") or []:
        values = merge(values, _value_file(str(entry), refs, read,
                                           helm.get("ignoreMissingValueFiles") is True, chart))
    inline = helm.get("valuesObject")
    if not isinstance(inline, dict) and isinstance(helm.get("values"), str):
        try:
            inline = yamlio.load_checked(helm["values"], where="helm.values")
        except yamlio.YamlInputError as err:
            raise _NotRead("helm-template", f"helm.values: {err}") from None
    if isinstance(inline, dict):
        values = merge(values, inline)
    for parameter in helm.get("parameters") or []:
        if isinstance(parameter, dict) and parameter.get("name"):
            value = str(parameter.get("value", ""))
            typed = value if parameter.get("forceString") is True else _scalar(value)
            values = merge(values, _replace_leaf(at_path(str(parameter["name"]), value), typed))
    return values


def _value_file(entry: str, refs: dict[str, str], read: Callable[[str, str], str | None],
                ignore_missing: bool, chart: tuple[str, str] | None) -> dict[str, Any]:
    """A value file's values: `$ref/path`, or (for a chart of this repository, `chart`:
    its URL and path) a path relative to the chart's folder."""
    if entry.startswith("$"):
        ref, _, path = entry[1:].partition("/")
        if ref not in refs:
            raise _NotRead("helm-template", f"value file {entry}: no source has ref {ref!r}")
        url = refs[ref]
    elif chart is not None and "://" not in entry:
        url, path = chart[0], posixpath.normpath(posixpath.join(chart[1], entry))
    else:
        raise _NotRead("argocd-not-rendered", f"value file {entry} is read from the chart, "
                       f"not here: not templated")
    try:
        text = read(url, path)
    except FileNotFoundError:
        if ignore_missing:
            return {}
        raise _NotRead("helm-template", f"value file {entry} is not in this repository "
                       f"(Argo CD fails the sync)") from None
    if text is None:
        raise _NotRead("remote-resource", f"value file {entry} is in {url}, not this "
                       f"repository: not fetched (offline), not templated")
    try:
        loaded = yamlio.load_checked(text, where=entry) if text.strip() else {}
    except yamlio.YamlInputError as err:
        raise _NotRead("helm-template", f"value file {entry}: {err}") from None
    if loaded is not None and not isinstance(loaded, dict):
        raise _NotRead("helm-template", f"value file {entry} is not a map of values")
    return loaded or {}


def _chart(source: dict[str, Any]) -> ChartSource:
    chart = str(source["chart"])
    version = str(source.get("targetRevision") or "") or None
    url = str(source.get("repoURL") or "").rstrip("/")
    if url.startswith(("https://", "http://")):
        return ChartSource(chart, version, "HelmRepository", url)
    # Argo CD names an OCI registry without a scheme (or, lately, with oci://).
    return ChartSource(chart, version, "OCIRepository",
                       f"oci://{url.removeprefix('oci://')}/{chart}")


def _scalar(text: str) -> Any:
    """A --set value as helm types it: true/false, null, integers; else the string."""
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    try:
        return int(text)
    except ValueError:
        return text


def _replace_leaf(tree: dict[str, Any], value: Any) -> dict[str, Any]:
    return {k: _replace_leaf(v, value) if isinstance(v, dict) else value
            for k, v in tree.items()}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
