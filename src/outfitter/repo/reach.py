"""What one kustomize build reads, worked out from the kustomization files alone (no object
is parsed, nothing is run): the manifests it applies (with the namespace its
kustomizations give them), every other file it reads (patches, generator files), and what
stops it — a remote resource (never fetched), a path leaving the repository, a missing file,
a cycle. A folder without a kustomization file gets the one Flux generates: every YAML file
below it, and each sub-folder with a kustomization file as a whole (an Argo CD directory
source takes the folder's own files only, unless it recurses: `Directory`).
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from outfitter import yamlio
from outfitter.repo.fs import Boundary, source_ignored
from outfitter.repo.replacements import Replacement, namespace_replacements
from outfitter.validate.fstree import FsTree, is_yaml, join

KUSTOMIZE_API = "kustomize.config.k8s.io"


@dataclass(frozen=True, slots=True)
class Problem:
    rule: str  # kustomize-build | remote-resource | flux-path
    file: str  # absolute: the kustomization (or Flux Kustomization) file that names it
    message: str
    doc: int | None = None  # the document, and the field in it, for the line
    at: tuple[str | int, ...] = ()
    kind_name: tuple[str, str] | None = None
    helm_chart: bool = False  # a chart Argo CD templates: validate --helm templates it too


@dataclass
class Reach:
    """One build's reading list."""

    manifests: dict[str, str] = field(default_factory=dict)  # file -> namespace set on it
    reads: set[str] = field(default_factory=set)  # every file read (manifests included)
    folders: set[str] = field(default_factory=set)  # kustomize folders built
    problems: list[Problem] = field(default_factory=list)
    remote: bool = False  # a remote resource left out: the build is incomplete here
    # file -> the replacements its kustomizations write into its objects, innermost first
    # (those known without building: repo.replacements)
    replacements: dict[str, list[Replacement]] = field(default_factory=dict)
    # file -> the `patches` of its kustomizations and their Components that may select a
    # Flux Kustomization, innermost first (inline or read from their `path:`), in Flux's
    # `spec.patches` form
    patches: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # a Component's patches, for the kustomization including it (they patch all it has)
    _pending: list[dict[str, Any]] = field(default_factory=list, repr=False)


@dataclass(frozen=True, slots=True)
class Directory:
    """Which YAML files of a folder with no kustomization file a build applies. Flux's
    generated kustomization takes every one below the folder (sub-folders with a
    kustomization file as a whole); an Argo CD directory source takes the folder's own
    only, unless `recurse`, and keeps those its `include` glob matches and its `exclude`
    glob does not (on the path relative to the folder; `{a,b}` alternatives)."""

    recurse: bool = True
    include: str = ""
    exclude: str = ""

    def takes(self, rel: str) -> bool:
        return (not self.include or _glob(self.include, rel)) and \
            not (self.exclude and _glob(self.exclude, rel))


FLUX_DIRECTORY = Directory()


def _glob(pattern: str, rel: str) -> bool:
    return any(fnmatch.fnmatchcase(rel, p) for p in _alternatives(pattern))


def _alternatives(pattern: str) -> list[str]:
    """`{a,b}` expanded, as Argo CD's glob library reads it (no nesting needed here)."""
    found = re.search(r"\{([^{}]*)\}", pattern)
    if found is None:
        return [pattern]
    head, tail = pattern[:found.start()], pattern[found.end():]
    return [alt for option in found.group(1).split(",")
            for alt in _alternatives(head + option + tail)]


def is_remote(entry: str) -> bool:
    """A URL or a remote base (`github.com/org/repo//path?ref=v1`, `git@…`, `git::…`)."""
    return "://" in entry or entry.startswith(("github.com/", "gitlab.com/", "bitbucket.org/",
                                              "git@", "git::", "ssh:")) or "?ref=" in entry


def _strs(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def path_fields(spec: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(field, path) for every file a kustomization names besides resources/components."""
    for key in ("patchesStrategicMerge", "crds", "configurations", "generators",
                "transformers", "validators"):
        for value in _strs(spec.get(key)):
            if "\n" not in value and is_yaml(value.rsplit("/", 1)[-1]):
                yield key, value
    for key in ("patches", "patchesJson6902", "replacements"):
        for item in spec.get(key) or [] if isinstance(spec.get(key), list) else []:
            if isinstance(item, dict) and isinstance(item.get("path"), str):
                yield key, item["path"]
    for key in ("configMapGenerator", "secretGenerator"):
        for gen in spec.get(key) or [] if isinstance(spec.get(key), list) else []:
            if not isinstance(gen, dict):
                continue
            for value in _strs(gen.get("files")):
                yield key, value.rpartition("=")[2]
            for value in _strs(gen.get("envs")) + ([gen["env"]] if isinstance(
                    gen.get("env"), str) else []):
                yield key, value
    openapi = spec.get("openapi")
    if isinstance(openapi, dict) and isinstance(openapi.get("path"), str):
        yield "openapi", openapi["path"]


class Reader:
    """Reaches builds; the kustomization documents come from `kdocs` (parsed once)."""

    def __init__(self, fs: FsTree, boundary: Boundary,
                 kdocs: Callable[[str], list[Any]],
                 docs: Callable[[str], list[Any]] | None = None) -> None:
        self.fs = fs
        self.boundary = boundary
        self.kdocs = kdocs
        self.docs = docs  # any file's documents (a replacements `path:`), if readable
        self._built: dict[tuple[str, str, tuple[str, ...], Directory], Reach] = {}

    def kustomization(self, folder: str) -> dict[str, Any] | None:
        """A folder's kustomization (a Kustomization or a Component), or None."""
        if self.fs.kustomization_file(folder) is None:
            return None
        docs = self.kdocs(folder)
        return docs[0] if len(docs) == 1 and isinstance(docs[0], dict) else {}

    def build(self, folder: str, where: str, components: tuple[str, ...] = (),
              directory: Directory = FLUX_DIRECTORY) -> Reach:
        """The reading list of a Flux path: `folder` (with its kustomization or Flux's
        generated one) and the Flux Kustomization's own `components` (relative to it).
        Read once per (folder, where, components): with no entry point, the model reads
        each Flux path to find the top ones, then again to apply them (not changed after)."""
        key = (folder, where, tuple(components), directory)
        found = self._built.get(key)
        if found is None:
            found = self._built[key] = self._build(folder, where, components, directory)
        return found

    def _build(self, folder: str, where: str, components: tuple[str, ...],
               directory: Directory) -> Reach:
        reach = Reach()
        if self.fs.kustomization_file(folder) is not None:
            self._folder(folder, reach, [], "")
        else:
            self._generated(folder, reach, directory)
        for entry in components:
            self._entry(folder, entry, where, reach, [folder], "", component=True)
        if reach._pending:  # the Flux Kustomization's own components patch the whole build
            for path in reach.manifests:
                reach.patches.setdefault(path, []).extend(reach._pending)
            reach._pending = []
        return reach

    def _generated(self, folder: str, reach: Reach, directory: Directory) -> None:
        stack = [folder]
        while stack:
            here = stack.pop()
            listing = self.fs.listing(here)
            if listing is None:
                continue
            if here != folder and self.fs.kustomization_file(here) is not None:
                self._folder(here, reach, [], "")
                continue
            for name in listing.others:
                path = os.path.join(here, name)
                if is_yaml(name) and not source_ignored(name) and \
                        self.boundary.contains(path) and (
                            directory is FLUX_DIRECTORY or
                            directory.takes(os.path.relpath(path, folder))):
                    reach.manifests.setdefault(path, "")
                    reach.reads.add(path)
            if directory.recurse:
                stack += [os.path.join(here, d) for d in reversed(listing.subdirs)
                          if not d.startswith(".")]

    def _folder(self, folder: str, reach: Reach, chain: list[str], outer_ns: str) -> None:
        kfile = self.fs.kustomization_file(folder)
        assert kfile is not None
        if folder in chain:
            cycle = " → ".join(self.boundary.rel(f) for f in [*chain[chain.index(folder):],
                                                                folder])
            reach.problems.append(Problem("kustomize-build", kfile,
                                          f"kustomization cycle: {cycle}"))
            return
        reach.folders.add(folder)
        reach.reads.add(kfile)
        spec = self.kustomization(folder) or {}
        ns = outer_ns or str(spec.get("namespace") or "")
        here = [*chain, folder]
        before = set(reach.manifests)
        outer_pending, reach._pending = reach._pending, []
        for key in ("resources", "bases", "components"):
            values = spec.get(key) if isinstance(spec.get(key), list) else []
            for i, entry in enumerate(values or []):
                if isinstance(entry, str):
                    self._entry(folder, entry, kfile, reach, here, ns,
                                component=key == "components", at=(key, i))
        for key, entry in path_fields(spec):
            self._file(folder, entry, kfile, reach, key)
        self._plugin_folders(folder, spec, reach, here)
        patches = [*reach._pending, *self._ks_patches(folder, spec)]
        reach._pending = outer_pending
        if spec.get("kind") == "Component":
            reach._pending.extend(patches)
        elif patches:
            for path in reach.manifests:
                if path not in before:
                    reach.patches.setdefault(path, []).extend(patches)
        if spec.get("replacements") and self.docs is not None:
            docs = self.docs

            def read(entry: str) -> list[Any]:
                path = join(folder, entry)
                return docs(path) if self.boundary.contains(path) and \
                    self.fs.is_file(path) else []

            found = namespace_replacements(spec, str(spec.get("namespace") or ""), read)
            for path in reach.manifests:
                if found and path not in before:
                    reach.replacements.setdefault(path, []).extend(found)
        if spec.get("helmCharts"):
            reach.remote = True
            reach.problems.append(Problem(
                "remote-resource", kfile, "helmCharts: a chart inflated by kustomize is "
                "fetched from its repository; not fetched (offline), its objects are not "
                "checked"))

    def _plugin_folders(self, folder: str, spec: dict[str, Any], reach: Reach,
                        chain: list[str]) -> None:
        """A `generators`/`transformers`/`validators` entry that is a kustomize folder:
        kustomize builds it and takes its output as the plugins' configs. What it reads is
        read by this build; none of it is applied."""
        for key in ("generators", "transformers", "validators"):
            for entry in _strs(spec.get(key)):
                path = join(folder, entry)
                if "\n" in entry or is_remote(entry) or not self.boundary.contains(path) \
                        or self.fs.kustomization_file(path) is None:
                    continue  # inline, remote or a file: as any other entry
                configs = Reach()
                self._folder(path, configs, chain, "")
                reach.reads |= configs.reads
                reach.folders |= configs.folders
                reach.problems += configs.problems
                reach.remote = reach.remote or configs.remote

    def _ks_patches(self, folder: str, spec: dict[str, Any]) -> list[dict[str, Any]]:
        """The kustomization's `patches` that may select a Flux Kustomization (a target of
        that kind, or none), each with its patch text."""
        found = []
        patches = spec.get("patches")
        for entry in patches if isinstance(patches, list) else []:
            if not isinstance(entry, dict):
                continue
            raw = entry.get("target")
            target: dict[str, Any] = raw if isinstance(raw, dict) else {}
            if str(target.get("kind") or "Kustomization") != "Kustomization":
                continue
            text = entry.get("patch")
            if not isinstance(text, str) and isinstance(entry.get("path"), str):
                path = join(folder, entry["path"])
                if self.boundary.contains(path) and self.fs.is_file(path):
                    try:  # bounded, regular files only, as every read of the tree
                        text = yamlio.read_text(path)
                    except yamlio.YamlInputError:
                        continue  # the kustomize build reports it
            if isinstance(text, str) and (target or "Kustomization" in text):
                found.append({"patch": text, **({"target": target} if target else {})})
        return found

    def _entry(self, folder: str, entry: str, kfile: str, reach: Reach, chain: list[str],
               ns: str, component: bool = False, at: tuple[str | int, ...] = ()) -> None:
        def problem(rule: str, message: str) -> None:
            reach.problems.append(Problem(rule, kfile, message, 0 if at else None, at))

        if is_remote(entry):
            reach.remote = True
            problem("remote-resource", f"{entry}: remote, not fetched (offline)")
            return
        path = join(folder, entry)
        if not self.boundary.contains(path):
            problem("kustomize-build", f"{entry}: outside the repository; not read, and "
                    f"Flux cannot read it either")
            return
        if self.fs.is_dir(path):
            if self.fs.kustomization_file(path) is None:
                problem("kustomize-build", f"{entry}: a folder without a kustomization file "
                        f"(kustomize refuses it)")
                return
            kind = (self.kustomization(path) or {}).get("kind", "Kustomization")
            if component and kind != "Component":
                problem("kustomize-build", f"{entry}: listed in components but is a {kind}, "
                        f"not a Component")
                return
            if not component and kind == "Component":
                problem("kustomize-build", f"{entry}: a Component listed in resources "
                        f"(kustomize: expected kind != 'Component'); list it in components")
                return
            if path in chain:
                cycle = " → ".join(self.boundary.rel(f) for f in [*chain[chain.index(path):],
                                                                    path])
                problem("kustomize-build", f"kustomization cycle: {cycle}")
                return
            self._folder(path, reach, chain, ns)
        elif self.fs.is_file(path):
            reach.manifests.setdefault(path, ns)
            reach.reads.add(path)
        else:
            problem("kustomize-build", f"{entry}: no such file or folder")

    def _file(self, folder: str, entry: str, kfile: str, reach: Reach, key: str) -> None:
        if is_remote(entry):
            reach.remote = True
            reach.problems.append(Problem("remote-resource", kfile,
                                          f"{key} {entry}: remote, not fetched (offline)"))
            return
        path = join(folder, entry)
        if not self.boundary.contains(path):
            reach.problems.append(Problem(
                "kustomize-build", kfile, f"{key} {entry}: outside the repository; not read, "
                f"and Flux cannot read it either"))
            return
        if self.fs.is_file(path):
            reach.reads.add(path)
        else:
            reach.problems.append(Problem("kustomize-build", kfile,
                                          f"{key} {entry}: no such file"))
