"""The HelmReleases of a tree, gathered object by object (as validate's pass sees them) and
templated once the whole tree is read: their chart sources and valuesFrom ConfigMaps and
Secrets may come later in the tree than the release itself.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from outfitter.helm.argo_charts import ARGO_GROUP, Unrendered, chart_releases
from outfitter.helm.charts import ChartSource, ChartStore, ChartUnavailable
from outfitter.helm.local_charts import local_chart
from outfitter.helm.postrender import post_render
from outfitter.helm.release import Release, ValuesError, values_of
from outfitter.helm.template import RenderedObject, TemplateError, template
from outfitter.validate.refs import CLUSTER_SCOPED

HELM_GROUP = "helm.toolkit.fluxcd.io"
SOURCE_GROUP = "source.toolkit.fluxcd.io"

T = TypeVar("T")  # where a HelmRelease was found (validate's Where, a file name, …)


@dataclass
class Outcome(Generic[T]):
    release: Release
    origin: T
    chart: str = ""  # "name version"
    objects: list[RenderedObject] = field(default_factory=list)
    error: str | None = None
    error_rule: str = "helm-template"  # or "helm-chart": the chart could not be had


def _no_repository(path: str) -> str:
    raise FileNotFoundError(path)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _decoded(value: Any) -> str:
    try:
        return base64.b64decode(str(value), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return str(value)


class Templater(Generic[T]):
    """Collects HelmReleases, their sources and valuesFrom data; templates them on demand."""

    def __init__(self, helm: str, store: ChartStore, *, kube_version: str | None = None,
                 api_versions: Iterable[str] = (),
                 cluster_scoped: Callable[[str, str], bool] = lambda group, kind: False,
                 memo: dict[str, list[RenderedObject]] | None = None) -> None:
        self.helm = helm
        # Output by everything that decides it: a release with the same inputs is templated
        # once (diff shares one memo between its sides, so a release the change does not
        # touch shows no change, even where the chart generates random values).
        self.memo = memo if memo is not None else {}
        self.store = store
        self.kube_version = kube_version
        self.api_versions = set(api_versions)
        self._scoped_elsewhere = cluster_scoped
        self.cluster_kinds: set[tuple[str, str]] = set(CLUSTER_SCOPED)
        self.releases: list[tuple[Release, T]] = []
        self.unrendered: dict[int, Unrendered] = {}  # id(release) -> why it is not
        # A file of a repository (URL, path), when it is the one validated: an Argo CD
        # Application's value files (helm.argo_charts). None: another repository.
        self.read_repository: Callable[[str, str], str | None] = lambda url, path: None
        # The repository validated, when there is one (helm.local_charts): whether a URL
        # or a source (kind, namespace, name) is it; a file's text and a folder's path by
        # their path in it (FileNotFoundError: no such file or folder); whether a path
        # stays inside it.
        self.is_own: Callable[[str], bool] = lambda url: False
        self.own_sources: frozenset[tuple[str, str, str]] = frozenset()
        self.repository_file: Callable[[str], str] = _no_repository
        self.repository_folder: Callable[[str], str] = _no_repository
        self.inside: Callable[[str], bool] = lambda path: False
        self.sources: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.data: dict[tuple[str, str, str], dict[str, str] | None] = {}

    def cluster_scoped(self, group: str, kind: str) -> bool:
        return (group, kind) in self.cluster_kinds or self._scoped_elsewhere(group, kind)

    def observe(self, obj: dict[str, Any], origin: T) -> None:
        api = str(obj.get("apiVersion", ""))
        group = api.rpartition("/")[0]
        kind = str(obj.get("kind", ""))
        meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
        ns = str((meta or {}).get("namespace") or "default")
        name = str((meta or {}).get("name") or "")
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        if group == HELM_GROUP and kind == "HelmRelease":
            self.releases.append((Release(name, ns, dict(spec or {})), origin))
        elif group == ARGO_GROUP and kind == "Application":
            for release, note in chart_releases(obj, self.read_repository,
                                                self._chart_folder_here):
                self.releases.append((release, origin))
                if note is not None:
                    self.unrendered[id(release)] = note
        elif group == SOURCE_GROUP:
            self.sources[(kind, ns, name)] = dict(spec or {})
        elif group == "" and kind in ("ConfigMap", "Secret"):
            if kind == "Secret" and "sops" in obj:
                self.data[(kind, ns, name)] = None
                return
            values: dict[str, str] = {}
            for fld in ("data", "stringData"):
                for key, value in (obj.get(fld) or {}).items() \
                        if isinstance(obj.get(fld), dict) else []:
                    values[str(key)] = _decoded(value) if kind == "Secret" and fld == "data" \
                        else str(value)
            self.data[(kind, ns, name)] = values
        if group == "apiextensions.k8s.io" and kind == "CustomResourceDefinition":
            self._crd_versions(spec or {})

    def _crd_versions(self, spec: dict[str, Any]) -> None:
        group = spec.get("group")
        names = spec.get("names") if isinstance(spec.get("names"), dict) else {}
        if spec.get("scope") == "Cluster" and group and (names or {}).get("kind"):
            self.cluster_kinds.add((str(group), str((names or {})["kind"])))
        for version in spec.get("versions") or []:
            if isinstance(version, dict) and version.get("served", True) and group:
                self.api_versions.add(f"{group}/{version.get('name')}")
                kind = (spec.get("names") or {}).get("kind")
                if kind:
                    self.api_versions.add(f"{group}/{version.get('name')}/{kind}")

    # -- sources ---------------------------------------------------------------------------

    def chart_source(self, release: Release) -> ChartSource:
        if release.source is not None:
            return release.source
        spec = release.spec
        ref = spec.get("chartRef")
        if isinstance(ref, dict) and ref.get("name"):
            kind = str(ref.get("kind") or "OCIRepository")
            key = (kind, str(ref.get("namespace") or release.namespace), str(ref["name"]))
            source = self.sources.get(key)
            if source is None:
                raise ChartUnavailable(f"chartRef {kind} {key[1]}/{key[2]} is not in the tree")
            if kind == "HelmChart":
                return self._helm_chart(source, key[1])
            url = str(source.get("url") or "")
            oci_ref = source.get("ref") if isinstance(source.get("ref"), dict) else {}
            version = (oci_ref or {}).get("tag") or (oci_ref or {}).get("semver")
            name = url.rstrip("/").rsplit("/", 1)[-1]
            return ChartSource(name, None if version is None else str(version),
                               "OCIRepository", url)
        chart = spec.get("chart") if isinstance(spec.get("chart"), dict) else {}
        inner = (chart or {}).get("spec") if isinstance((chart or {}).get("spec"), dict) else {}
        if not inner or not inner.get("chart"):
            raise ChartUnavailable("neither spec.chart.spec.chart nor spec.chartRef is set")
        return self._helm_chart(inner, release.namespace)

    def _helm_chart(self, inner: dict[str, Any], namespace: str) -> ChartSource:
        name = str(inner.get("chart"))
        version = inner.get("version")
        source_ref = inner.get("sourceRef") if isinstance(inner.get("sourceRef"), dict) else {}
        kind = str((source_ref or {}).get("kind") or "HelmRepository")
        key = (kind, str((source_ref or {}).get("namespace") or namespace),
               str((source_ref or {}).get("name") or ""))
        source = self.sources.get(key)
        if kind == "GitRepository" and (key in self.own_sources or self.is_own(
                str((source or {}).get("url") or ""))):
            # The repository validated: the chart as it stands in the checkout.
            folder = name.strip("/").removeprefix("./")
            return ChartSource(folder.rsplit("/", 1)[-1], None, "Repository",
                               str((source or {}).get("url") or ""), git_path=folder)
        if kind == "GitRepository":
            git_ref = (source or {}).get("ref") if isinstance((source or {}).get("ref"),
                                                              dict) else {}
            tag = (git_ref or {}).get("tag") or (git_ref or {}).get("branch") or \
                (git_ref or {}).get("name")
            folder = name.strip("/").removeprefix("./")
            chart_name = folder.rsplit("/", 1)[-1]
            return ChartSource(chart_name, None, kind, str((source or {}).get("url") or ""),
                               git_ref=None if tag is None else str(tag).removeprefix(
                                   "refs/tags/"), git_path=folder)
        if source is None:
            # Not in the tree: the chart can still be found locally by name and version.
            return ChartSource(name, None if version in (None, "*") else str(version), "Local")
        url = str(source.get("url") or "")
        if kind == "HelmRepository" and (str(source.get("type")) == "oci" or
                                         url.startswith("oci://")):
            return ChartSource(name, None if version is None else str(version),
                               "OCIRepository", f"{url.rstrip('/')}/{name}")
        if kind != "HelmRepository":
            raise ChartUnavailable(f"chart {name} from a {kind}: not supported")
        return ChartSource(name, None if version in (None, "*") else str(version), kind, url)

    # -- templating ---------------------------------------------------------------------

    def render(self, release: Release, origin: T) -> Outcome[T]:
        outcome: Outcome[T] = Outcome(release, origin)
        note = self.unrendered.get(id(release))
        if note is not None:
            given = release.source
            outcome.chart = f"{given.name} {given.version or ''}".strip() if given else ""
            outcome.error, outcome.error_rule = note.message, note.rule
            return outcome
        try:
            source = self.chart_source(release)
            outcome.chart = f"{source.name} {source.version or ''}".strip()
            chart: Path = self._repository_chart(release, source) \
                if source.kind == "Repository" else self.store.get(source)
        except ChartUnavailable as err:
            outcome.error, outcome.error_rule = str(err), "helm-chart"
            return outcome
        try:
            values = values_of(release, lambda k, ns, n: self.data.get((k, ns, n)))
        except ValuesError as err:
            outcome.error = str(err)
            return outcome
        key = json.dumps([str(chart.resolve()), release.name, release.namespace,
                          release.release_name, release.target_namespace,
                          release.include_crds, values, release.spec.get("postRenderers"),
                          self.kube_version, sorted(self.api_versions)],
                         sort_keys=True, default=str)
        if key in self.memo:
            outcome.objects = copy.deepcopy(self.memo[key])
            return outcome
        try:
            objects = template(self.helm, release, chart, values,
                               kube_version=self.kube_version,
                               api_versions=self.api_versions,
                               cluster_scoped=self.cluster_scoped)
            outcome.objects = post_render(objects, release.spec.get("postRenderers"))
        except TemplateError as err:
            outcome.error = str(err)
            return outcome
        self.memo[key] = copy.deepcopy(outcome.objects)
        return outcome

    def _chart_folder_here(self, url: str, path: str) -> bool:
        """A folder of the repository validated (named by `url`) holding a Chart.yaml."""
        if not self.is_own(url):
            return False
        try:
            folder = self.repository_folder(path or ".")
        except FileNotFoundError:
            return False
        chart = os.path.join(folder, "Chart.yaml")
        return self.inside(chart) and os.path.isfile(chart)

    def _repository_chart(self, release: Release, source: ChartSource) -> Path:
        """The chart in a folder of the repository validated, with the release's
        valuesFiles (paths in the source) in place of its values.yaml."""
        path = source.git_path or "."
        try:
            folder = self.repository_folder(path)
        except FileNotFoundError:
            raise ChartUnavailable(f"{path}: no such folder in this repository") from None
        inner = _dict(_dict(release.spec.get("chart")).get("spec"))
        ignore_missing = inner.get("ignoreMissingValuesFiles") is True
        values_files: list[tuple[str, str]] = []
        for given in inner.get("valuesFiles") or []:
            file = str(given).strip("/").removeprefix("./")
            try:
                values_files.append((file, self.repository_file(file)))
            except FileNotFoundError:
                if not ignore_missing:
                    raise ChartUnavailable(f"values file {given} is not in this repository "
                                           f"(source-controller fails the chart)") from None
        return local_chart(folder, self.inside, self.store, values_files, shown=path)

    def render_all(self) -> list[Outcome[T]]:
        return [self.render(release, origin) for release, origin in self.releases]
