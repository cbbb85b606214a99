"""What `reloader plan` and `certs migrate` need to know about the repository around one
file: the namespace its objects land in (the Flux Kustomization's `targetNamespace`, the
kustomizations'
`namespace:`, else their own), the chart a HelmRelease installs (through `chartRef` to an
OCIRepository or HelmChart of the tree), and the ConfigMaps and Secrets its `valuesFrom`
can read (documents of applied files and the generators of the same build)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from outfitter.helm import values as helm_values
from outfitter.ops import kustomize
from outfitter.ops.yaml_edit import YamlFile
from outfitter.repo.model import Repository

APP_TEMPLATE = "app-template"


@dataclass(frozen=True)
class Chart:
    name: str | None
    """The chart's name, None when the tree does not tell."""
    why_unknown: str = ""


@dataclass
class Tree:
    repo: Repository
    builds: kustomize.Builds
    root: Path
    objects: dict[tuple[str, str], list[tuple[set[str], dict[str, Any]]]] = field(
        default_factory=dict)
    """(kind, name) → (namespaces it lands in, document) for ConfigMaps and Secrets."""
    sources: dict[tuple[str, str], list[tuple[set[str], dict[str, Any]]]] = field(
        default_factory=dict)
    """(kind, name) → (namespaces, document) for OCIRepositories and HelmCharts."""

    def namespaces(self, path: Path, own: Any) -> set[str]:
        """Where the objects of `path` land (empty: nothing says)."""
        mine = str(own) if own else ""
        apps = self.repo.applications.get(os.path.realpath(path), [])
        found = {a.effective_namespace(mine) for a in apps} or {mine}
        return {ns for ns in found if ns}

    def add(self, path: Path, doc: dict[str, Any]) -> None:
        kind = str(doc.get("kind"))
        meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
        name = str((meta or {}).get("name", ""))
        if not name:
            return
        where = self.namespaces(path, (meta or {}).get("namespace"))
        if kind in ("ConfigMap", "Secret") and str(doc.get("apiVersion")) == "v1":
            self.objects.setdefault((kind, name), []).append((where, doc))
        elif kind in ("OCIRepository", "HelmChart") and str(
                doc.get("apiVersion", "")).startswith("source.toolkit.fluxcd.io/"):
            self.sources.setdefault((kind, name), []).append((where, doc))

    def lookup(self, path: Path, namespaces: set[str]) -> helm_values.Lookup:
        """The data of a ConfigMap/Secret a HelmRelease in `path` reads: a generator of a
        build that includes `path`, else a document landing in the same namespace."""
        generators = self.builds.generator_specs_for(path)

        def find(kind: str, name: str) -> helm_values.Data | None:
            gen = generators.get((kind, name))
            if gen is not None:
                return helm_values.generated_data(gen.files, gen.literals, self.root)
            for where, doc in self.objects.get((kind, name), []):
                if not where or not namespaces or where & namespaces:
                    return helm_values.object_data(doc)
            return None

        return find

    def chart(self, spec: dict[str, Any], namespaces: set[str]) -> Chart:
        chart = spec.get("chart")
        inner = chart.get("spec") if isinstance(chart, dict) else None
        if isinstance(inner, dict) and inner.get("chart"):
            return Chart(str(inner["chart"]).rstrip("/").rsplit("/", 1)[-1])
        ref = spec.get("chartRef")
        if not isinstance(ref, dict) or not ref.get("name"):
            return Chart(None, "no spec.chart or spec.chartRef")
        kind = str(ref.get("kind") or "OCIRepository")
        name = str(ref["name"])
        wanted = {str(ref["namespace"])} if ref.get("namespace") else namespaces
        for where, doc in self.sources.get((kind, name), []):
            if wanted and where and not (where & wanted):
                continue
            src = doc.get("spec")
            src = src if isinstance(src, dict) else {}
            if kind == "OCIRepository" and src.get("url"):
                return Chart(str(src["url"]).rstrip("/").rsplit("/", 1)[-1])
            if kind == "HelmChart" and src.get("chart"):
                return Chart(str(src["chart"]).rstrip("/").rsplit("/", 1)[-1])
        if APP_TEMPLATE in name:
            return Chart(APP_TEMPLATE)  # named for the chart: the usual shared source
        return Chart(None, f"chartRef {kind} {name} is not in the repository")


def scan(repo: Repository, files: list[YamlFile], root: Path) -> Tree:
    """The tree around `files` (the applied files of the repository at `root`)."""
    kustomizations = [k for yf in files for doc in yf.documents
                      if (k := kustomize.read(yf.path, doc.data)) is not None]
    tree = Tree(repo, kustomize.Builds(kustomizations), root)
    for yf in files:
        for doc in yf.documents:
            if isinstance(doc.data, dict):
                tree.add(yf.path, doc.data)
    return tree
