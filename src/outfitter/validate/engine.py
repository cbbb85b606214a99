"""`outfitter validate`: a Flux repository checked file by file, as Flux and the API server
would see it.

One streaming pass: each directory is built as Flux builds it (validate.kustomize), each
object is checked as it comes out (schema, lint, Flux overlay) and reduced to a small
reference record (validate.refs); the object itself is then dropped, so memory follows the
number of objects, not their size. References, HelmRelease values (the chart's source may
come later in the tree) and line numbers (a node-level parse of files with findings only)
are resolved at the end.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from outfitter import yamlio
from outfitter.validate import lint as lint_
from outfitter.validate.chart_values import ChartLibrary
from outfitter.validate.crd_schema import CrdIndex, Key
from outfitter.validate.documents import (
    InputProblem,
    LineFinder,
    ManifestLoader,
    is_sops,
    iter_docs,
    kind_name,
    load_docs,
    read_text,
)
from outfitter.validate.findings import Finding, Report, ignored_rules
from outfitter.validate.helmrelease import ChartSpec, chart_of, check_values
from outfitter.validate.k8s_schema import BuiltinSchemas
from outfitter.validate.kustomize import (
    FLUX_KS_API,
    KUSTOMIZATION_FILES,
    KUSTOMIZE_API,
    Builder,
    Built,
    DocItem,
    Overlay,
    has_vars,
    is_yaml,
    norm,
)
from outfitter.validate.refs import HELM_RELEASE, RefIndex, Where, oci_chart_name
from outfitter.validate.substitute import disabled, substitute

ALL_CHECKS = frozenset({"schema", "flux", "refs", "values", "lint"})


class Cluster(Protocol):
    def exists(self, group: str, kind: str, namespace: str, name: str) -> bool | None: ...

    def dry_run(self, obj: dict[str, Any]) -> tuple[str, str] | None: ...


@dataclass
class Options:
    strict: bool = True
    builtin: BuiltinSchemas | None = None
    crds: CrdIndex = field(default_factory=CrdIndex)
    charts: ChartLibrary | None = None
    known_namespaces: frozenset[str] = frozenset()
    cluster: Cluster | None = None  # references looked up there
    server: bool = False  # every object dry-run applied to `cluster`
    checks: frozenset[str] = ALL_CHECKS


@dataclass
class _FluxKs:
    overlay: Overlay
    folder: Path | None


class Validator:
    def __init__(self, root: Path, options: Options) -> None:
        self.root = root.resolve()
        self.base = self.root if self.root.is_dir() else self.root.parent
        self._prefix = str(self.base).rstrip(os.sep) + os.sep
        self._rels: dict[Path, str] = {}
        self.opts = options
        self.report = Report(root=str(root))
        self.builder = Builder()
        self.refs = RefIndex(scoped=self._scoped)
        self.refs.known_namespaces = self.refs.known_namespaces | options.known_namespaces
        self._not_validated: dict[tuple[str, str], list[str]] = {}
        self._releases: list[tuple[Any, Where, frozenset[str]]] = []
        self._chart_sources: dict[tuple[str, str, str], ChartSpec] = {}
        self._server_deferred: list[tuple[Where, str, str, tuple[str, str]]] = []
        self._subst: dict[tuple[str, str, str], dict[str, str] | None] = {}
        self._ignores: dict[tuple[str, int | None, str, str], frozenset[str]] = {}
        self._unresolved = False  # the current object kept `${VAR}`s whose value is unknown

    # -- the pass ------------------------------------------------------------------------

    def run(self) -> Report:
        files = self._files()
        self.report.files = len(files)
        flux_ks = self._prescan(files)
        units = self._units(files, flux_ks)
        for folder, ks in units:
            overlay = ks.overlay if ks is not None else None
            for built in self.builder.build(folder, overlay):
                self._object(built, ks)
        for path in files:
            if path in self.builder.consumed or path.name in KUSTOMIZATION_FILES:
                continue
            owner = self._kustomize_owner(path)
            if owner is not None:
                self._not_included(path, owner)
                continue
            for built in self._plain(path):
                self._object(built, None)
        for problem in self.builder.problems:
            self._add(Finding(problem.rule, self._rel(problem.file), problem.message,
                              line=problem.line))
        self._finish()
        return self.report

    def _files(self) -> list[Path]:
        if self.root.is_file():
            return [self.root]
        out = []
        for current, dirs, names in os.walk(self.root):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            out += [Path(current) / n for n in sorted(names) if is_yaml(Path(n))
                    or n == "Kustomization"]
        return out

    def _rel(self, path: Path) -> str:
        """The path as reported; one string per file, shared by its objects' records."""
        found = self._rels.get(path)
        if found is None:
            text = str(path)
            found = text[len(self._prefix):].replace(os.sep, "/") \
                if text.startswith(self._prefix) else path.as_posix()
            self._rels[path] = found
        return found

    def _prescan(self, files: list[Path]) -> list[_FluxKs]:
        """CRDs (their schemas are needed before the pass) and Flux Kustomizations (they
        decide how directories are built); the files' text is read, few are parsed."""
        flux_ks: list[_FluxKs] = []
        wanted: set[str] = set()
        candidates: list[Path] = []
        for path in files:
            text = read_text(path)
            if isinstance(text, InputProblem):
                continue  # reported when the file is validated
            crd = "CustomResourceDefinition" in text
            flux = FLUX_KS_API in text
            if "kind: ConfigMap" in text or "kind: Secret" in text:
                candidates.append(path)
            if not (crd or flux):
                continue
            items: list[DocItem] = list(iter_docs(text))
            if crd:  # CRD files are large: parsed once, the pass takes them from here
                self.builder.preparsed[path] = items
            for item in items:
                if isinstance(item, InputProblem):
                    break
                doc = item[1]
                if not isinstance(doc, dict):
                    continue
                if crd and doc.get("kind") == "CustomResourceDefinition" and \
                        "schema" in self.opts.checks:
                    self.opts.crds.add_crd(doc)
                if doc.get("kind") == "Kustomization" and \
                        str(doc.get("apiVersion", "")).startswith(FLUX_KS_API + "/"):
                    ks = self._flux_ks(doc, path)
                    if ks is not None:
                        flux_ks.append(ks)
                        post = ks.overlay.spec.get("postBuild") or {}
                        wanted |= {str(r.get("name")) for r in post.get("substituteFrom") or []
                                   if isinstance(r, dict)}
        if wanted:
            self._substitution_sources(candidates, wanted)
        return flux_ks

    def _flux_ks(self, doc: dict[str, Any], path: Path) -> _FluxKs | None:
        meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
        spec = doc.get("spec") if isinstance(doc.get("spec"), dict) else {}
        if not isinstance(spec, dict) or not isinstance(meta, dict):
            return None
        overlay = Overlay(str(meta.get("name", "")), str(meta.get("namespace") or "default"),
                          path, spec)
        rel = str(spec.get("path") or "./").strip()
        folder = None
        base = self.root if self.root.is_dir() else self.root.parent
        for candidate_root in (base, *base.parents):
            candidate = norm(candidate_root / rel)
            if candidate.is_dir():
                folder = candidate
                break
            if (candidate_root / ".git").exists():
                break
        source = spec.get("sourceRef") if isinstance(spec.get("sourceRef"), dict) else {}
        this_repo = (source or {}).get("kind") == "GitRepository" and \
            (source or {}).get("name") == "flux-system"
        if folder is None and this_repo and "flux" in self.opts.checks:
            self._add(Finding("flux-path", self._rel(path),
                              f"spec.path {rel!r} is not a directory of this repository",
                              f"Kustomization {overlay.namespace}/{overlay.name}",
                              kind_name=("Kustomization", overlay.name), path=("spec", "path")))
        if folder is not None and folder != base and base not in folder.parents:
            folder = None  # another part of the repository: not validated here
        return _FluxKs(overlay, folder)

    def _substitution_sources(self, candidates: list[Path], wanted: set[str]) -> None:
        for path in candidates:
            docs, _ = load_docs(path)
            for doc in docs:
                if not isinstance(doc, dict) or doc.get("kind") not in ("ConfigMap", "Secret"):
                    continue
                kind, name = kind_name(doc)
                if name not in wanted:
                    continue
                ns = str((doc.get("metadata") or {}).get("namespace") or "")
                values: dict[str, str] | None = {}
                if kind == "Secret" and is_sops(doc):
                    values = None  # encrypted: its values are unknown here
                else:
                    assert values is not None
                    for fld in ("data", "stringData"):
                        for k, v in (doc.get(fld) or {}).items():
                            values[str(k)] = _decoded(v) if fld == "data" and kind == "Secret" \
                                else str(v)
                self._subst[(kind, ns, name)] = values

    def _units(self, files: list[Path], flux_ks: list[_FluxKs]
               ) -> list[tuple[Path, _FluxKs | None]]:
        kdirs = sorted({p.parent for p in files if p.name in KUSTOMIZATION_FILES})
        included: set[Path] = set()
        for folder in kdirs:
            for doc in self.builder.kustomization_docs(folder):
                if not isinstance(doc, dict):
                    continue
                for entry in (doc.get("resources") or []) + (doc.get("components") or []):
                    if isinstance(entry, str) and "://" not in entry:
                        target = norm(folder / entry)
                        if target.is_dir():
                            included.add(target)
        units: list[tuple[Path, _FluxKs | None]] = []
        flux_dirs = set()
        for ks in flux_ks:
            if ks.folder is not None:
                units.append((ks.folder, ks))
                flux_dirs.add(ks.folder)
                if self.builder.kustomization_file(ks.folder) is None:
                    # Flux's generated kustomization includes these folders whole.
                    included |= {e for e in self.builder.generated_entries(ks.folder)
                                 if e.is_dir()}
        units += [(d, None) for d in kdirs if d not in included and d not in flux_dirs]
        return units

    def _kustomize_owner(self, path: Path) -> Path | None:
        for parent in path.parents:
            if self.builder.kustomization_file(parent) is not None:
                return parent
            if parent == self.root:
                break
        return None

    def _not_included(self, path: Path, owner: Path) -> None:
        text = read_text(path)
        if isinstance(text, InputProblem) or "apiVersion" not in text or "kind" not in text:
            return
        kfile = self.builder.kustomization_file(owner)
        self._add(Finding("not-included", self._rel(path),
                          f"no kustomization lists this file (nearest: {self._rel(kfile)})"
                          if kfile else "no kustomization lists this file", line=1))

    def _plain(self, path: Path) -> Iterator[Built]:
        for item in self.builder.documents(path):
            if isinstance(item, InputProblem):
                self._add(Finding(item.rule, self._rel(path), item.message, line=item.line))
                return
            index, doc = item
            if doc is None:
                continue
            if not isinstance(doc, dict):
                self._add(Finding("schema", self._rel(path),
                                  f"document {index + 1} is not a Kubernetes object (a map)",
                                  doc=index))
                continue
            if str(doc.get("apiVersion", "")).startswith(KUSTOMIZE_API + "/"):
                continue
            yield Built(doc, path, index)

    # -- one object -----------------------------------------------------------------------

    def _object(self, built: Built, ks: _FluxKs | None) -> None:
        obj = built.obj
        rel = self._rel(built.file)
        kind, name = kind_name(obj)
        self._unresolved = False
        if ks is not None:
            obj = self._overlay(obj, built, ks, rel)
        meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
        ns = str((meta or {}).get("namespace") or "")
        where = Where(rel, built.doc, kind, name, ns)
        ignored = ignored_rules(obj)
        if ignored:
            self._ignores[(rel, built.doc, kind, name)] = ignored
        api_version = str(obj.get("apiVersion", ""))
        group, _, version = api_version.rpartition("/")
        self.report.objects += 1

        if "schema" in self.opts.checks:
            self._schema(obj, (group, version, kind), where, ignored)
        if "lint" in self.opts.checks:
            for hit in lint_.lint(obj, group):
                if hit.rule not in ignored:
                    self._add(_finding(hit.rule, where, hit.message, hit.path))
        if "refs" in self.opts.checks or "values" in self.opts.checks:
            self.refs.add(obj, group, where)
            if group == "source.toolkit.fluxcd.io":
                self._chart_source(obj, kind, ns, name)
            if (group, kind) == HELM_RELEASE and "values" in self.opts.checks \
                    and self.opts.charts is not None:
                # Checked at the end: its chart source may come later in the tree. Only
                # with --charts, and only the spec, is kept.
                self._releases.append((obj.get("spec"), where, ignored))
        if self.opts.server and self.opts.cluster is not None:
            failure = self.opts.cluster.dry_run(_without_sops(obj))
            if failure is not None and "server-dry-run" not in ignored:
                self._server_deferred.append((where, failure[0], failure[1], (group, kind)))

    def _schema(self, obj: dict[str, Any], key: Key, where: Where,
                ignored: frozenset[str]) -> None:
        group, version, kind = key
        if not kind or not version:
            self._add(_finding("schema", where, "not a Kubernetes object: apiVersion and kind "
                               "are required", ()))
            return
        checked = _without_sops(obj)
        builtin = self.opts.builtin
        problems = None
        if builtin is not None and builtin.knows(key):
            problems = builtin.validate(checked, key)
        elif self.opts.crds.has(key):
            problems = self.opts.crds.validate(checked, key)
        if problems is None:
            self._not_validated.setdefault((f"{group}/{version}" if group else version, kind),
                                           []).append(where.file)
            return
        self.report.validated += 1
        for problem in problems:
            rule = "unknown-field" if problem.unknown_field else "schema"
            if rule in ignored:
                continue
            if self._unresolved and has_vars(_value_at(obj, problem.at)):
                continue  # `${VAR}` from a source not readable here: Flux fills it in
            at = f"{problem.path}: " if problem.path else ""
            self._add(_finding(rule, where, f"{at}{problem.message}", problem.at))

    def _overlay(self, obj: dict[str, Any], built: Built, ks: _FluxKs, rel: str
                 ) -> dict[str, Any]:
        spec = ks.overlay.spec
        common = spec.get("commonMetadata") if isinstance(spec.get("commonMetadata"), dict) \
            else None
        if common:
            meta = obj.setdefault("metadata", {})
            if isinstance(meta, dict):
                for fld in ("labels", "annotations"):
                    if isinstance(common.get(fld), dict):
                        current: dict[str, Any] = meta[fld] if isinstance(meta.get(fld), dict) \
                            else {}
                        meta[fld] = {**current, **common[fld]}
        post = spec.get("postBuild") if isinstance(spec.get("postBuild"), dict) else None
        if post and not disabled(obj) and has_vars(obj):
            obj = self._substitute(obj, built, ks, post, rel)
        if is_sops(obj) and not spec.get("decryption") and "flux" in self.opts.checks:
            kind, name = kind_name(obj)
            self._add(Finding("sops-no-decryption", rel,
                              f"SOPS-encrypted, but Flux Kustomization "
                              f"{ks.overlay.namespace}/{ks.overlay.name} has no "
                              f"spec.decryption: Flux would apply it still encrypted",
                              f"{kind} {name}", doc=built.doc, kind_name=(kind, name)))
        return obj

    def _substitute(self, obj: dict[str, Any], built: Built, ks: _FluxKs,
                    post: dict[str, Any], rel: str) -> dict[str, Any]:
        values: dict[str, str] = {}
        complete = True  # every source's values are known here
        for ref in post.get("substituteFrom") or []:
            if not isinstance(ref, dict):
                continue
            source_kind, source = str(ref.get("kind") or "ConfigMap"), str(ref.get("name"))
            key = (source_kind, ks.overlay.namespace, source)
            if key not in self._subst:
                key = (source_kind, "", source)
            if key not in self._subst:
                complete = complete and bool(ref.get("optional"))
                continue
            found = self._subst[key]
            if found is None:
                complete = False
            else:
                values.update(found)
        for k, v in (post.get("substitute") or {}).items():
            values[str(k)] = str(v)  # inline values take precedence, as in Flux
        text, undefined = substitute(yamlio.dump(obj), values)
        if undefined and complete and "flux" in self.opts.checks:
            kind, name = kind_name(obj)
            if "substitute-undefined" not in ignored_rules(obj):
                for var in sorted(set(undefined)):
                    self._add(Finding("substitute-undefined", rel,
                                      f"${{{var}}} is not defined by Flux Kustomization "
                                      f"{ks.overlay.namespace}/{ks.overlay.name} postBuild: it "
                                      f"becomes an empty string", f"{kind} {name}",
                                      doc=built.doc, kind_name=(kind, name)))
        if undefined and not complete:
            self._unresolved = True
            values = {**{v: f"${{{v}}}" for v in undefined}, **values}
            text, _ = substitute(yamlio.dump(obj), values)
        try:
            loaded = yaml.load(text, Loader=ManifestLoader)
        except yaml.YAMLError as err:
            self._add(Finding("schema", rel, f"after postBuild substitution the object is not "
                              f"valid YAML: {err}", doc=built.doc))
            return obj
        return loaded if isinstance(loaded, dict) else obj

    def _chart_source(self, obj: dict[str, Any], kind: str, ns: str, name: str) -> None:
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        assert isinstance(spec, dict)
        if kind == "OCIRepository" and isinstance(spec.get("url"), str):
            ref = spec.get("ref") if isinstance(spec.get("ref"), dict) else {}
            version = (ref or {}).get("tag") or (ref or {}).get("semver")
            self._chart_sources[(kind, ns, name)] = ChartSpec(
                oci_chart_name(spec["url"]), None if version is None else str(version))
        elif kind == "HelmChart" and spec.get("chart"):
            version = spec.get("version")
            self._chart_sources[(kind, ns, name)] = ChartSpec(
                str(spec["chart"]), None if version is None else str(version))

    # -- after the pass ------------------------------------------------------------------

    def _finish(self) -> None:
        if "values" in self.opts.checks and self.opts.charts is not None:
            for spec, where, ignored in self._releases:
                self._values(spec, where, ignored)
        self._releases = []
        if "refs" in self.opts.checks:
            def is_ignored(where: Where, rule: str) -> bool:
                return rule in self._ignored_at(where)

            lookup = self.opts.cluster.exists if self.opts.cluster is not None else None
            for finding in self.refs.check(lookup, is_ignored):
                self._add(finding)
        self._server_resolve()
        for (api_version, kind), places in sorted(self._not_validated.items()):
            self._add(Finding("not-validated", places[0],
                              f"{kind} ({api_version}): no schema known (from the Kubernetes "
                              f"schemas, CRDs in the tree, --schemas or the cluster); "
                              f"{len(places)} object(s) in {len(set(places))} file(s) not "
                              f"validated", kind_name=None))
        self._lines()

    def _ignored_at(self, where: Where) -> frozenset[str]:
        return self._ignores.get((where.file, where.doc, where.kind, where.name), frozenset())

    def _values(self, spec: Any, where: Where, ignored: frozenset[str]) -> None:
        assert self.opts.charts is not None
        if not isinstance(spec, dict):
            return
        chart_spec = chart_of(spec, self._chart_sources, where.namespace)
        if chart_spec is None:
            return
        chart = self.opts.charts.find(chart_spec.name, chart_spec.version)
        if chart is None:
            return
        for problem in check_values(spec.get("values"), chart, self.opts.charts):
            if problem.rule not in ignored:
                self._add(_finding(problem.rule, where, problem.message, problem.path))

    def _server_resolve(self) -> None:
        for where, reason, message, (group, kind) in self._server_deferred:
            if reason == "namespace" and (where.namespace in self.refs.namespaces):
                self._add(_finding("server-skipped", where, f"namespace {where.namespace!r} is "
                                   f"created by this tree: dry run needs it on the cluster", ()))
            elif reason == "kind" and any(k[0] == group and k[2] == kind
                                          for k in self.opts.crds.known()):
                self._add(_finding("server-skipped", where, f"{kind} is defined by a CRD this "
                                   f"tree installs: dry run needs it on the cluster", ()))
            else:
                self._add(_finding("server-dry-run", where, message, ()))
        self._server_deferred = []

    def _lines(self) -> None:
        by_file: dict[str, list[Finding]] = {}
        for finding in self.report.findings:
            if finding.line is None and (finding.doc is not None or finding.kind_name):
                by_file.setdefault(finding.file, []).append(finding)
        base = self.root if self.root.is_dir() else self.root.parent
        for rel, findings in by_file.items():
            text = read_text(base / rel)
            if isinstance(text, InputProblem):
                continue
            finder = LineFinder(text)
            for finding in findings:
                finding.line = finder.line(finding.doc, finding.path, finding.kind_name)

    def _add(self, finding: Finding) -> None:
        self.report.findings.append(finding)

    def _scoped(self, group: str, kind: str) -> bool | None:
        scope = self.opts.crds.scope.get((group, kind))
        return None if scope is None else scope == "Cluster"


def _finding(rule: str, where: Where, message: str, path: tuple[str | int, ...]) -> Finding:
    return Finding(rule, where.file, message, where.label, doc=where.doc, path=path,
                   kind_name=(where.kind, where.name))


def _value_at(obj: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        in_list = isinstance(obj, list) and isinstance(part, int) and 0 <= part < len(obj)
        if not (in_list or (isinstance(obj, dict) and part in obj)):
            return None
        obj = obj[part]
    return obj


def _without_sops(obj: dict[str, Any]) -> dict[str, Any]:
    if "sops" in obj and is_sops(obj):
        return {k: v for k, v in obj.items() if k != "sops"}
    return obj


def _decoded(value: Any) -> str:
    try:
        return base64.b64decode(str(value), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return str(value)


def validate(root: Path, options: Options) -> Report:
    return Validator(root, options).run()
