"""`outfitter validate`: a Flux repository checked file by file, as Flux and the API server
would see it.

One streaming pass: each directory is built as Flux builds it (validate.kustomize), each
object is checked as it comes out (schema, lint, Flux overlay) and reduced to a small
reference record (validate.refs); the object itself is then dropped, so memory follows the
number of objects, not their size. References, HelmRelease values (the chart's source may
come later in the tree) and line numbers (a node-level parse of files with findings only)
are resolved at the end.

The pass is planned before it runs (which files each build reads), so that the kustomize
builds it needs run ahead of it on a thread pool, and the files it parses are parsed ahead
of it by a forked copy when there are many (validate.parse_ahead). Before it, the scan reads
every file once and parses those the repository model needs: in forked workers when the
tree is large and the last run did not see it (validate.fork_map), and not at all for a
file the cache knows unchanged by its status (validate.parse_cache). The pass itself stays
in one process: run in two forked halves on the 5,501-manifest bench tree, each half took
two thirds of the whole (pages copied on write) and sending the reference records back
cost the rest.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import marshal
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Protocol

import yaml

from outfitter.repo import model as repo_model
from outfitter.repo.argo import ArgoSource
from outfitter.repo.fs import SourceIgnore, find_git_root, yaml_files
from outfitter.repo.objects import config_values, may_hold_flux, object_like
from outfitter.repo.reach import FLUX_DIRECTORY, Directory
from outfitter.validate import fork_map, quick_yaml, resource_sets
from outfitter.validate import lint as lint_
from outfitter.validate.bootstrap import helmfile_namespaces, templated_helmfiles
from outfitter.validate.crd_schema import CrdIndex, Key
from outfitter.validate.documents import (
    DocItem,
    InputProblem,
    LineFinder,
    ManifestLoader,
    docs_of,
    is_sops,
    iter_docs,
    kind_name,
    parse_file,
    read_text,
)
from outfitter.validate.findings import Finding, Report, ignored_rules
from outfitter.validate.fstree import KUSTOMIZATION_FILES, FsTree, join
from outfitter.validate.helmrelease import ChartSpec, chart_of, check_values
from outfitter.validate.k8s_schema import BuiltinSchemas
from outfitter.validate.kustomize import (
    FLUX_KS_API,
    KUSTOMIZE_API,
    Builder,
    Built,
    Overlay,
    has_vars,
    read_output,
)
from outfitter.validate.parse_ahead import ParseAhead
from outfitter.validate.parse_cache import ParseCache, Seen, encode, parsed, text_digest
from outfitter.validate.refs import (
    HELM_RELEASE,
    SOPS_OPERATORS,
    SOURCE_GROUP,
    RefIndex,
    Where,
    oci_chart_name,
)
from outfitter.validate.substitute import (
    EnvsubstError,
    as_text,
    disabled,
    substitute,
    substitution_runs,
)

if TYPE_CHECKING:
    from outfitter.helm.validation import HelmPass
    from outfitter.validate.chart_values import ChartLibrary

# A Secret a chart renders is not "in plain text in Git": the rule is about the tree's files.
NOT_FOR_CHART_OUTPUT = frozenset({"plaintext-secret"})

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
    helm: HelmPass[Where] | None = None  # --helm: HelmReleases templated, output checked
    # How the repository is entered (--source, --path, --source-dir): repo.model.Options.
    repo: repo_model.Options = field(default_factory=repo_model.Options)
    progress: Callable[[str], None] | None = None  # told how far the pass is, now and then
    # Each object as built and applied (Flux Kustomization "namespace/name", object): the
    # oracle tests compare the builds with flux's and flate's.
    on_object: Callable[[str, dict[str, Any]], None] | None = None
    # Where unchanged files' documents are kept between runs (validate.parse_cache); None:
    # every file parsed (the command line keeps them in the user's cache directory).
    parse_cache: Path | None = None
    # Processes that read and parse the tree's files (validate.fork_map); None: one per core.
    workers: int | None = None
    # The spec.ignore of the GitRepository the tree syncs from (repo.fs.SourceIgnore), once
    # read: validate() reads the tree again when the first reading finds one.
    source_ignore: str | tuple[str, ...] | None = None


@dataclass
class _FluxKs:
    """A build of the pass: a Flux Kustomization's, or an Argo CD Application source's."""

    overlay: Overlay
    folder: str | None
    applied_by: str = ""  # "namespace/name" of the Flux Kustomization (or the Application)
    cluster: str = ""  # the cluster it applies to, in a repository with several
    directory: Directory = FLUX_DIRECTORY  # the files of a folder with no kustomization
    # Argo CD: the destination namespace, where namespaced objects that name none go.
    default_namespace: str = ""
    argo: bool = False


@dataclass(frozen=True, slots=True)
class _Step:
    """One step of the pass, planned before any of them runs: a file of a native build
    ("build"), objects kustomize builds ("kubectl"), a file outside every kustomization
    ("plain"), or one a kustomization should list ("not-included", with its owner)."""

    kind: Literal["build", "kubectl", "plain", "not-included"]
    path: str = ""
    ks: _FluxKs | None = None
    objects: Iterator[Built] | None = None
    owner: str = ""


class Validator:
    def __init__(self, root: Path, options: Options) -> None:
        self.root = os.path.realpath(root)
        self.base = self.root if os.path.isdir(self.root) else os.path.dirname(self.root)
        self._prefix = self.base.rstrip(os.sep) + os.sep
        self._rels: dict[str, str] = {}
        self.opts = options
        self.report = Report(root=str(root))
        self.builder = Builder()
        # What the repository's .sourceignore files leave out, Flux never reads.
        self.builder.fs.hide_with(SourceIgnore(find_git_root(self.base) or self.base,
                                               options.source_ignore))
        self.refs = RefIndex(scoped=self._scoped)
        self.refs.known_namespaces = self.refs.known_namespaces | options.known_namespaces
        # A repository with several clusters: one index per cluster (its objects are
        # duplicates and references of each other only); `self.refs` holds the objects
        # no cluster's build applies.
        self._cluster_refs: dict[str, RefIndex] = {}
        self._cluster = ""  # the cluster of the build being checked
        self._found_in: dict[int, str] = {}  # id(finding) -> its cluster, when it has one
        self._not_validated: dict[tuple[str, str], list[str]] = {}
        self._releases: list[tuple[Any, Where, frozenset[str]]] = []
        # flux-operator: ResourceSets, rendered once the pass has seen every input provider
        # (the ResourceSetInputProviders, by cluster and namespace).
        self._resource_sets: list[tuple[dict[str, Any], Built, _FluxKs | None, Where, int]] = []
        self._input_providers: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._chart_sources: dict[tuple[str, str, str], ChartSpec] = {}
        self._server_deferred: list[tuple[Where, str, str, tuple[str, str]]] = []
        # A substituteFrom source's variables (None for a value SOPS encrypts), or None when
        # not even their names are known.
        self._subst: dict[tuple[str, str, str], dict[str, str | None] | None] = {}
        self._subst_files: dict[tuple[str, str, str], str] = {}  # where each was read
        # Every definition of each, in file order: each cluster takes the one it applies.
        self._subst_defs: dict[tuple[str, str, str],
                               list[tuple[str, dict[str, str | None] | None]]] = {}
        self._ignores: dict[tuple[str, int | None, str, str], frozenset[str]] = {}
        self._unresolved = False  # the current object kept `${VAR}`s whose value is unknown
        self._candidates: list[str] = []  # files that may hold substituteFrom sources
        self._parsed: dict[str, list[Any]] = {}  # documents parsed in the scan (few files)
        self._flux_files: list[str] = []
        self._listed: list[str] = []  # the YAML files of the tree, as Flux's source holds them
        self._objects_in: set[str] = set()  # files whose text names an apiVersion and kind
        self._ahead_at: dict[str, int] = {}  # file -> its index in the copy parsing ahead
        self._components: dict[str, bool] = {}  # folder -> in a Component (_in_component)
        self.repo: repo_model.Repository | None = None

    # -- the pass ------------------------------------------------------------------------

    def run(self) -> Report:
        files = self._files()
        self.report.files = len(files)
        cache = self.builder.cache = ParseCache(self.opts.parse_cache, self.root) \
            if self.opts.parse_cache is not None else None
        ahead: ParseAhead | None = None
        try:
            self._prescan(files)
            ahead = self._parse_ahead(files)
            # Namespaces the bootstrap's helmfile creates exist before Flux applies.
            self.refs.known_namespaces |= helmfile_namespaces(
                [*files, *templated_helmfiles(self.builder.fs)])
            self.repo = self._model()
            if self.repo.source_ignore is not None and self.opts.source_ignore is None:
                raise _SourceIgnored(self.repo.source_ignore)
            self.refs.synced_sources = frozenset().union(
                *(self._synced_sources(cluster) for cluster in self.repo.entry_sources))
            units = self._units()
            # kubectl builds are planned with the pass and run ahead of it on a pool; its
            # threads start after the plan (a copy forked with threads running would
            # inherit their locks held).
            self.builder.hold = True
            steps = self._steps(files, units)
            if ahead is not None:
                ahead.prefer(self._pass_order(steps))
            self.builder.start(ThreadPoolExecutor(
                max_workers=max(2, os.cpu_count() or 1), thread_name_prefix="kustomize")
                if self.builder.can_kustomize else None)
            for number, step in enumerate(steps):
                if self.opts.progress is not None and number % 50 == 0:
                    self.opts.progress(f"validating: {number}/{len(steps)} steps, "
                                       f"{self.report.objects} objects")
                self._cluster = step.ks.cluster if step.ks is not None else ""
                if step.kind == "build":
                    for built in self.builder.file_objects(step.path):
                        self._object(built, step.ks)
                elif step.kind == "kubectl":
                    assert step.objects is not None
                    for built in step.objects:
                        self._object(built, step.ks)
                elif step.kind == "plain":
                    for built in self._plain(step.path):
                        self._object(built, None)
                else:
                    self._not_included(step.path, step.owner)
            self._render_resource_sets()
        finally:
            if self.builder.pool is not None:
                self.builder.pool.shutdown(wait=True, cancel_futures=True)
                self.builder.pool = None
            self.builder.close()
            if ahead is not None:
                ahead.close()
                assert self.builder.cache is not None
                self.builder.cache.ahead = None
        self._cluster = ""
        if cache is not None:
            cache.save()
        for problem in self.builder.problems:
            self._add(Finding(problem.rule, self._rel(problem.file), problem.message,
                              line=problem.line))
        self._finish()
        return self.report

    def _steps(self, files: list[str], units: list[tuple[str, _FluxKs | None]]
               ) -> list[_Step]:
        """The pass in order: the builds of the units, then every file no build consumed
        (the builds decide what they consume when planned, before anything is parsed)."""
        steps: list[_Step] = []
        for folder, ks in units:
            overlay = ks.overlay if ks is not None else None
            for step in self.builder.plan(folder, overlay, directory=ks.directory
                                          if ks is not None else FLUX_DIRECTORY):
                steps.append(_Step("build", step, ks) if isinstance(step, str)
                             else _Step("kubectl", ks=ks, objects=step))
        assert self.repo is not None
        loose = set(self.repo.loose) if self.repo.mode == "loose" else set()
        for path in files:
            if path in self.builder.consumed or \
                    os.path.basename(path) in KUSTOMIZATION_FILES:
                continue
            if path not in loose and path not in self.repo.applications:
                if path in self.repo.not_included:
                    steps.append(_Step("not-included", path, owner=self._kustomize_owner(path)
                                       or os.path.dirname(path)))
                continue  # nothing applies it: one not-applied note for it or its folder
            if not self.repo.boundary.contains(path):
                continue
            steps.append(_Step("plain", path))
        return steps

    def _files(self) -> list[str]:
        if os.path.isfile(self.root):
            return [self.root]
        self._listed = list(yaml_files(self.builder.fs, self.root))
        return self._listed

    def _rel(self, path: str) -> str:
        """The path as reported; one string per file, shared by its objects' records."""
        found = self._rels.get(path)
        if found is None:
            found = path[len(self._prefix):].replace(os.sep, "/") \
                if path.startswith(self._prefix) else path.replace(os.sep, "/")
            self._rels[path] = found
        return found

    def _prescan(self, files: list[str]) -> None:
        """CRDs (their schemas are needed before the pass), Flux objects and kustomization
        files (the repository model reads them); the files' text is read, few are parsed."""
        candidates: list[str] = []
        for path, scan in zip(files, self._scans(files), strict=True):
            if not scan.readable:
                continue  # reported when the file is validated
            if scan.parse and scan.items is None and self.builder.cache is not None:
                # Parsed by a worker, so in the cache; else (a problem) parsed here.
                found = self.builder.cache.get(scan.digest) if scan.digest else None
                scan = scan._replace(items=found) if found is not None else \
                    scan_file(path, cache=self.builder.cache)
            if self.builder.cache is not None and scan.seen is not None \
                    and scan.digest is not None:
                self.builder.cache.record(path, scan.seen, scan.digest, scan.flags)
            if scan.text is not None or scan.digest is not None:
                # Kept for the pass (one read per file), up to a bound: memory stays flat;
                # or its digest alone, when the cache holds its documents.
                self.builder.texts[path] = (scan.text, scan.digest)
            if scan.objects:
                self._objects_in.add(path)
            if scan.candidate:
                candidates.append(path)
            if scan.items is None:
                continue
            items = scan.items
            self._parsed[path] = docs_of(items)[0]
            if scan.flux:
                self._flux_files.append(path)
            if os.path.basename(path) in KUSTOMIZATION_FILES:
                self.builder.kustomization_read(path, items)
            if not (scan.crd or scan.flux):
                continue
            flux_only = True  # Flux Kustomizations only: kept for the pass, like CRD files
            for item in items:
                if isinstance(item, InputProblem):
                    flux_only = False
                    break
                doc = item[1]
                if not isinstance(doc, dict):
                    flux_only = flux_only and doc is None
                    continue
                if scan.crd and doc.get("kind") == "CustomResourceDefinition" and \
                        "schema" in self.opts.checks:
                    self.opts.crds.add_crd(doc)
                if not (doc.get("kind") == "Kustomization" and
                        str(doc.get("apiVersion", "")).startswith(FLUX_KS_API + "/")):
                    flux_only = False
            if scan.crd or flux_only:  # parsed once: the pass takes them from here
                self.builder.preparsed[path] = items
        self._candidates = candidates

    def _scans(self, files: list[str]) -> Iterator[_Scan]:
        """Every file scanned: in forked workers when the tree is large enough and the
        last run did not see it (the documents they parse handed over through the parse
        cache), else here, one at a time (a warm cache leaves too little work to share)."""
        workers = fork_map.workers_for(len(files), self.opts.workers)
        cache = self.builder.cache
        if cache is not None:
            cache.files = len(files)
        warm = cache is not None and 2 * cache.last_files >= len(files)
        if workers < 2 or warm:
            yield from map(_Scanner(cache, TEXT_KEPT, worker=False), files)
            return
        if cache is None:  # not kept between runs: in memory for this one
            cache = self.builder.cache = ParseCache(None, self.root)
        scans = fork_map.fork_map(_Scanner(cache, TEXT_KEPT // workers, worker=True), files,
                                  workers)
        for scan in scans:
            if scan.blob is not None and scan.digest is not None:
                cache.add(scan.digest, scan.blob)
        yield from scans

    def _parse_ahead(self, listed: list[str]) -> ParseAhead | None:
        """The files the pass may parse (those naming an apiVersion and kind, not in the
        parse cache), parsed by a forked copy of this process from now on, while the model
        and the plan are made and then beside the pass (validate.parse_ahead): when there
        are enough of them to be worth a core. Which the pass parses, and in what order,
        is known with the plan: the copy is told then (_pass_order)."""
        cache = self.builder.cache
        self._ahead_at = {}
        if cache is None:
            return None
        files: list[tuple[str, str | None, bytes | None]] = []
        for path in listed:
            if path not in self._objects_in:
                continue
            text, digest = self.builder.texts.get(path, (None, None))
            if digest is None or digest not in cache:
                self._ahead_at[path] = len(files)
                files.append((path, text, digest))
        if fork_map.workers_for(len(files), self.opts.workers) < 2:
            return None
        try:
            ahead = ParseAhead(files)
        except OSError:  # no process or memory to spare: the pass parses them all
            return None
        cache.ahead = ahead.take
        return ahead

    def _pass_order(self, steps: list[_Step]) -> list[int]:
        """The files the copy parses ahead (their indices there) in the order the pass
        parses them: those of native builds and plain files."""
        order: list[int] = []
        seen: set[str] = set()
        for step in steps:
            if step.kind in ("build", "plain") and step.path not in seen:
                seen.add(step.path)
                index = self._ahead_at.get(step.path)
                if index is not None:
                    order.append(index)
        return order

    def _model(self) -> repo_model.Repository:
        """The repository as Flux applies it, from the documents parsed in the scan."""
        def docs(path: str) -> list[Any]:
            found = self._parsed.get(path)
            if found is None:
                found = docs_of(parse_file(path))[0]
                self._parsed[path] = found
            return found

        flux = set(self._flux_files)
        repo = repo_model.load(self.root, self.opts.repo, docs=docs,
                               is_flux=lambda p: p in flux,
                               has_objects=lambda p: p in self._objects_in, fs=self.builder.fs,
                               values_in=set(self._candidates).__contains__)
        self.builder.inside = repo.contains
        self.builder.reader = repo_model.reader_for(repo)
        if self.opts.helm is not None:
            templater = self.opts.helm.templater
            templater.read_repository = self._repository_file
            templater.is_own = self._is_own
            templater.own_sources = frozenset(
                (key.kind, key.namespace, key.name)
                for keys in repo.entry_sources.values() for key in keys)
            templater.repository_file = self._file_here
            templater.repository_folder = self._folder_here
            templater.inside = repo.boundary.contains
        if "flux" in self.opts.checks:
            for problem in repo.problems:
                if problem.helm_chart and self.opts.helm is not None:
                    continue  # the Helm pass templates it
                subject = " ".join(problem.kind_name) if problem.kind_name else ""
                self._add(Finding(problem.rule, self._rel(problem.file), problem.message,
                                  subject, doc=problem.doc, path=problem.at,
                                  kind_name=problem.kind_name))
        for item in repo.unapplied:
            self._add(Finding("not-applied", self._rel(item),
                              repo_model.unapplied_note(repo, item)))
        for ks in repo.external:
            if ks.origin is None:
                continue
            if isinstance(ks, ArgoSource):
                message = f"builds {ks.path!r} of {ks.repo_url or 'no repoURL'}, not this " \
                    f"repository: not validated here"
            elif not ks.source.name:  # a scaffold's, or a parent's patch was to add it
                message = "names no spec.sourceRef: Flux builds nothing from it, and it is " \
                    "not validated here"
            else:
                message = f"builds {ks.source.kind} {ks.source.namespace}/{ks.source.name}, " \
                    f"not this repository: not validated here (--source-dir " \
                    f"{ks.source.name}=DIR checks a local checkout)"
            self._add(Finding("external-source", self._rel(ks.origin.file), message,
                              f"{ks.kind_name[0]} {ks.key.ref}", doc=ks.origin.doc,
                              path=ks.path_field if isinstance(ks, ArgoSource) else (),
                              kind_name=ks.kind_name))
        wanted = {ref.name for ks in [*repo.kustomizations.values(),
                                      *(build.ks for build in repo.builds)]
                  for ref in ks.substitute_from}  # each cluster's Kustomizations
        if wanted:
            self._substitution_sources(repo, self._candidates + self._hidden_candidates(),
                                       wanted)
        return repo

    def _repository_file(self, url: str, path: str) -> str | None:
        """A file of the repository named by `url`, when it is this one (an Argo CD
        Application's value file), read as every file of the tree is; None when it is
        another repository. FileNotFoundError: this repository has no such file."""
        return self._file_here(path) if self._is_own(url) else None

    def _is_own(self, url: str) -> bool:
        """Whether a repository URL names this repository (any of its URLs' forms)."""
        return self.repo is not None and repo_model.same_repository(url) in self.repo.urls

    def _file_here(self, path: str) -> str:
        """A file of this repository by its path in it, read as every file of the tree is
        (FileNotFoundError: no such file, or not one that can be read)."""
        full = self._path_here(path)
        if not self.builder.fs.is_file(full):
            raise FileNotFoundError(path)
        text = read_text(full)
        if isinstance(text, InputProblem):
            raise FileNotFoundError(path)
        return text

    def _folder_here(self, path: str) -> str:
        """A folder of this repository by its path in it (FileNotFoundError: none)."""
        full = self._path_here(path)
        if not self.builder.fs.is_dir(full):
            raise FileNotFoundError(path)
        return full

    def _path_here(self, path: str) -> str:
        assert self.repo is not None
        full = os.path.normpath(os.path.join(self.repo.boundary.root, path))
        if not self.repo.boundary.contains(full):
            raise FileNotFoundError(path)
        return full

    def _hidden_candidates(self) -> list[str]:
        """Files a .sourceignore keeps out of Flux's source that may define a substituteFrom
        ConfigMap or Secret: applied by hand at bootstrap, they are named (and their values
        used) as any unapplied source is."""
        hide = self.builder.fs.hide
        if not isinstance(hide, SourceIgnore) or not hide.used:
            return []
        listed = set(self._listed)
        return [path for path in yaml_files(FsTree(), self.base)
                if path not in listed and scan_file(path).candidate]

    def _substitution_sources(self, repo: repo_model.Repository, candidates: list[str],
                              wanted: set[str]) -> None:
        for path in candidates:
            docs, _ = docs_of(parse_file(path))
            for doc in docs:
                if not isinstance(doc, dict) or doc.get("kind") not in ("ConfigMap", "Secret"):
                    continue
                kind, name = kind_name(doc)
                if name not in wanted:
                    continue
                own = str((doc.get("metadata") or {}).get("namespace") or "")
                # Where the builds applying it put it, else where it says. A kustomization
                # that moves it (a Component's `cluster-secrets`, in every namespace whose
                # kustomization uses the Component) may make one copy per namespace, and
                # the model keeps one namespace per file and build: any namespace ("").
                namespaces = {app.effective_namespace(own)
                              for app in repo.applications.get(path, [])} or {own}
                if namespaces != {own}:
                    namespaces.add("")
                # SOPS encrypts a Secret's values, never its keys: the names it defines
                # are known, their values are not. Unless Flux applies the file: one
                # applied by hand may be long replaced on the cluster (by an
                # ExternalSecret of the same name), so even its names are a guess.
                values = config_values(doc) if not is_sops(doc) or repo.applied(path) \
                    else None
                for ns in sorted(namespaces):
                    self._subst[(kind, ns, name)] = values
                    self._subst_defs.setdefault((kind, ns, name), []).append((path, values))
                    self._subst_files.setdefault((kind, ns, name), path)

    def _units(self) -> list[tuple[str, _FluxKs | None]]:
        """The builds of the pass: each Flux Kustomization the model reaches, with its spec
        as Flux applies it; in a loose tree, each kustomize folder nothing else includes
        (Components only through their consumers)."""
        assert self.repo is not None
        units: list[tuple[str, _FluxKs | None]] = []
        for build in self.repo.builds:
            if build.folder is None or build.reach is None:
                continue
            ks = build.ks
            where = ks.origin.file if ks.origin is not None else build.folder
            overlay = Overlay(ks.key.name, ks.key.namespace, where, ks.spec)
            unit = _FluxKs(overlay, build.folder, ks.applied_by, build.cluster)
            if isinstance(ks, ArgoSource):
                unit.directory, unit.default_namespace = ks.directory, ks.destination_namespace
                unit.argo = True
                # An Application an ApplicationSet makes is no object of the pass: the
                # namespace it creates is known from here.
                spec = ks.raw.get("spec")
                self._refs_of(unit).created_namespace(spec if isinstance(spec, dict) else {})
            units.append((build.folder, unit))
        if self.repo.mode != "loose":
            return units
        loose = set(self.repo.loose)
        kdirs = sorted({os.path.dirname(p) for p in loose
                        if os.path.basename(p) in KUSTOMIZATION_FILES},
                       key=lambda p: p.split(os.sep))
        included: set[str] = set()
        for folder in kdirs:
            for doc in self.builder.kustomization_docs(folder):
                if not isinstance(doc, dict):
                    continue
                for entry in (doc.get("resources") or []) + (doc.get("components") or []):
                    if isinstance(entry, str) and "://" not in entry:
                        target = join(folder, entry)
                        if self.builder.fs.is_dir(target):
                            included.add(target)
        reported = set(self.repo.problems)
        for folder in kdirs:
            if folder in included or self._is_component(folder):
                continue
            units.append((folder, None))
            reader = repo_model.reader_for(self.repo)
            for problem in reader.build(folder, folder).problems:
                if problem not in reported and "flux" in self.opts.checks:
                    reported.add(problem)
                    self._add(Finding(problem.rule, self._rel(problem.file), problem.message,
                                      doc=problem.doc, path=problem.at))
        return units

    def _is_component(self, folder: str) -> bool:
        docs = self.builder.kustomization_docs(folder)
        return bool(docs) and isinstance(docs[0], dict) and docs[0].get("kind") == "Component"

    def _in_component(self, path: str) -> bool:
        """Whether the file is in a kustomize Component's folder, or below one."""
        folder = os.path.dirname(path)
        found = self._components.get(folder)
        if found is None:
            up = os.path.dirname(folder)
            found = self._is_component(folder) or (
                folder != self.base and up != folder and folder.startswith(self._prefix)
                and self._in_component(folder))
            self._components[folder] = found
        return found

    def _kustomize_owner(self, path: str) -> str | None:
        parent = os.path.dirname(path)
        while True:
            if self.builder.kustomization_file(parent) is not None:
                return parent
            up = os.path.dirname(parent)
            if parent == self.root or up == parent:
                return None
            parent = up

    def _not_included(self, path: str, owner: str) -> None:
        text = read_text(path)
        if isinstance(text, InputProblem) or "apiVersion" not in text or "kind" not in text:
            return
        if not any(object_like(doc) for doc in docs_of(parse_file(path))[0]):
            return  # no Kubernetes object in it (a Talos machine config): nothing left out
        kfile = self.builder.kustomization_file(owner)
        self._add(Finding("not-included", self._rel(path),
                          f"no kustomization lists this file (nearest: {self._rel(kfile)})"
                          if kfile else "no kustomization lists this file", line=1))

    def _plain(self, path: str) -> Iterator[Built]:
        items = list(self.builder.documents(path))
        assert self.repo is not None
        if self.repo.mode == "loose" and path != self.root and not any(
                self._may_be_manifest(path, item) if isinstance(item, InputProblem)
                else object_like(item[1]) for item in items):
            # No Flux entry point: YAML that holds no Kubernetes object (a Taskfile, an
            # Ansible playbook, an Argo CD app's values) is not a manifest; passed over.
            return
        for item in items:
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

    def _may_be_manifest(self, path: str, problem: InputProblem) -> bool:
        """Whether a file no entry point applies, and that does not read as YAML, is
        still taken for a manifest: only when it names an apiVersion and a kind, and is no
        template (Jinja's or Go's delimiters: an Ansible role's, `mkdocs.yml` with a
        Python tag is neither)."""
        if problem.rule != "yaml-syntax" or problem.refused:
            return True  # unreadable, or a reading limit: said whatever it holds
        return path in self._objects_in and not problem.template

    # -- one object -----------------------------------------------------------------------

    def _object(self, built: Built, ks: _FluxKs | None, made: int = 0) -> None:
        """One object as applied; `made`: how deep in ResourceSets that made it it is (an
        object a ResourceSet makes is applied by flux-operator as rendered, not overlaid)."""
        obj = built.obj
        rel = self._rel(built.file)
        self._unresolved = False
        self._cluster = ks.cluster if ks is not None else ""
        if ks is not None and not made:
            obj = self._overlay(obj, built, ks, rel)
            if ks.default_namespace:
                self._default_namespace(obj, ks.default_namespace)
        kind, name = kind_name(obj)
        if self.opts.on_object is not None:
            self.opts.on_object(ks.applied_by if ks is not None else "", obj)
        meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
        ns = str((meta or {}).get("namespace") or "")
        where = Where(rel, built.doc, kind, name, ns, ks.applied_by if ks is not None else "",
                      _content(obj), ks is not None and self._in_component(built.file))
        ignored = ignored_rules(obj)
        if ignored:
            self._ignores[(rel, built.doc, kind, name)] = ignored
        api_version = str(obj.get("apiVersion", ""))
        group, _, version = api_version.rpartition("/")
        self.report.objects += 1
        if self.opts.helm is not None:
            self.opts.helm.observe(obj, where)

        if "schema" in self.opts.checks:
            self._schema(obj, (group, version, kind), where, ignored)
        if "lint" in self.opts.checks:
            for hit in lint_.lint(obj, group):
                if hit.rule not in ignored:
                    self._add(_finding(hit.rule, where, hit.message, hit.path))
        if "refs" in self.opts.checks or "values" in self.opts.checks:
            self._refs_of(ks).add(obj, group, where)
            if group == "source.toolkit.fluxcd.io":
                self._chart_source(obj, kind, ns, name)
            if (group, kind) == HELM_RELEASE and "values" in self.opts.checks \
                    and self.opts.charts is not None:
                # Checked at the end: its chart source may come later in the tree. Only
                # with --charts, and only the spec, is kept.
                self._releases.append((obj.get("spec"), where, ignored))
        if self.opts.server and self.opts.cluster is not None:
            failure = self.opts.cluster.dry_run(self._checked(obj, (group, version, kind)))
            if failure is not None and "server-dry-run" not in ignored:
                self._server_deferred.append((where, failure[0], failure[1], (group, kind)))
        if (group, kind) == resource_sets.RESOURCE_SET and made < resource_sets.MAX_DEPTH:
            self._resource_sets.append((obj, built, ks, where, made))
        elif (group, kind) == resource_sets.INPUT_PROVIDER:
            self._input_providers.setdefault((self._cluster, ns), []).append(obj)

    def _default_namespace(self, obj: dict[str, Any], namespace: str) -> None:
        """Argo CD applies a namespaced object that names no namespace in the
        Application's destination namespace."""
        meta = obj.get("metadata")
        if isinstance(meta, dict) and not meta.get("namespace") and not \
                self.refs.cluster_scoped(str(obj.get("apiVersion", "")).rpartition("/")[0],
                                         str(obj.get("kind", ""))):
            meta["namespace"] = namespace

    def _render_resource_sets(self) -> None:
        """Every ResourceSet the pass met, and those they make in turn."""
        while self._resource_sets:
            found, self._resource_sets = self._resource_sets, []
            for obj, built, ks, where, made in found:
                self._cluster = ks.cluster if ks is not None else ""
                self._resource_set(obj, built, ks, where, made)

    def _resource_set(self, obj: dict[str, Any], built: Built, ks: _FluxKs | None,
                      where: Where, made: int) -> None:
        """The objects a flux-operator ResourceSet makes, checked as applied (in its
        namespace when they name none), from its inline inputs and the Static input
        providers of the tree it names; rendered by kustomize-batch (its templates are
        Go's, with sprig's functions)."""
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        assert isinstance(spec, dict)
        providers, why = resource_sets.static_inputs(
            spec.get("inputsFrom"), where.namespace,
            self._input_providers.get((self._cluster, where.namespace), []))
        rendered = self.builder.render_resource_set(obj, providers) if why is None else None
        if why is None and rendered is None:
            why = "rendering it needs kustomize-batch (tools/build.sh builds it)"
        if why is not None or rendered is None:
            self._add(_finding("resourceset-not-rendered", where,
                               f"its objects are not checked: {why}", ()))
            return
        text, error = rendered
        if error is not None:
            self._add(_finding("resourceset", where, f"does not render: {error}", ()))
            return
        refs = self._refs_of(ks)
        for doc in read_output(text):
            if not isinstance(doc, dict):
                continue
            meta = doc.get("metadata")
            group = str(doc.get("apiVersion", "")).rpartition("/")[0]
            if isinstance(meta, dict) and not meta.get("namespace") and where.namespace \
                    and not refs.cluster_scoped(group, str(doc.get("kind", ""))):
                meta["namespace"] = where.namespace
            # No document of its own in the file: findings name it, with no line.
            self._object(Built(doc, built.file, None), ks, made + 1)

    def _schema(self, obj: dict[str, Any], key: Key, where: Where,
                ignored: frozenset[str]) -> None:
        group, version, kind = key
        if not kind or not version:
            self._add(_finding("schema", where, "not a Kubernetes object: apiVersion and kind "
                               "are required", ()))
            return
        checked = self._checked(obj, key)
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

    def _checked(self, obj: dict[str, Any], key: Key) -> dict[str, Any]:
        """The object as the API server takes it: kustomize-controller decrypts a SOPS
        file and drops its `sops` block, unless the kind's own schema has one (a SOPS
        operator's SopsSecret, decrypted in the cluster)."""
        return obj if self.opts.crds.defines(key, "sops") else _without_sops(obj)

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
        if is_sops(obj) and not spec.get("decryption") and "flux" in self.opts.checks \
                and not self._decrypted_in_cluster(obj):
            kind, name = kind_name(obj)
            meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
            ns = str((meta or {}).get("namespace") or "")
            why = f"{ks.applied_by} applies files as they are (a plugin such as KSOPS " \
                f"decrypts them): Argo CD would apply it still encrypted" if ks.argo else \
                f"Flux Kustomization {ks.overlay.namespace}/{ks.overlay.name} has no " \
                f"spec.decryption: Flux would apply it still encrypted"
            self._add(Finding("sops-no-decryption", rel, f"SOPS-encrypted, but {why}",
                              f"{kind} {ns + '/' if ns else ''}{name}", doc=built.doc,
                              kind_name=(kind, name)))
        return obj

    def _decrypted_in_cluster(self, obj: dict[str, Any]) -> bool:
        """A SOPS operator's SopsSecret keeps its `sops` block: the operator decrypts it in
        the cluster, so it is applied encrypted on purpose."""
        group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
        kind = str(obj.get("kind", ""))
        return (kind == "SopsSecret" and group in SOPS_OPERATORS) or \
            self.opts.crds.defines((group, version, kind), "sops")

    def _substitute(self, obj: dict[str, Any], built: Built, ks: _FluxKs,
                    post: dict[str, Any], rel: str) -> dict[str, Any]:
        values: dict[str, str | None] = {}  # None: a name whose value is encrypted
        complete = True  # every source was found: a name none defines is undefined
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
            found = self._subst_values(key, ks.cluster)
            if found is None:
                complete = False
            else:
                values.update(found)
        for k, v in (post.get("substitute") or {}).items():
            values[str(k)] = str(v)  # inline values take precedence, as in Flux
        if not substitution_runs(post, values, complete):
            return obj
        try:
            done = substitute(as_text(obj), values, complete)
        except EnvsubstError as err:
            kind, name = kind_name(obj)
            self._add(Finding("kustomize-build", rel,
                              f"postBuild substitution of Flux Kustomization "
                              f"{ks.overlay.namespace}/{ks.overlay.name} fails: {err}",
                              f"{kind} {name}", doc=built.doc, kind_name=(kind, name)))
            return obj
        if done.undefined and "flux" in self.opts.checks:
            kind, name = kind_name(obj)
            if "substitute-undefined" not in ignored_rules(obj):
                for var in sorted(done.undefined):
                    self._add(Finding("substitute-undefined", rel,
                                      f"${{{var}}} is not defined by Flux Kustomization "
                                      f"{ks.overlay.namespace}/{ks.overlay.name} postBuild: it "
                                      f"becomes an empty string (write $${{{var}}} to keep "
                                      f"it for the app)", f"{kind} {name}",
                                      doc=built.doc, kind_name=(kind, name)))
        self._unresolved = done.unresolved
        text = done.text
        quick = quick_yaml.read(text)
        try:
            loaded = quick[0] if quick is not None and len(quick) == 1 else \
                yaml.load(text, Loader=ManifestLoader)
        except yaml.YAMLError as err:
            self._add(Finding("schema", rel, f"after postBuild substitution the object is not "
                              f"valid YAML: {err}", doc=built.doc))
            return obj
        return loaded if isinstance(loaded, dict) else obj

    def _subst_values(self, key: tuple[str, str, str], cluster: str
                      ) -> dict[str, str | None] | None:
        """A substituteFrom source's values: of the definition the cluster applies, when
        the tree defines it more than once (one cluster-info ConfigMap per cluster);
        otherwise the last one read."""
        defs = self._subst_defs.get(key, [])
        if len(defs) > 1 and self.repo is not None:
            for path, values in defs:
                if any(app.cluster == cluster
                       for app in self.repo.applications.get(path, [])):
                    return values
        return self._subst[key]

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
        if self.opts.helm is not None:
            self._helm_output(self.opts.helm)
        if "values" in self.opts.checks and self.opts.charts is not None:
            for spec, where, ignored in self._releases:
                self._values(spec, where, ignored)
        self._releases = []
        if "refs" in self.opts.checks:
            def is_ignored(where: Where, rule: str) -> bool:
                return rule in self._ignored_at(where)

            self._send_remote_needs()
            lookup = self.opts.cluster.exists if self.opts.cluster is not None else None
            remote = self._remote_builds()
            assert self.repo is not None
            applied = set(self.repo.applications) | (
                set(self.repo.loose) if self.repo.mode == "loose" else set())
            self.refs.unapplied_sources = {
                key: self._rel(path) for key, path in self._subst_files.items()
                if path not in applied}
            for index in self._cluster_refs.values():
                index.unapplied_sources = self.refs.unapplied_sources
            for cluster, finding in self._ref_findings(lookup, is_ignored):
                self._cluster = cluster
                named_by = remote.get(finding.applied_by) \
                    if finding.rule in _MAYBE_REMOTE else None
                if named_by:
                    # What the build's remote resource holds is unknown offline: it may be
                    # the missing object. Said, not failed.
                    finding.message = (f"{finding.message}; a remote resource {named_by} "
                                       f"names in the same build (not fetched, offline) may "
                                       f"provide it ({finding.rule}, not checked)")
                    finding.rule = "remote-reference"
                self._add(finding)
            self._cluster = ""
        self._server_resolve()
        for (api_version, kind), places in sorted(self._not_validated.items()):
            self._add(Finding("not-validated", places[0],
                              f"{kind} ({api_version}): no schema known (from the Kubernetes "
                              f"schemas, CRDs in the tree, --schemas or the cluster); "
                              f"{len(places)} object(s) in {len(set(places))} file(s) not "
                              f"validated", kind_name=None))
        self._merge_clusters()
        self._lines()

    def _refs_of(self, ks: _FluxKs | None) -> RefIndex:
        return self._cluster_index(ks.cluster if ks is not None else "")

    def _cluster_index(self, cluster: str) -> RefIndex:
        if not cluster:
            return self.refs
        index = self._cluster_refs.get(cluster)
        if index is None:
            index = self._cluster_refs[cluster] = RefIndex(
                scoped=self._scoped, known_namespaces=self.refs.known_namespaces,
                synced_sources=self._synced_sources(cluster))
        return index

    def _send_remote_needs(self) -> None:
        """What a HelmRelease with a kubeConfig needs is checked in the cluster it
        installs into (a hub's release for a spoke: its target namespace is the spoke's)."""
        for index in self._indexes():
            for cluster, need in index.remote_needs:
                self._cluster_index(cluster).needs.append(need)
            index.remote_needs = []

    def _synced_sources(self, cluster: str) -> frozenset[tuple[str, str, str, str]]:
        """The sources a cluster's entry point syncs from, as reference keys."""
        assert self.repo is not None
        return frozenset((SOURCE_GROUP, key.kind, key.namespace, key.name)
                         for key in self.repo.entry_sources.get(cluster, []))

    def _indexes(self) -> list[RefIndex]:
        return [self.refs, *self._cluster_refs.values()]

    def _ref_findings(self, lookup: Callable[[str, str, str, str], bool | None] | None,
                      ignored: Callable[[Where, str], bool]
                      ) -> Iterator[tuple[str, Finding]]:
        """(cluster, finding): the references of the objects no cluster applies, then
        each cluster's, checked within it."""
        for finding in self.refs.check(lookup, ignored):
            yield "", finding
        for cluster in sorted(self._cluster_refs):
            for finding in self._cluster_refs[cluster].check(lookup, ignored):
                yield cluster, finding

    def _merge_clusters(self) -> None:
        """In a repository with several clusters, a finding of a cluster's build names
        its cluster, and one found alike in several clusters is reported once."""
        if not self._found_in:
            return
        kept: list[Finding] = []
        merged: dict[tuple[Any, ...], tuple[Finding, list[str]]] = {}
        for finding in self.report.findings:
            cluster = self._found_in.get(id(finding))
            if cluster is None:
                kept.append(finding)
                continue
            key = (finding.rule, finding.file, finding.line, finding.doc, finding.path,
                   finding.kind_name, finding.subject, finding.message, finding.applied_by)
            if key not in merged:
                merged[key] = (finding, [])
                kept.append(finding)
            if cluster not in merged[key][1]:
                merged[key][1].append(cluster)
        for finding, clusters in merged.values():
            finding.message += f" (cluster{'s' if len(clusters) > 1 else ''} " \
                               f"{', '.join(sorted(clusters))})"
        self.report.findings = kept
        self._found_in = {}

    def _helm_output(self, helm: HelmPass[Where]) -> None:
        """--helm: each HelmRelease templated; a failure is a finding at the HelmRelease, and
        its objects go through the checks of any manifest, reported at the HelmRelease."""
        helm.add_api_versions(self.opts.crds.known())
        for outcome in helm.outcomes():
            where = outcome.origin
            ignored = self._ignored_at(where)
            if outcome.error is not None:
                if outcome.error_rule not in ignored:
                    self._add(_finding(outcome.error_rule, where, f"{outcome.chart}: "
                                       f"{outcome.error}", ()))
                continue
            for item in outcome.objects:
                if item.obj.get("kind") == "CustomResourceDefinition":
                    self.opts.crds.add_crd(item.obj)
            for item in outcome.objects:
                first = len(self.report.findings)
                self._object(Built(item.obj, where.file, where.doc), None)
                kind, name = kind_name(item.obj)
                # The HelmRelease's silenced rules hold for all its chart renders (the
                # reference checks come later and look them up by object).
                key = (where.file, where.doc, kind, name)
                self._ignores[key] = self._ignores.get(key, frozenset()) | ignored
                kept = []
                for finding in self.report.findings[first:]:
                    if finding.rule in ignored or finding.rule in NOT_FOR_CHART_OUTPUT:
                        continue
                    finding.subject = f"{finding.subject} from {where.label} ({item.source})"
                    finding.path, finding.kind_name = (), (where.kind, where.name)
                    kept.append(finding)
                self.report.findings[first:] = kept
        for problem in helm.problems():
            if problem.rule not in self._ignored_at(problem.where):
                self._add(_finding(problem.rule, problem.where, problem.message,
                                   () if problem.rendered else problem.path))

    def _remote_builds(self) -> dict[str, str]:
        """Flux Kustomizations whose build left a remote resource out: what it would have
        added may be what a reference of theirs looks for."""
        out: dict[str, str] = {}
        if self.repo is None:
            return out
        for build in self.repo.builds:
            if build.reach is not None and build.reach.remote:
                files = sorted({self._rel(p.file) for p in build.reach.problems
                                if p.rule == "remote-resource"})
                out[build.ks.applied_by] = ", ".join(files)
        return out

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
            if reason == "namespace" and any(where.namespace in index.namespaces
                                             for index in self._indexes()):
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
        for rel, findings in by_file.items():
            text = read_text(os.path.join(self.base, rel))
            if isinstance(text, InputProblem):
                continue
            finder = LineFinder(text)
            for finding in findings:
                finding.line = finder.line(finding.doc, finding.path, finding.kind_name)

    def _add(self, finding: Finding) -> None:
        self.report.findings.append(finding)
        if self._cluster:
            self._found_in[id(finding)] = self._cluster

    def _scoped(self, group: str, kind: str) -> bool | None:
        scope = self.opts.crds.scope.get((group, kind))
        return None if scope is None else scope == "Cluster"


_MAYBE_REMOTE = frozenset({"namespace", "depends-on", "source-ref", "values-from", "secret-ref",
                           "tls-secret"})


def _finding(rule: str, where: Where, message: str, path: tuple[str | int, ...]) -> Finding:
    return Finding(rule, where.file, message, where.label, doc=where.doc, path=path,
                   kind_name=(where.kind, where.name), applied_by=where.applied_by)


def _value_at(obj: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        in_list = isinstance(obj, list) and isinstance(part, int) and 0 <= part < len(obj)
        if not (in_list or (isinstance(obj, dict) and part in obj)):
            return None
        obj = obj[part]
    return obj


def _content(obj: dict[str, Any]) -> int:
    """A digest of the object as applied, labels and annotations left out (each Flux
    Kustomization's commonMetadata labels its copy), so that two copies of one object can
    be told alike (`shared`) or not (`duplicate`); 0 when it cannot be taken."""
    meta = obj.get("metadata")
    if isinstance(meta, dict) and ("labels" in meta or "annotations" in meta):
        obj = {**obj, "metadata": {k: v for k, v in meta.items()
                                   if k not in ("labels", "annotations")}}
    try:
        # Format 2: no back-references, so equal objects give equal bytes whatever
        # strings they share (format 3 and later encode object identity).
        digest = hashlib.blake2b(marshal.dumps(obj, 2), digest_size=8).digest()
    except ValueError:  # a type marshal does not know
        return 0
    return int.from_bytes(digest, "big") or 1


def _without_sops(obj: dict[str, Any]) -> dict[str, Any]:
    if "sops" in obj and is_sops(obj):
        return {k: v for k, v in obj.items() if k != "sops"}
    return obj


class _Scan(NamedTuple):
    """What the scan before the pass needs of a file."""

    readable: bool
    crd: bool = False  # may hold CustomResourceDefinitions
    flux: bool = False  # may hold Flux Kustomizations
    candidate: bool = False  # may hold a ConfigMap or Secret (postBuild substituteFrom)
    items: list[DocItem] | None = None  # its documents, if one of these or a kustomization
    objects: bool = False  # names an apiVersion and a kind: may hold Kubernetes objects
    text: str | None = None  # its text, when asked to keep it and it is not parsed here
    parse: bool = False  # its documents are needed before the pass (items)
    digest: bytes | None = None  # of its text (parse_cache.text_digest), when taken
    blob: bytes | None = None  # its documents parsed in a worker (parse_cache.encode)
    seen: Seen | None = None  # its status, when the parse cache may record it

    @property
    def flags(self) -> int:
        return self.crd | self.flux << 1 | self.candidate << 2 | self.objects << 3


# Characters of file text the scan keeps for the pass (in one process), so that a file is
# read once; beyond it, files are read again when their turn comes.
TEXT_KEPT = 32 << 20


def scan_file(path: str, keep_text: bool = False, cache: ParseCache | None = None,
              worker: bool = False) -> _Scan:
    """The file read, and parsed if it may matter before the pass (in a worker, or not);
    not read when the parse cache knows it unchanged since the last run."""
    seen, known = cache.scanned(path) if cache is not None else (None, None)
    if known is not None:
        assert cache is not None
        unchanged = _unchanged(path, known[0], known[1], seen, cache, worker)
        if unchanged is not None:
            return unchanged
    text = read_text(path)
    if isinstance(text, InputProblem):
        return _Scan(False)
    crd = "CustomResourceDefinition" in text
    flux = may_hold_flux(text)
    candidate = "kind: ConfigMap" in text or "kind: Secret" in text
    objects = "apiVersion" in text and "kind" in text
    parse = crd or flux or os.path.basename(path) in KUSTOMIZATION_FILES
    kept = text if keep_text and not parse and objects else None
    digest = text_digest(text) if cache is not None else None
    if worker:
        # In a forked worker: the documents the scan needs go back as the cache keeps them,
        # parsed only if the parent's cache does not know the text (the parent's copy is the
        # one used). The other files are parsed ahead of the pass (validate.parse_ahead).
        if not parse:
            return _Scan(True, crd, flux, candidate, None, objects, kept, parse, digest,
                         seen=seen)
        digest = digest or text_digest(text)
        blob = None if cache is not None and digest in cache else \
            encode(list(iter_docs(text)))
        return _Scan(True, crd, flux, candidate, None, objects, kept, parse, digest, blob,
                     seen)
    items = None if not parse else parsed(text, cache, digest) if cache is not None else \
        list(iter_docs(text))
    return _Scan(True, crd, flux, candidate, items, objects, kept, parse, digest, seen=seen)


def _unchanged(path: str, digest: bytes, flags: int, seen: Seen | None, cache: ParseCache,
               worker: bool) -> _Scan | None:
    """The scan of a file unchanged since the last run, from what that run found; None
    when the documents it needs are not in the cache (it is read, then)."""
    crd, flux, candidate, objects = (bool(flags & bit) for bit in (1, 2, 4, 8))
    parse = crd or flux or os.path.basename(path) in KUSTOMIZATION_FILES
    if (parse or objects) and digest not in cache:
        return None
    items = None
    if parse and not worker:
        items = cache.get(digest)
        if items is None:
            return None
    return _Scan(True, crd, flux, candidate, items, objects, None, parse, digest, seen=seen)


class _Scanner:
    """scan_file over the files one process scans, keeping texts up to its budget (its
    share of TEXT_KEPT)."""

    def __init__(self, cache: ParseCache | None, budget: int, worker: bool) -> None:
        self.cache = cache
        self.budget = budget
        self.worker = worker

    def __call__(self, path: str) -> _Scan:
        scan = scan_file(path, keep_text=self.budget > 0, cache=self.cache,
                         worker=self.worker)
        self.budget -= len(scan.text or "")
        return scan


class _SourceIgnored(Exception):
    """The tree's own GitRepository leaves files out (spec.ignore): read it again so."""

    def __init__(self, patterns: tuple[str, ...]) -> None:
        super().__init__(patterns)
        self.patterns = patterns


def validate(root: Path, options: Options) -> Report:
    crds = options.crds.copy()  # before the tree's CRDs are added: for a second reading
    # The cycle collector is paused for the run. A run makes objects by the hundred
    # thousand (every document, every reference record) and frees them by reference count:
    # on the public repositories and the 5,501-manifest bench tree, the only cyclic garbage
    # left at the end was the run's own result, and peak memory was the same either way.
    # Left on, the collector traversed every young object again: 7-9% of a warm run.
    # The validator's state is dropped when the run ends: it is freed by reference count
    # there and then (the closures and bound methods it hands out make cycles through it),
    # so that the collector, on again, does not traverse it (or leave it until a full pass).
    was_enabled = gc.isenabled()
    gc.disable()
    validator = Validator(root, options)
    try:
        try:
            return validator.run()
        except _SourceIgnored as found:
            # What spec.ignore names is not in Flux's source: read the tree again without it
            # (from the start: the first reading's files, CRDs and builds included it).
            validator.__dict__.clear()
            validator = Validator(root, dataclasses.replace(options, crds=crds,
                                                            source_ignore=found.patterns))
            return validator.run()
    finally:
        validator.__dict__.clear()
        if was_enabled:
            gc.enable()
