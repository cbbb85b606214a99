"""The repository as Flux applies it.

Entry points are the Flux Kustomizations that sync this repository: the `flux-system`
Kustomization `flux bootstrap` writes (gotk-sync.yaml), or the one flux-operator makes from a
FluxInstance (or the flux-instance chart's `instance.sync` values); `--path DIR` starts from
one folder instead, as flate does. From there each Kustomization's `spec.path` is reached
(repo.reach), the Flux Kustomizations in what it applies are read — with the parent's
`spec.patches` and namespace applied, as Flux will apply them — and followed in turn.

A Kustomization whose `sourceRef` is another source (an upstream chart's GitRepository, an
OCIRepository) is external: listed, not built from this tree, unless `source_dirs` maps
that source to a local checkout.

Argo CD Applications that a build applies, with a source in this repository (its URL is
an entry point's, a source of the tree with that URL, or a Git remote of the checkout),
are followed the same way (repo.argo): Argo CD builds their `path`. A repository with no
Flux at all whose Applications name it (by a Git remote) is entered from the Applications
no other one applies (the root app applied by hand, an app of apps).

A tree with no entry point (a folder of a repository, a plain set of manifests) is read
"loose": Flux Kustomizations that nothing else applies are entry points, and every other
file is applied as it stands (kustomize folders built on their own).

Every file knows which Kustomizations apply it (`applications`). Files with Kubernetes
objects that no entry point reaches are `unapplied` (one note per file or folder).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from outfitter.repo.argo import (
    ArgoSource,
    Checkout,
    Refused,
    application_sources,
    expand_application_set,
    is_application,
    is_application_set,
)
from outfitter.repo.artifacts import Artifact, parse_generator
from outfitter.repo.envsubst import EnvsubstError, substitution_disabled, substitution_runs
from outfitter.repo.fs import Boundary, SourceIgnore, find_git_root, git_remotes, yaml_files
from outfitter.repo.objects import (
    FLUX_KS_API,
    FluxKustomization,
    InstanceSync,
    ObjKey,
    Origin,
    Source,
    SourceRefSpec,
    config_values,
    instance_sync,
    is_flux_kustomization,
    is_instance_values,
    may_hold_flux,
    object_like,
    parse_kustomization,
    parse_source,
)
from outfitter.repo.patches import PatchError, apply_patches
from outfitter.repo.reach import FLUX_DIRECTORY, Problem, Reach, Reader
from outfitter.repo.replacements import Replacement
from outfitter.repo.replacements import apply as apply_replacements
from outfitter.validate.fstree import KUSTOMIZATION_FILES, FsTree, Listing, is_yaml, join
from outfitter.validate.substitute import as_text, has_variables, substitute

Docs = Callable[[str], list[Any]]  # the parsed documents of a file (empty if it cannot be)

OWN_SOURCE = ObjKey("GitRepository", "flux-system", "flux-system")


@dataclass(frozen=True, slots=True)
class Application:
    """One Flux Kustomization applying one file."""

    ks: FluxKustomization
    namespace: str  # what the kustomizations on the way set (`namespace:`), "" none
    cluster: str = ""  # the cluster it is applied to ("" when the repository has one)

    def effective_namespace(self, own: str) -> str:
        """The namespace a namespaced object of this file lands in, given its own (Argo
        CD's destination namespace when nothing names one)."""
        found = self.ks.target_namespace or self.namespace or own
        if not found and isinstance(self.ks, ArgoSource):
            return self.ks.destination_namespace
        return found

    @property
    def variables(self) -> dict[str, str]:
        return self.ks.substitute


@dataclass
class Build:
    """One Flux Kustomization's build: its path and what reaching it found."""

    ks: FluxKustomization
    folder: str | None  # None: not buildable (missing path, external)
    reach: Reach | None
    cluster: str = ""  # the cluster whose entry point reaches it ("" when there is one)


@dataclass
class Repository:
    root: str  # the folder asked about
    boundary: Boundary  # no read leaves it
    fs: FsTree
    own_source: ObjKey
    # "flux" (entry points found), "path" (--path), "argo" (no Flux: Argo CD's root
    # Applications), "loose"
    mode: str
    # The sources each cluster's entry point syncs from ("" the one cluster): `flux
    # bootstrap` or flux-operator makes them, so they exist though no file defines them.
    entry_sources: dict[str, list[ObjKey]] = field(default_factory=dict)
    kustomizations: dict[ObjKey, FluxKustomization] = field(default_factory=dict)
    builds: list[Build] = field(default_factory=list)
    external: list[FluxKustomization] = field(default_factory=list)
    sources: dict[ObjKey, Source] = field(default_factory=dict)  # the last definition
    # Every definition of each source (clusters of one repository may each define
    # GitRepository flux-system/NAME, alike or not).
    definitions: dict[ObjKey, list[Source]] = field(default_factory=dict)
    applications: dict[str, list[Application]] = field(default_factory=dict)
    loose: list[str] = field(default_factory=list)  # files/folders applied as they stand
    unapplied: list[str] = field(default_factory=list)  # files/folders nothing applies
    not_included: list[str] = field(default_factory=list)  # next to a kustomization, unlisted
    # Next to a kustomization that lists it in a comment (`# - ./grafana.yaml`): left out
    # on purpose, so a not-applied note, not a not-included warning.
    commented_out: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    # The clusters of a repository with several entry points (each entry point's sync path,
    # e.g. "clusters/production"); empty when it has one.
    clusters: list[str] = field(default_factory=list)
    # ExternalArtifacts the ArtifactGenerators of the tree make (each cluster applies its
    # own generator: the same name may be made differently in two clusters).
    artifacts: dict[ObjKey, list[Artifact]] = field(default_factory=dict)
    reader: Reader | None = field(default=None, repr=False)
    # The URLs this repository is known by (normalised: same_repository), for Argo CD.
    urls: set[str] = field(default_factory=set)
    mapped: list[Boundary] = field(default_factory=list)  # --source-dir checkouts
    docs: Docs | None = field(default=None, repr=False)  # how files were parsed
    # The ConfigMaps and Secrets of the applied files, as ((kind, name), document) in file
    # order: read once, on the first variables() call (substituteFrom sources).
    _variable_sources: list[tuple[tuple[str, str], dict[str, Any]]] | None = field(
        default=None, repr=False)

    def contains(self, path: str) -> bool:
        """Inside the repository, or inside a local checkout given for another source."""
        return self.boundary.contains(path) or any(b.contains(path) for b in self.mapped)

    def applied(self, path: str) -> bool:
        return path in self.applications or any(
            path == p or path.startswith(p.rstrip(os.sep) + os.sep) for p in self.loose)

    def read(self, path: str) -> bool:
        """Some build reads it (a manifest, a kustomization file, a patch, a generator's
        file), or the tree is loose and it is applied as it stands."""
        return self.applied(path) or any(
            b.reach is not None and path in b.reach.reads for b in self.builds)

    def left_out(self, path: str) -> bool:
        """A file with objects nothing applies (or in a folder nothing applies)."""
        return path in self.not_included or any(
            path == p or path.startswith(p.rstrip(os.sep) + os.sep) for p in self.unapplied)

    def variables(self, ks: FluxKustomization) -> dict[str, str | None]:
        """The postBuild variables in force for `ks`: its substituteFrom ConfigMaps and
        Secrets found among the files the repository applies (a SOPS-encrypted Secret's
        values are unknown: None), then its inline `substitute` (which wins, as in Flux)."""
        found: dict[str, str | None] = {}
        if ks.substitute_from and self.docs is not None:
            wanted = {(ref.kind, ref.name) for ref in ks.substitute_from}
            for key, doc in self._sources():
                if key in wanted:
                    found.update(config_values(doc))
        return {**found, **ks.substitute}

    def _sources(self) -> list[tuple[tuple[str, str], dict[str, Any]]]:
        if self._variable_sources is None:
            assert self.docs is not None
            self._variable_sources = list(_config_sources(self.docs, sorted(self.applications)))
        return self._variable_sources

    @property
    def source_ignore(self) -> tuple[str, ...] | None:
        """The `spec.ignore` of the GitRepositories the entry points sync from, when the
        tree defines them: source-controller leaves what they name out of the artifact, as
        it does what a .sourceignore names. Several when the clusters' sources differ in it
        (a file is then left out only if every one leaves it out: one listing of the tree
        cannot hide a file for one cluster only); None when one of them has none."""
        found = {source.ignore for keys in self.entry_sources.values() for key in keys
                 for source in self.definitions.get(key, [])}
        if not found or None in found:
            return None
        return tuple(sorted(text for text in found if text is not None))

    @property
    def appliers(self) -> str:
        """What applies files here, as notes name it."""
        if self.mode == "argo":
            return "Argo CD Application"
        return "Flux Kustomization or Argo CD Application" if any(
            isinstance(b.ks, ArgoSource) for b in self.builds) else "Flux Kustomization"

    def applying(self, path: str) -> list[FluxKustomization]:
        return [a.ks for a in self.applications.get(path, [])]

    def rel(self, path: str) -> str:
        return self.boundary.rel(path)


@dataclass
class Options:
    source: str | None = None  # NAME, KIND/NAME or NAMESPACE/NAME of the own source
    path: str | None = None  # start from this folder (as flate --path)
    source_dirs: dict[str, str] = field(default_factory=dict)  # source name -> local checkout


def _own_source(option: str | None) -> Callable[[SourceRefSpec], bool] | None:
    if option is None:
        return None
    parts = option.split("/")
    if len(parts) == 2 and parts[0] in ("GitRepository", "OCIRepository", "Bucket"):
        return lambda s: s.kind == parts[0] and s.name == parts[1]
    if len(parts) == 2:
        return lambda s: s.namespace == parts[0] and s.name == parts[1]
    return lambda s: s.name == option


class _KustomizationDocs:
    """Each folder's kustomization file, parsed once (the readers' view of the tree; not a
    method of the loader, so that the readers the repository keeps hold no cycle)."""

    def __init__(self, fs: FsTree, docs: Docs) -> None:
        self.fs = fs
        self.docs = docs
        self._parsed: dict[str, list[Any]] = {}

    def __call__(self, folder: str) -> list[Any]:
        if folder not in self._parsed:
            kfile = self.fs.kustomization_file(folder)
            self._parsed[folder] = self.docs(kfile) if kfile is not None else []
        return self._parsed[folder]


class _Loader:
    def __init__(self, root: str, options: Options, docs: Docs | None,
                 is_flux: Callable[[str], bool] | None,
                 has_objects: Callable[[str], bool] | None, fs: FsTree | None,
                 values_in: Callable[[str], bool] | None = None) -> None:
        self.root = os.path.realpath(root)
        folder = self.root if os.path.isdir(self.root) else os.path.dirname(self.root)
        git = find_git_root(folder)
        self.repo_root = git or folder
        self.fs = fs or FsTree(SourceIgnore(self.repo_root))
        self.boundary = Boundary(self.repo_root, self.fs)
        self.folder = folder
        self.docs = docs or _default_docs
        self.is_flux = is_flux or _default_is_flux
        self.has_objects = has_objects or _default_has_objects
        self.options = options
        self._kustomization_docs = _KustomizationDocs(self.fs, self.docs)
        self._base: str | None = None
        self.values_in = values_in or _default_values_in
        self._variables: dict[tuple[ObjKey, str], tuple[dict[str, str | None], bool]] = {}
        self._charts: dict[str, bool] = {}  # folder -> in a Helm chart (_in_chart)
        self.reader = Reader(self.fs, self.boundary, self._kustomization_docs, self.docs)
        # Argo CD Applications by file, and the URLs this repository is known by.
        self._applications: dict[str, list[tuple[Origin, dict[str, Any]]]] = {}
        self._urls: set[str] = {same_repository(url) for url in git_remotes(self.repo_root)}

    def load(self) -> Repository:
        files = [self.root] if os.path.isfile(self.root) else list(yaml_files(self.fs,
                                                                               self.folder))
        flux_files = [f for f in files if os.path.basename(f) not in KUSTOMIZATION_FILES
                      and self.is_flux(f)]
        found: dict[str, list[FluxKustomization]] = {}
        syncs = []
        repo = Repository(self.root, self.boundary, self.fs, OWN_SOURCE, "loose", files=files)
        for path in flux_files:
            for index, doc in enumerate(self.docs(path)):
                origin = Origin(path, index)
                if is_flux_kustomization(doc):
                    found.setdefault(path, []).append(parse_kustomization(doc, origin))
                sync = instance_sync(doc, origin)
                if sync is not None:
                    syncs.append(sync)
                elif is_instance_values(doc):
                    syncs.extend(self._generated_syncs(doc, origin))
                source = parse_source(doc, origin)
                if source is not None:
                    repo.sources[source.key] = source
                    repo.definitions.setdefault(source.key, []).append(source)
                for artifact in parse_generator(doc, origin):
                    repo.artifacts.setdefault(artifact.key, []).append(artifact)
                if is_application(doc) or is_application_set(doc):
                    self._applications.setdefault(path, []).append((origin, doc))
        own = _own_source(self.options.source)
        if own is None and syncs:
            sync = syncs[0]
            repo.own_source = sync.source
        if own is None:
            wanted = repo.own_source
            def own(s: SourceRefSpec) -> bool:
                return s.key == wanted
        roots = self._roots(repo, found, syncs, files)
        if len(roots) > 1:
            repo.clusters = [_cluster_name(root) for root in roots]
        synced = {sync.source for sync in syncs}
        urls = {_sync_path(sync.path): sync.url for sync in syncs}
        for root in roots:
            # Each FluxInstance's cluster syncs from its own source: one may sync an
            # OCIRepository, another a GitRepository, of the same repository; and so is
            # a source of the tree with the entry point's URL (a bootstrap's own
            # GitRepository under another name, beside flux-operator's).
            syncs_from = self._sources_of(repo, root, urls) if self.options.source is None \
                and repo.mode == "flux" and (root.source.key in synced or
                                             root.source.key in repo.sources) else own
            cluster = _cluster_name(root) if repo.clusters else ""
            self._urls |= {same_repository(source.url) for source in repo.sources.values()
                           if source.url and syncs_from(SourceRefSpec(
                               source.key.kind, source.key.name, source.key.namespace))}
            if urls.get(_sync_path(root.path)):
                self._urls.add(same_repository(urls[_sync_path(root.path)]))
            if syncs_from(root.source):
                repo.entry_sources.setdefault(cluster, []).append(root.source.key)
            self._traverse(repo, [root], syncs_from, found, cluster)
        if len(roots) == 1 and repo.mode == "flux":
            self._beside(repo, roots[0], found)
        if not roots and not found and self.options.path is None:
            argo_roots = self._argo_roots(repo)
            if argo_roots:
                repo.mode = "argo"
                self._traverse(repo, argo_roots, own, found)
        self._leftovers(repo, files, found, own)
        repo.urls = self._urls
        repo.problems = list(dict.fromkeys(repo.problems))  # one per problem, clusters alike
        return repo

    def _generated_syncs(self, values: dict[str, Any], origin: Origin) -> list[InstanceSync]:
        """What a flux-instance HelmRelease syncs when its values come from this file through
        a configMapGenerator and `valuesFrom` (the cluster-template layout: `app/helm/
        values.yaml` made into ConfigMap `flux-instance-values`). The nearest kustomization
        above the file that generates from it is the one; its HelmReleases that take the
        ConfigMap's key get the values under their own `spec.values`, as Helm merges them."""
        folder = os.path.dirname(origin.file)
        while self.boundary.contains(folder):
            kustomization = self.reader.kustomization(folder)
            if kustomization:
                return [sync for name, key in _generated_from(kustomization, folder, origin.file)
                        for sync in self._syncs_taking(kustomization, folder, name, key, values,
                                                       origin)]
            if folder == self.repo_root or os.path.dirname(folder) == folder:
                break
            folder = os.path.dirname(folder)
        return []

    def _syncs_taking(self, kustomization: dict[str, Any], folder: str, name: str, key: str,
                      values: dict[str, Any], origin: Origin) -> Iterator[InstanceSync]:
        from outfitter.helm.values import merge as merge_values  # rare: not at start-up

        for resource in kustomization.get("resources") or []:
            path = os.path.normpath(os.path.join(folder, str(resource)))
            if not is_yaml(path) or not self.fs.is_file(path) or \
                    not self.boundary.contains(path):
                continue
            for doc in self.docs(path):
                spec = doc.get("spec") if isinstance(doc, dict) else None
                if not isinstance(spec, dict) or not any(
                        isinstance(ref, dict) and ref.get("kind") == "ConfigMap"
                        and ref.get("name") == name
                        and (ref.get("valuesKey") or "values.yaml") == key
                        for ref in spec.get("valuesFrom") or []):
                    continue
                meta = _mapping(doc.get("metadata"))
                namespace = meta.get("namespace") or kustomization.get("namespace")
                release = {**doc, "metadata": {**meta, "namespace": namespace},
                           "spec": {**spec, "values": merge_values(
                               values, _mapping(spec.get("values")))}}
                sync = instance_sync(release, origin)
                if sync is not None:
                    yield sync

    # -- entry points ---------------------------------------------------------------------

    def _roots(self, repo: Repository, found: dict[str, list[FluxKustomization]],
               syncs: list[Any], files: list[str]) -> list[FluxKustomization]:
        """The entry points, one per cluster: each `flux-system` Kustomization (gotk-sync),
        each FluxInstance or flux-instance chart sync, and each folder where `flux
        bootstrap` would write gotk-sync.yaml but the repository keeps a placeholder
        (the fluxcd example's clusters/<name>/flux-system); one per sync path."""
        if self.options.path is not None:
            repo.mode = "path"
            folder = os.path.realpath(self.options.path)
            rel = os.path.relpath(folder, self.repo_root)
            return [_synthetic("flux-system", "flux-system", rel, repo.own_source, None)]
        roots: dict[str, FluxKustomization] = {}
        for kss in found.values():
            for ks in kss:
                if ks.key == ObjKey("Kustomization", "flux-system", "flux-system"):
                    roots.setdefault(_sync_path(ks.path), ks)
        for sync in syncs:
            roots.setdefault(_sync_path(sync.path), _synthetic(
                sync.source.name, sync.namespace, sync.path, sync.source, sync.origin))
        for path in files:
            folder = os.path.dirname(path)
            if os.path.basename(path) == "gotk-sync.yaml" and \
                    os.path.basename(folder) == "flux-system" and \
                    not any(d is not None for d in self.docs(path)):
                rel = os.path.relpath(os.path.dirname(folder), self.repo_root)
                roots.setdefault(_sync_path(rel), _synthetic(
                    "flux-system", "flux-system", "./" + rel.replace(os.sep, "/"),
                    repo.own_source, Origin(path, 0)))
        # A sync path inside another's is applied by that one's build (the values of a
        # flux-instance chart not yet deployed, beside the FluxInstance applied by hand):
        # one cluster, not two.
        for path in sorted(roots):
            if any(other != path and (not other or path.startswith(other + "/"))
                   for other in roots):
                del roots[path]
        # A sync whose path is nowhere in the repository (an archived or templated
        # gotk-sync.yaml) is no live entry point when another is found.
        live = {path: ks for path, ks in roots.items() if ks.origin is None or
                os.path.isdir(join(self._base_for(_joined(ks.path)), _joined(ks.path)))}
        if not live:
            for ks in self._self_syncs(repo, found, bootstrapped=True):
                live.setdefault(_sync_path(ks.path), ks)
        roots = live or roots
        if roots:
            repo.mode = "flux"
        return list(roots.values())

    def _sources_of(self, repo: Repository, root: FluxKustomization, urls: dict[str, str]
                    ) -> Callable[[SourceRefSpec], bool]:
        """The sources an entry point's builds take from this repository: its own, and
        the tree's sources of the same repository URL."""
        own = repo.sources.get(root.source.key)
        url = same_repository(urls.get(_sync_path(root.path)) or (own.url if own else ""))
        keys = {root.source.key} | {source.key for source in repo.sources.values()
                                    if url and same_repository(source.url) == url}
        return lambda s: s.key in keys

    def _beside(self, repo: Repository, root: FluxKustomization,
                found: dict[str, list[FluxKustomization]]) -> None:
        """A bootstrap applied by hand that syncs itself goes on beside the cluster's entry
        point when nothing that entry point applies defines it (a FluxInstance added later
        syncs `kubernetes/flux/cluster`; the hand-applied `cluster` Kustomization still
        applies `kubernetes/flux` with its config, vars and repositories): its builds are
        the cluster's too."""
        for ks in self._self_syncs(repo, found):
            if ks.origin is not None and ks.origin.file not in repo.applications and \
                    _sync_path(ks.path) != _sync_path(root.path):
                if ks.source.key not in repo.entry_sources.get("", []):
                    repo.entry_sources.setdefault("", []).append(ks.source.key)
                self._traverse(repo, [ks], _synced_from(ks.source.key), found,
                               seen=set(repo.kustomizations))

    def _syncs_itself(self, ks: FluxKustomization) -> bool:
        """Its own file is under its path: it applies itself."""
        folder = _sync_path(ks.path)
        return ks.origin is not None and bool(folder) and os.path.dirname(
            ks.origin.file).startswith(os.path.join(self.repo_root, folder) + os.sep)

    def _self_syncs(self, repo: Repository, found: dict[str, list[FluxKustomization]],
                    bootstrapped: bool = False) -> list[FluxKustomization]:
        """Bootstraps that apply a GitRepository and a Kustomization by hand (`kubectl apply
        -k kubernetes/flux/config`, the older cluster-template): the Kustomization whose
        GitRepository the tree defines and whose path holds its own file syncs this
        repository, as gotk-sync's does under another name. `bootstrapped`: also one whose
        nearest kustomization lists it beside its GitRepository (`kubectl apply -k
        clusters/production`, its Kustomization syncing another folder)."""
        syncs, listed = [], []
        for _, kss in sorted(found.items()):
            for ks in kss:
                if ks.source.kind != "GitRepository" or ks.source.key not in repo.sources:
                    continue
                if self._syncs_itself(ks):
                    syncs.append(ks)
                elif bootstrapped and self._bootstrapped(repo, ks):
                    listed.append(ks)
        # One a self-syncing bootstrap applies (in the same file, or below its path) is
        # that cluster's, not an entry point of its own.
        applied = set().union(*(self._reached(ks) for ks in syncs)) if listed else set()
        return syncs + [ks for ks in listed if ks.origin is not None and
                        ks.origin.file not in applied]

    def _bootstrapped(self, repo: Repository, ks: FluxKustomization) -> bool:
        """The nearest kustomization above its file lists it and its GitRepository, and it
        syncs a folder of this repository (not the root: a GitRepository of an upstream
        project, listed beside the Kustomization taking its CRDs, is the common look-alike;
        with the checkout's remotes known, the GitRepository must be one of them)."""
        defined = {s.origin.file: s for s in repo.definitions.get(ks.source.key, [])
                   if s.origin is not None}
        path = _sync_path(ks.path)
        if not defined or ks.origin is None or not path or \
                not self.fs.is_dir(os.path.join(self.repo_root, path)):
            return False
        folder = os.path.dirname(ks.origin.file)
        while self.boundary.contains(folder):
            if self.fs.kustomization_file(folder) is not None:
                listed = self.reader.build(folder, folder).manifests
                return ks.origin.file in listed and any(
                    file in listed and (not self._urls or
                                        same_repository(source.url) in self._urls)
                    for file, source in defined.items())
            up = os.path.dirname(folder)
            if folder == self.repo_root or up == folder:
                break
            folder = up
        return False

    # -- following spec.path -------------------------------------------------------------

    def _source_root(self, repo: Repository, ks: FluxKustomization,
                     own: Callable[[SourceRefSpec], bool], cluster: str) -> str | None:
        if own(ks.source) or (ks.origin is None and ks.source.key == OWN_SOURCE):
            return self.repo_root
        if self._artifact_path(repo, ks, own, cluster) is not None:
            return self.repo_root
        mapped = self.options.source_dirs.get(ks.source.name)
        return os.path.realpath(mapped) if mapped else None

    def _artifact_path(self, repo: Repository, ks: FluxKustomization,
                       own: Callable[[SourceRefSpec], bool], cluster: str) -> str | None:
        """For a Kustomization built from an ExternalArtifact a generator of its cluster
        makes from the own source: its spec.path as a path of this repository (see
        repo.artifacts)."""
        if ks.source.kind != "ExternalArtifact":
            return None
        made = [a for a in repo.artifacts.get(ks.source.key, [])
                if any(app.cluster == cluster
                       for app in repo.applications.get(a.origin.file, []))]
        if len(made) != 1:
            return None  # none applied in this cluster (or two: which one wins is unknown)
        artifact = made[0]
        owned = [r.source for r in artifact.rules
                 if own(SourceRefSpec(r.source.kind, r.source.name, r.source.namespace))]
        if not owned:
            return None
        folder = artifact.folder(ks.path or ".", owned[0])
        if folder is None:
            return None
        if any(r.mode == "folder" for r in artifact.rules) and \
                not self.fs.is_dir(os.path.join(self.repo_root, folder)):
            return None  # a file named without a glob: copied, but not a folder to build
        return "./" + folder if folder else "."

    def _traverse(self, repo: Repository, roots: list[FluxKustomization],
                  own: Callable[[SourceRefSpec], bool],
                  found: dict[str, list[FluxKustomization]], cluster: str = "",
                  seen: set[ObjKey] | None = None) -> None:
        """Builds `roots` and, through them, every Flux Kustomization they apply; `seen`:
        those already built in this cluster (one object on the cluster, built once)."""
        queue = list(roots)
        seen = set() if seen is None else seen
        reported = set(repo.problems)
        entries = {_sync_path(root.path) for root in roots}
        # An Argo CD Application's source of this repository builds from the cluster's own.
        own_ref = roots[0].source if roots else SourceRefSpec(
            OWN_SOURCE.kind, OWN_SOURCE.name, OWN_SOURCE.namespace)
        flux_cluster = cluster
        while queue:
            ks = queue.pop(0)
            if ks.key in seen:
                continue
            seen.add(ks.key)
            # An Argo CD Application may deploy to another cluster: its objects are that
            # cluster's (named after its destination).
            cluster = ks.destination_cluster if isinstance(ks, ArgoSource) and \
                ks.destination_cluster else flux_cluster
            # A Flux Kustomization with a kubeConfig reads its source where Flux runs and
            # applies its objects to the cluster the kubeConfig names.
            applies_in = ks.remote_cluster or cluster
            repo.kustomizations.setdefault(ks.key, ks)
            if ks.parent is not None and _sync_path(ks.path) in entries and \
                    ks.origin is not None and self._syncs_itself(ks):
                # The entry point under another name (a bootstrap's own `cluster`
                # Kustomization beside flux-operator's, on the same path): built once.
                continue
            source_root = self._source_root(repo, ks, own, cluster)
            if source_root is None:
                if not any(e.key == ks.key and e.origin == ks.origin for e in repo.external):
                    repo.external.append(ks)
                continue
            if ks.suspended:
                repo.builds.append(Build(ks, None, None, applies_in))
                continue
            folder = self._resolve(repo, ks, source_root,
                                   self._artifact_path(repo, ks, own, cluster))
            if folder is not None and isinstance(ks, ArgoSource) and \
                    self._rendered_by_argo(repo, ks, folder):
                folder = None
            if folder is None:
                repo.builds.append(Build(ks, None, None, applies_in))
                continue
            boundary = self.boundary if source_root == self.repo_root else \
                Boundary(source_root, self.fs)
            if boundary is not self.boundary and boundary.root not in \
                    [b.root for b in repo.mapped]:
                repo.mapped.append(boundary)
            reader = self.reader if boundary is self.boundary else \
                Reader(self.fs, boundary, self._kustomization_docs, self.docs)
            reach = reader.build(folder, ks.origin.file if ks.origin else folder,
                                 ks.components, ks.directory if isinstance(ks, ArgoSource)
                                 else FLUX_DIRECTORY)
            repo.builds.append(Build(ks, folder, reach, applies_in))
            for problem in reach.problems:
                if problem not in reported:
                    reported.add(problem)
                    repo.problems.append(problem)
            for path, ns in reach.manifests.items():
                repo.applications.setdefault(path, []).append(Application(ks, ns, applies_in))
                for child in found.get(path, []):
                    queue.append(self._as_applied(repo, ks, child, ns, applies_in,
                                                  reach.replacements.get(path, []),
                                                  reach.patches.get(path, [])))
                for origin, app in self._applications.get(path, []):
                    doc = self._applied_doc(repo, ks, app, ns, cluster,
                                            reach.replacements.get(path, []), [])
                    for made in self._argo_applications(repo, doc, origin):
                        queue += application_sources(made, origin, ks.key, own_ref,
                                                     self._own_url)

    def _argo_roots(self, repo: Repository) -> list[FluxKustomization]:
        """With no Flux at all: the sources of this repository (its URL a Git remote of the
        checkout) of the Argo CD Applications no other one applies — the root app applied
        by hand at bootstrap, the top of an app of apps. In a cycle, all are kept. None
        when an ApplicationSet cannot be expanded here."""
        own_ref = SourceRefSpec(OWN_SOURCE.kind, OWN_SOURCE.name, OWN_SOURCE.namespace)
        candidates: list[FluxKustomization] = []
        before = len(repo.problems)
        for apps in self._applications.values():
            for origin, doc in apps:
                for made in self._argo_applications(repo, doc, origin):
                    candidates += [s for s in application_sources(
                        made, origin, None, own_ref, self._own_url) if s.source == own_ref]
        if len(repo.problems) > before:
            # An ApplicationSet not expanded here: what it applies is unknown, so the tree
            # is read as it stands (loose) rather than its folders called not applied.
            del repo.problems[before:]
            return []
        return self._tops(candidates)

    def _own_url(self, url: str) -> bool:
        return same_repository(url) in self._urls

    def _argo_applications(self, repo: Repository, doc: dict[str, Any], origin: Origin
                           ) -> list[dict[str, Any]]:
        """An Application, or those an ApplicationSet makes from this repository's folders
        (a note when it cannot be expanded here)."""
        if is_application(doc):
            return [doc]

        def listing(rel: str) -> Listing | None:
            folder = os.path.normpath(os.path.join(self.repo_root, rel))
            return self.fs.listing(folder) if self.boundary.contains(folder) else None

        def folders(rel: str) -> list[str] | None:
            found = listing(rel)
            return list(found.subdirs) if found is not None else None

        def files(rel: str) -> list[str] | None:
            found = listing(rel)
            return sorted(found.files) if found is not None else None

        def read(rel: str) -> str | None:
            path = os.path.normpath(os.path.join(self.repo_root, rel))
            return _default_text(path) if self.boundary.contains(path) and \
                self.fs.is_file(path) else None

        made, why = expand_application_set(doc, Checkout(folders, files, read),
                                           self._own_url)
        if why is not None:
            meta = _mapping(doc.get("metadata"))
            refused = isinstance(why, Refused)
            repo.problems.append(Problem(
                "argocd-applicationset" if refused else "argocd-not-rendered", origin.file,
                why if refused else f"{why}: the Applications it makes are not checked",
                origin.doc, (), ("ApplicationSet", str(meta.get("name")))))
        return made

    def _rendered_by_argo(self, repo: Repository, app: ArgoSource, folder: str) -> bool:
        """A source Argo CD renders with helm (its folder holds a Chart.yaml) or with a
        config management plugin: not built here, and a note says so."""
        listing = self.fs.listing(folder)
        chart = listing is not None and "Chart.yaml" in listing.others
        if not (chart or app.plugin):
            return False
        tool = "helm (a Chart.yaml is in its path)" if chart else \
            "a config management plugin"
        assert app.origin is not None
        repo.problems.append(Problem(
            "argocd-not-rendered", app.origin.file, f"Argo CD renders {app.path!r} with "
            f"{tool}; its objects are not checked" + (" (validate --helm templates it)"
                                                      if chart else ""),
            *_at(app), helm_chart=chart))
        return True

    def _tops(self, candidates: list[FluxKustomization]) -> list[FluxKustomization]:
        """With no entry point found, the Flux Kustomizations no other one applies: the
        children are reached through them (with the namespace and patches their parents
        give them), not built a second time as entry points. In a cycle, all are kept."""
        reached: set[str] = set()
        for ks in candidates:
            if ks.origin is not None:
                reached |= self._reached(ks) - {ks.origin.file}
        tops = [ks for ks in candidates if ks.origin is None or ks.origin.file not in reached]
        return tops or candidates

    def _reached(self, ks: FluxKustomization) -> set[str]:
        """The manifests its path applies, read without following anything (no entry
        point is known yet)."""
        folder = os.path.normpath(join(self._base_for(_joined(ks.path)), _joined(ks.path)))
        if ks.origin is None or not self.fs.is_dir(folder) or \
                not self.boundary.contains(folder):
            return set()
        return set(self.reader.build(folder, ks.origin.file, ks.components,
                                     ks.directory if isinstance(ks, ArgoSource)
                                     else FLUX_DIRECTORY).manifests)

    def _resolve(self, repo: Repository, ks: FluxKustomization, source_root: str,
                 mapped: str | None = None) -> str | None:
        """The folder `ks` builds; `mapped` is its path in this repository when it is
        built from a generated artifact."""
        where = ks.origin.file if ks.origin else self.root
        if mapped is not None:
            folder = join(self._base_for(mapped), mapped)
            if self.fs.is_dir(folder) and self.boundary.contains(folder):
                return folder
            repo.problems.append(Problem(
                "flux-path", where, f"spec.path {ks.path!r} of {ks.source.kind} "
                f"{ks.source.name} (copied from {mapped!r} of this repository) is not a "
                f"directory of this repository", *_at(ks)))
            return None
        if source_root == self.repo_root:
            # The folder validated may be the repository (a copy without .git, or one
            # repository of several in a monorepo): spec.path is tried from there up.
            source_root = self._base_for(_joined(ks.path))
        folder = join(source_root, _joined(ks.path))
        inside = folder == source_root or folder.startswith(source_root.rstrip(os.sep) + os.sep)
        if not inside or (source_root == self.repo_root and not self.boundary.contains(folder)):
            repo.problems.append(Problem(
                _path_rule(ks), where, f"{_path_name(ks)} {ks.path!r} leaves the "
                f"repository; {_applier(ks)} refuses it", *_at(ks)))
            return None
        if not self.fs.is_dir(folder):
            # On disk, but not in the source: Flux's artifact does not hold it.
            hidden = os.path.isdir(folder) and self.boundary.contains(folder)
            repo.problems.append(Problem(
                _path_rule(ks), where, f"{_path_name(ks)} {ks.path!r} is left out of the "
                f"source (.sourceignore, or the GitRepository's spec.ignore): not in Flux's "
                f"artifact" if hidden else f"{_path_name(ks)} {ks.path!r} is not a "
                f"directory of "
                f"{'this repository' if source_root == self.repo_root else source_root}",
                *_at(ks)))
            return None
        return folder

    def _base_for(self, path: str) -> str:
        if self._base is not None:
            return self._base
        here = self.folder
        while True:
            if self.fs.is_dir(join(here, path or ".")) or here == self.repo_root:
                break
            up = os.path.dirname(here)
            if up == here:
                break
            here = up
        if self.fs.is_dir(join(here, path or ".")):
            self._base = here  # one root for the whole repository, once found
            return here
        return self.folder

    def _as_applied(self, repo: Repository, parent: FluxKustomization,
                    child: FluxKustomization, namespace: str, cluster: str = "",
                    replaced: list[Replacement] | None = None,
                    patched: list[dict[str, Any]] | None = None) -> FluxKustomization:
        """The child as the parent's build produces it (_applied_doc)."""
        doc = self._applied_doc(repo, parent, child.raw, namespace, cluster, replaced,
                                patched)
        return parse_kustomization(doc, child.origin, parent.key)

    def _applied_doc(self, repo: Repository, parent: FluxKustomization,
                     doc: dict[str, Any], namespace: str, cluster: str = "",
                     replaced: list[Replacement] | None = None,
                     patched: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """An object that steers builds (a Flux Kustomization, an Argo CD Application) as
        the parent's build produces it: the kustomizations' namespace (or, applied by Argo
        CD, its destination namespace when it names none), the replacements known without
        building (repo.replacements) and their patches selecting it, the parent's patches,
        its targetNamespace, then the parent's postBuild variables (Flux substitutes them
        in every object of the build, the child Kustomizations too: a child's spec.path
        may name `${CLUSTER}`)."""
        meta = dict(doc.get("metadata") or {}) if isinstance(doc.get("metadata"), dict) else {}
        if namespace:
            meta["namespace"] = namespace
        elif isinstance(parent, ArgoSource) and not meta.get("namespace") and \
                parent.destination_namespace:
            meta["namespace"] = parent.destination_namespace
        doc = {**doc, "metadata": meta}
        if replaced:
            doc = apply_replacements(doc, replaced)
        if patched:
            # The kustomizations' own patches (a Component giving every child Flux
            # Kustomization its substituteFrom); their errors are the kustomize build's.
            with contextlib.suppress(PatchError):
                doc = apply_patches(doc, patched)
        if parent.spec.get("patches"):
            try:
                doc = apply_patches(doc, parent.spec["patches"])
            except PatchError as err:
                where = parent.origin.file if parent.origin else self.root
                repo.problems.append(Problem("kustomize-build", where,
                                             f"{parent.label}: spec.patches: {err}"))
        if parent.target_namespace:
            doc = {**doc, "metadata": {**(doc.get("metadata") or {}),
                                       "namespace": parent.target_namespace}}
        if (parent.substitute or parent.substitute_from) and \
                not substitution_disabled(doc):
            doc = self._substituted(repo, parent, doc, cluster)
        return doc

    def _substituted(self, repo: Repository, parent: FluxKustomization,
                     doc: dict[str, Any], cluster: str) -> dict[str, Any]:
        text = as_text(doc)
        if not has_variables(text):
            return doc
        values, complete = self._parent_variables(repo, parent, cluster)
        if not substitution_runs(parent.post_build, values, complete):
            return doc
        try:
            # An encrypted value, or a source not in the tree: kept for Flux to fill in.
            loaded = _load_yaml(substitute(text, values, complete).text)
        except EnvsubstError:
            return doc  # validate reports the failing substitution on the object itself
        return loaded if isinstance(loaded, dict) else doc

    def _loose_builds(self, loose: list[str]) -> set[str]:
        """What the kustomize folders of a loose tree read, each one no other includes
        built on its own (outermost first; Components only through their consumers)."""
        read: set[str] = set()
        kfiles = sorted((f for f in loose if os.path.basename(f) in KUSTOMIZATION_FILES),
                        key=lambda f: (f.count(os.sep), f))
        for kfile in kfiles:
            folder = os.path.dirname(kfile)
            if kfile in read or (self.reader.kustomization(folder) or {}).get(
                    "kind") == "Component":
                continue
            read |= self.reader.build(folder, folder).reads
        return read

    def _under_kustomization(self, folder: str, seen: dict[str, bool]) -> bool:
        """A kustomization file in the folder or one above it, up to the folder read."""
        if folder not in seen:
            up = os.path.dirname(folder)
            seen[folder] = self.fs.kustomization_file(folder) is not None or (
                folder != self.folder and up != folder and
                folder.startswith(self.folder) and self._under_kustomization(up, seen))
        return seen[folder]

    def _parent_variables(self, repo: Repository, parent: FluxKustomization, cluster: str
                          ) -> tuple[dict[str, str | None], bool]:
        """The parent's postBuild variables, from the ConfigMaps and Secrets applied in
        the same cluster so far (the parent's sources are applied before its children in
        every layout seen: the cluster's root folder), and whether all were found."""
        key = (parent.key, cluster)
        if key in self._variables:
            return self._variables[key]
        found: dict[str, str | None] = {}  # None: an encrypted value, its name known
        complete = True
        for ref in parent.substitute_from:
            values = self._values_named(repo, ref.kind, ref.name, cluster)
            if values is None:
                complete = complete and ref.optional
                continue
            found.update(values)
        result = ({**found, **parent.substitute}, complete)
        self._variables[key] = result
        return result

    def _values_named(self, repo: Repository, kind: str, name: str, cluster: str
                      ) -> dict[str, str | None] | None:
        out: dict[str, str | None] | None = None
        paths = [path for path in sorted(repo.applications) if self.values_in(path)
                 and any(a.cluster == cluster for a in repo.applications[path])]
        for key, doc in _config_sources(self.docs, paths):
            if key == (kind, name):
                out = {**(out or {}), **config_values(doc)}
        return out

    # -- what no entry point reaches -----------------------------------------------------

    def _leftovers(self, repo: Repository, files: list[str],
                   found: dict[str, list[FluxKustomization]],
                   own: Callable[[SourceRefSpec], bool]) -> None:
        read: set[str] = set()
        for build in repo.builds:
            if build.reach is not None:
                read |= build.reach.reads
        if repo.mode == "loose":
            # Flux Kustomizations nothing here applies are entry points, then the rest
            # is applied as it stands.
            candidates = [ks for kss in found.values() for ks in kss
                          if own(ks.source) or ks.source.key == OWN_SOURCE
                          or ks.source.name in self.options.source_dirs]
            chosen = {id(ks) for ks in candidates}
            externals = [ks for kss in found.values() for ks in kss if id(ks) not in chosen]
            self._traverse(repo, self._tops(candidates), own, found)
            repo.external += [ks for ks in externals if ks.key not in repo.kustomizations]
            for ks in externals:
                repo.kustomizations.setdefault(ks.key, ks)
            for build in repo.builds:
                if build.reach is not None:
                    read |= build.reach.reads
            # Dotfiles (.yamllint.yaml, .pre-commit-config.yaml, …) are tool configs: no
            # kustomization lists them and Flux would not apply them as they stand. (The
            # validator passes over the files with no object in them: Taskfiles, Ansible.)
            loose = [f for f in files if f not in read
                     and not os.path.basename(f).startswith(".")
                     and (f == self.root or not self._in_chart(f))]
            # Below a kustomize folder (each one nothing includes is built on its own), a
            # file no build reads is left out, not applied as it stands (a scaffold's
            # unlisted app/).
            built = self._loose_builds(loose)
            kustomized: dict[str, bool] = {}
            left_out = {f for f in loose if f not in built and f != self.root
                        and os.path.basename(f) not in KUSTOMIZATION_FILES
                        and self._under_kustomization(os.path.dirname(f), kustomized)}
            repo.not_included = [f for f in loose if f in left_out]
            repo.loose = [f for f in loose if f not in left_out]
            return
        left = [f for f in files if f not in read and not self._in_chart(f)
                and self.has_objects(f) and any(object_like(d) for d in self.docs(f))]
        built = set().union(*(b.reach.folders for b in repo.builds if b.reach is not None))
        # A file next to a kustomization that is built, and not listed by it: forgotten,
        # most likely (not-included); anything else is left out as a whole (not-applied).
        unlisted = [f for f in left if os.path.dirname(f) in built
                    and os.path.basename(f) not in KUSTOMIZATION_FILES]
        repo.commented_out = [f for f in unlisted if self._commented_out(f)]
        repo.not_included = [f for f in unlisted if f not in repo.commented_out]
        left = [f for f in left if f not in repo.not_included]
        # A folder stands for its files when nothing in it is read by a build.
        repo.unapplied = _collapse(left, read | set(repo.not_included), self.folder)

    def _in_chart(self, path: str) -> bool:
        """Whether the file is part of a Helm chart (a folder above it holds Chart.yaml):
        its templates are Go templates that helm renders, never manifests applied as they
        stand, and its values are no objects."""
        folder = os.path.dirname(path)
        found = self._charts.get(folder)
        if found is None:
            listing = self.fs.listing(folder)
            up = os.path.dirname(folder)
            found = (listing is not None and "Chart.yaml" in listing.others) or (
                folder != self.repo_root and up != folder and self._in_chart(folder))
            self._charts[folder] = found
        return found

    def _commented_out(self, path: str) -> bool:
        """Whether its folder's kustomization lists the file in a comment."""
        kfile = self.fs.kustomization_file(os.path.dirname(path))
        text = _default_text(kfile) if kfile is not None else None
        name = re.escape(os.path.basename(path))
        return text is not None and re.search(
            rf"^[ \t]*#[ \t]*-[ \t]*(?:\./)?{name}(?:[ \t].*)?$", text, re.MULTILINE) is not None


def _at(ks: FluxKustomization) -> tuple[int | None, tuple[str | int, ...],
                                         tuple[str, str] | None]:
    return (ks.origin.doc if ks.origin else None, ks.path_field, ks.kind_name)


def _path_rule(ks: FluxKustomization) -> str:
    return "argocd-path" if isinstance(ks, ArgoSource) else "flux-path"


def _path_name(ks: FluxKustomization) -> str:
    """`spec.path`, `spec.source.path`, `spec.sources[1].path`."""
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}"
                   for part in ks.path_field).lstrip(".")


def _applier(ks: FluxKustomization) -> str:
    return "Argo CD" if isinstance(ks, ArgoSource) else "Flux"


def _synced_from(key: ObjKey) -> Callable[[SourceRefSpec], bool]:
    return lambda s: s.key == key


def _joined(path: str) -> str:
    """spec.path as kustomize-controller joins it to the source's root (SecureJoin): a
    leading `/` is that root, not the machine's."""
    return path.lstrip("/") or "."


def _sync_path(path: str) -> str:
    norm = os.path.normpath(path.strip() or ".").replace(os.sep, "/")
    return "" if norm == "." else norm.lstrip("/")


def _cluster_name(root: FluxKustomization) -> str:
    """A cluster is named by its entry point's sync path (e.g. clusters/production)."""
    return _sync_path(root.path) or root.key.ref


def _load_yaml(text: str) -> Any:
    from outfitter import yamlio

    return yamlio.load_checked(text, where="postBuild substitution")


def same_repository(url: str) -> str:
    """A Git or OCI URL as one repository (two URLs of one repository compare equal): no
    scheme, user, `.git` or final slash, and `git@host:owner/name` as `host/owner/name`."""
    out = url.strip().lower()
    for scheme in ("https://", "http://", "ssh://", "oci://"):
        out = out.removeprefix(scheme)
    if "@" in out.split("/", 1)[0]:
        out = out.split("@", 1)[1]
    host, sep, rest = out.partition("/")
    if ":" in host and not host.split(":", 1)[1].isdigit():  # scp-like git@host:owner/name
        host, _, first = host.partition(":")
        rest = f"{first}/{rest}" if sep else first
        sep = "/"
    return f"{host}{sep}{rest}".removesuffix("/").removesuffix(".git")


def _synthetic(name: str, namespace: str, path: str, source: ObjKey, origin: Origin | None
               ) -> FluxKustomization:
    doc = {"apiVersion": f"{FLUX_KS_API}/v1", "kind": "Kustomization",
           "metadata": {"name": name, "namespace": namespace},
           "spec": {"path": path, "sourceRef": {"kind": source.kind, "name": source.name,
                                                "namespace": source.namespace}}}
    ks = parse_kustomization(doc, None)
    ks.origin = origin
    return ks


def _collapse(left: list[str], others: set[str], top: str) -> list[str]:
    """Unapplied files, a folder in place of its files when nothing in it is applied."""
    busy: set[str] = set()
    for path in others:
        folder = os.path.dirname(path)
        while folder not in busy:
            busy.add(folder)
            if folder == top or len(folder) <= len(top):
                break
            folder = os.path.dirname(folder)
    out: list[str] = []
    for path in sorted(left, key=lambda p: p.split(os.sep)):
        folder = os.path.dirname(path)
        best = None
        while folder not in busy and len(folder) > len(top):
            best = folder
            folder = os.path.dirname(folder)
        item = best if best is not None else path
        covered = bool(out) and (out[-1] == item or item.startswith(
            out[-1].rstrip(os.sep) + os.sep))
        if not covered:
            out.append(item)
    return out


def _config_sources(docs: Docs, paths: list[str]
                    ) -> Iterator[tuple[tuple[str, str], dict[str, Any]]]:
    """((kind, name), document) of each ConfigMap and Secret in `paths`: where postBuild
    substituteFrom values come from."""
    for path in paths:
        for doc in docs(path):
            if isinstance(doc, dict) and doc.get("kind") in ("ConfigMap", "Secret") and \
                    isinstance(meta := doc.get("metadata"), dict):
                yield (str(doc["kind"]), str(meta.get("name"))), doc


def _default_text(path: str) -> str | None:
    from outfitter import yamlio

    try:
        return yamlio.read_text(path)
    except yamlio.YamlInputError:
        return None


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _generated_from(kustomization: dict[str, Any], folder: str, path: str
                    ) -> Iterator[tuple[str, str]]:
    """(ConfigMap name, key) of each configMapGenerator entry of the kustomization that
    reads `path` (`files: [values.yaml=./helm/values.yaml]`, or the file's own name)."""
    for gen in kustomization.get("configMapGenerator") or []:
        if not isinstance(gen, dict) or not gen.get("name"):
            continue
        for entry in gen.get("files") or []:
            key, _, source = str(entry).rpartition("=")
            if os.path.normpath(os.path.join(folder, source)) == path:
                yield str(gen["name"]), key or os.path.basename(source)


def _default_is_flux(path: str) -> bool:
    return may_hold_flux(_default_text(path) or "")


def _default_values_in(path: str) -> bool:
    text = _default_text(path) or ""
    return "ConfigMap" in text or "Secret" in text


def _default_has_objects(path: str) -> bool:
    text = _default_text(path) or ""
    return "apiVersion" in text and "kind" in text


def _default_docs(path: str) -> list[Any]:
    from outfitter import yamlio

    text = _default_text(path)
    if text is None:
        return []
    try:
        return yamlio.load_all_checked(text, where=path)
    except yamlio.YamlInputError:
        return []


def load(root: str | os.PathLike[str], options: Options | None = None, *,
         docs: Docs | None = None, is_flux: Callable[[str], bool] | None = None,
         has_objects: Callable[[str], bool] | None = None,
         fs: FsTree | None = None,
         values_in: Callable[[str], bool] | None = None) -> Repository:
    """The repository at `root` as Flux applies it. `docs`, `is_flux`, `has_objects` and
    `values_in` (may hold a ConfigMap or Secret) read files (validate passes its own,
    parsed once); by default yamlio's checked loader reads them."""
    loader = _Loader(os.fspath(root), options or Options(), docs, is_flux, has_objects, fs,
                     values_in)
    repo = loader.load()
    if fs is None and repo.source_ignore is not None:
        # Read again without what the source's spec.ignore leaves out (a caller passing
        # its own listing does this itself: validate.engine).
        loader = _Loader(os.fspath(root), options or Options(), docs, is_flux, has_objects,
                         FsTree(SourceIgnore(loader.repo_root, repo.source_ignore)),
                         values_in)
        repo = loader.load()
    repo.reader = loader.reader
    repo.docs = loader.docs
    return repo


def kustomization_reader(root: str | os.PathLike[str], fs: FsTree | None = None) -> Reader:
    """The model's kustomization reader for a repository, without building it: each
    folder's kustomization file (any name kustomize knows) parsed once, by the checked
    loader (size, depth and alias limits; custom tags kept); none outside `root` is read."""
    tree = fs or FsTree()
    boundary = Boundary(os.fspath(root), tree)

    def inside(kfile: str) -> list[Any]:
        return _default_docs(kfile) if boundary.contains(kfile) else []

    return Reader(tree, boundary, _KustomizationDocs(tree, inside))


def reader_for(repo: Repository) -> Reader:
    """The reach reader the model used (its kustomization documents parsed once)."""
    assert repo.reader is not None
    return repo.reader


def unapplied_note(repo: Repository, item: str) -> str:
    if item in repo.commented_out:
        kfile = repo.fs.kustomization_file(os.path.dirname(item))
        return (f"commented out in {os.path.basename(kfile or 'kustomization.yaml')}: "
                f"Flux does not apply it (not validated)")
    kind = "folder" if os.path.isdir(item) else "file"
    return (f"no {repo.appliers} applies this {kind} (not reached from "
            f"{_entry_label(repo)}): not validated")


def _entry_label(repo: Repository) -> str:
    if repo.mode == "path":
        return "--path"
    if repo.clusters:
        return f"the entry points of clusters {', '.join(repo.clusters)}"
    roots = [b.ks for b in repo.builds if b.ks.parent is None]
    return roots[0].label if roots else "an entry point"


__all__ = ["Application", "Build", "Options", "Repository", "kustomization_reader", "load",
           "reader_for", "same_repository", "unapplied_note"]
