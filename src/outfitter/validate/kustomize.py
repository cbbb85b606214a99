"""Building a Flux repository's directories the way Flux would, and knowing which file each
object came from.

- A directory with a kustomization file is built by kustomize. Most kustomizations in Flux
  repositories only list `resources` (files and directories): those are read here directly,
  which is exact and keeps each document's file and index. Anything else (patches,
  generators, namespace, remote bases, …) is built by kustomize through a wrapper
  kustomization that turns on `buildMetadata: [originAnnotations]`, so each object still
  names its file: by one kustomize-batch process for the whole run when tools/build.sh has
  built it (validate.kustomize_server), else by a `kubectl kustomize` per build.
- A Flux Kustomization whose `path` has no kustomization file gets one generated, as Flux
  does: every YAML file below it, and each sub-directory that has a kustomization file.
- The Flux Kustomization's own overlay: `targetNamespace`, `namePrefix`/`nameSuffix`,
  `patches`, `images`, `components` go into the wrapper (kubectl); `commonMetadata` and
  `postBuild` are applied here, after the build.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import yaml

from outfitter import yamlio
from outfitter.repo import sandbox
from outfitter.repo.fs import source_ignored
from outfitter.repo.reach import FLUX_DIRECTORY, Directory, Reader, is_remote
from outfitter.validate import quick_yaml
from outfitter.validate.documents import (
    DocItem,
    InputProblem,
    ManifestLoader,
    docs_of,
    iter_docs,
    load_docs,
    read_text,
)
from outfitter.validate.fstree import FsTree, is_yaml, join
from outfitter.validate.kustomize_server import KustomizeServer, ServerGone, find_binary
from outfitter.validate.parse_cache import ParseCache, parsed

KUSTOMIZE_API = "kustomize.config.k8s.io"
FLUX_KS_API = "kustomize.toolkit.fluxcd.io"
_NATIVE_KEYS = frozenset({"apiVersion", "kind", "resources"})
_OVERLAY_KEYS = ("targetNamespace", "namePrefix", "nameSuffix", "patches", "images",
                 "components")
ORIGIN = "config.kubernetes.io/origin"


@dataclass
class Built:
    """An object out of a build, with the file (and document) it came from."""

    obj: dict[str, Any]
    file: str
    doc: int | None  # None when kustomize built it (the line is then found by kind and name)


@dataclass
class BuildProblem:
    rule: str  # "kustomize-build", or an input rule
    file: str
    message: str
    line: int | None = None


@dataclass
class Overlay:
    """What a Flux Kustomization adds to the build of its path."""

    name: str
    namespace: str
    file: str
    spec: dict[str, Any]

    @property
    def needs_kustomize(self) -> bool:
        return any(self.spec.get(key) for key in _OVERLAY_KEYS)


@dataclass
class Builder:
    """Builds directories; records every file a build consumed and every problem."""

    fs: FsTree = field(default_factory=FsTree)
    consumed: set[str] = field(default_factory=set)
    problems: list[BuildProblem] = field(default_factory=list)
    kubectl: str | None = field(default_factory=lambda: shutil.which("kubectl"))
    # Documents of files parsed before the pass (CRDs, Flux Kustomizations), used once.
    preparsed: dict[str, list[DocItem]] = field(default_factory=dict)
    # Texts read before the pass (the scan), used once, with their digests if taken; or
    # the digest alone, for a file the scan did not read (unchanged: see ParseCache.scanned).
    texts: dict[str, tuple[str | None, bytes | None]] = field(default_factory=dict)
    # Documents of unchanged files from the last run (validate.parse_cache), if kept.
    cache: ParseCache | None = None
    _kdocs: dict[str, list[Any]] = field(default_factory=dict)
    # The repository's boundary (repo.fs.Boundary.contains): nothing outside is read.
    inside: Callable[[str], bool] = field(default=lambda path: True)
    # What a build reads (repo.reach.Reader): kubectl builds only see a copy of that.
    reader: Reader | None = None
    # Threads that run kubectl builds ahead of the pass (None: each build when reached).
    pool: ThreadPoolExecutor | None = None
    # Builds planned while held (True) wait for start(): the pool's threads are started
    # after the plan, when no more processes are forked (validate.parse_ahead).
    hold: bool = False
    # kustomize-batch (None: a kubectl process per build); started at the first build.
    batch: str | None = field(default_factory=find_binary)
    _server: KustomizeServer | None = None
    _server_lock: threading.Lock = field(default_factory=threading.Lock)
    # Builds planned and not yet read, by what they build (_build_key), with how many
    # readers are still to come: clusters of one repository often build one path alike.
    _builds: dict[str, tuple[_Pending, int]] = field(default_factory=dict)

    @property
    def can_kustomize(self) -> bool:
        return self.batch is not None or self.kubectl is not None

    def start(self, pool: ThreadPoolExecutor | None) -> None:
        """The builds planned while held, run ahead on the pool from now on."""
        self.pool, self.hold = pool, False
        for key, (pending, readers) in self._builds.items():
            if isinstance(pending, functools.partial) and pool is not None:
                self._builds[key] = (pool.submit(pending), readers)

    def close(self) -> None:
        """End the kustomize server, if one was started (call after the pool is shut)."""
        with self._server_lock:
            server, self._server = self._server, None
            self.batch = None  # nothing started after this
        if server is not None:
            server.close()

    def kustomization_file(self, folder: str) -> str | None:
        return self.fs.kustomization_file(folder)

    def kustomization_read(self, path: str, items: list[DocItem]) -> None:
        """A kustomization file's documents, parsed already (kept if it is its folder's)."""
        folder = os.path.dirname(path)
        if folder not in self._kdocs and self.kustomization_file(folder) == path:
            self._kdocs[folder] = docs_of(items)[0]

    def kustomization_docs(self, folder: str) -> list[Any]:
        """The parsed kustomization file of a folder (read once)."""
        if folder not in self._kdocs:
            kfile = self.kustomization_file(folder)
            self._kdocs[folder] = load_docs(kfile)[0] if kfile is not None else []
        return self._kdocs[folder]

    def documents(self, path: str) -> Iterator[DocItem]:
        """A file's documents: the ones parsed already, else parsed now."""
        items = self.preparsed.pop(path, None)  # parsed by the scan: in the cache already
        if items is not None:
            yield from items
            return
        kept, digest = self.texts.pop(path, (None, None))
        if kept is None and digest is not None and self.cache is not None:
            found = self.cache.get(digest)
            if found is not None:
                yield from found
                return
        text = kept if kept is not None else read_text(path)
        if kept is None:
            digest = None  # read now: its digest is taken again
        if isinstance(text, InputProblem):
            yield text
            return
        if self.cache is None:
            yield from iter_docs(text)
            return
        # Whole, and kept before the pass changes any of them (overlays edit in place).
        yield from parsed(text, self.cache, digest)

    # -- what a directory's build reads -------------------------------------------------

    def native_entries(self, folder: str, chain: tuple[str, ...] = ()
                       ) -> list[str] | None:
        """The resources of a resources-only kustomization, or None if kustomize is needed.
        A folder that includes itself (a cycle, reported by the repository model) is left
        out of its own build."""
        if self.kustomization_file(folder) is None:
            return None
        docs = self.kustomization_docs(folder)
        if len(docs) != 1 or not isinstance(docs[0], dict):
            return None
        spec = docs[0]
        if not set(spec) <= _NATIVE_KEYS:
            return None
        out = []
        for entry in spec.get("resources") or []:
            if not isinstance(entry, str) or is_remote(entry) or "?" in entry:
                return None
            path = join(folder, entry)
            if not self.inside(path):
                continue  # reported by the repository model; never read
            if self.fs.is_dir(path):
                if path in chain or path == folder:
                    continue
                if self.native_entries(path, (*chain, folder)) is None:
                    return None
            elif not self.fs.is_file(path):
                return None
            out.append(path)
        return out

    def generated_entries(self, folder: str, directory: Directory = FLUX_DIRECTORY
                          ) -> list[str]:
        """Flux's generated kustomization: YAML files below, kustomize dirs as a whole (or
        what an Argo CD directory source takes: repo.reach.Directory)."""
        out: list[str] = []
        stack = [folder]
        while stack:  # top-down, sorted, hidden and symlinked folders not entered (os.walk)
            here = stack.pop()
            listing = self.fs.listing(here)
            if listing is None:
                continue
            if here != folder and self.kustomization_file(here) is not None:
                out.append(here)
                continue
            out += [os.path.join(here, f) for f in listing.others
                    if is_yaml(f) and not source_ignored(f)
                    and self.inside(os.path.join(here, f)) and (
                        directory is FLUX_DIRECTORY or
                        directory.takes(os.path.relpath(os.path.join(here, f), folder)))]
            if directory.recurse:
                stack += [os.path.join(here, d) for d in reversed(listing.subdirs)
                          if not d.startswith(".")]
        return out

    # -- builds ---------------------------------------------------------------------------

    def plan(self, folder: str, overlay: Overlay | None = None,
             chain: tuple[str, ...] = (), directory: Directory = FLUX_DIRECTORY
             ) -> Iterator[str | Iterator[Built]]:
        """The build of a directory (a kustomization, or a Flux path without one) as steps,
        in order: a file whose objects file_objects() gives, or the objects kustomize
        builds. What the build consumes is decided here, before any file is read, so that
        the kustomize builds can run ahead of the pass."""
        has_kustomization = self.kustomization_file(folder) is not None
        entries = self.native_entries(folder, chain) if has_kustomization else \
            self.generated_entries(folder, directory)
        if entries is not None and (overlay is None or not overlay.needs_kustomize):
            if has_kustomization:
                # Resources only: what it reads is its own file and the entries consumed
                # below (folders through their own plan).
                self.consumed.add(self.kustomization_file(folder) or folder)
            for entry in entries:
                if self.fs.is_dir(entry):
                    yield from self.plan(entry, chain=(*chain, folder))
                    continue
                self.consumed.add(entry)
                yield entry
            return
        resources = [folder] if has_kustomization else entries or []
        yield self._kubectl(folder, resources, overlay)

    def file_objects(self, entry: str) -> Iterator[Built]:
        """The objects of one file of a native build; its problems recorded."""
        for item in self.documents(entry):
            if isinstance(item, InputProblem):
                self.problems.append(BuildProblem(item.rule, entry, item.message, item.line))
                break
            index, doc = item
            if doc is None:
                continue
            if isinstance(doc, dict) and str(doc.get("apiVersion", "")).startswith(
                    KUSTOMIZE_API + "/"):
                continue  # a kustomization listed as a resource: kustomize refuses it
            if not isinstance(doc, dict):
                self.problems.append(BuildProblem(
                    "kustomize-build", entry, f"document {index + 1} is not a mapping"))
                continue
            yield Built(doc, entry, index)

    def _consume_kustomization(self, folder: str) -> None:
        """Mark what a kustomization reads: itself and every path its fields name."""
        kfile = self.kustomization_file(folder)
        if kfile is None or kfile in self.consumed:
            return
        self.consumed.add(kfile)
        for value in _strings(self.kustomization_docs(folder)):
            if "://" in value or len(value) > 4096:
                continue
            # `configMapGenerator.files` entries may be `key=path`.
            for candidate in {value, value.rpartition("=")[2]}:
                try:
                    path = join(folder, candidate)
                    is_file = self.fs.is_file(path)
                    is_dir = not is_file and self.fs.is_dir(path)
                except (OSError, ValueError):
                    continue
                if is_file:
                    self.consumed.add(path)
                elif is_dir and path != folder and self.kustomization_file(path) is not None:
                    self._consume_kustomization(path)

    def _kubectl(self, folder: str, resources: list[str],
                 overlay: Overlay | None) -> Iterator[Built]:
        where = overlay.file if overlay is not None else (self.kustomization_file(folder)
                                                          or folder)
        for resource in resources:
            if self.fs.is_dir(resource):
                self._consume_kustomization(resource)
            else:
                self.consumed.add(resource)
        for component in (overlay.spec.get("components") or []) if overlay else []:
            if isinstance(component, str) and not is_remote(component):
                path = join(folder, component)
                if self.inside(path) and self.kustomization_file(path) is not None:
                    self._consume_kustomization(path)
        return self._kubectl_run(folder, resources, overlay, where)

    def _kubectl_run(self, folder: str, resources: list[str], overlay: Overlay | None,
                     where: str) -> Iterator[Built]:
        if not self.can_kustomize:
            self.problems.append(BuildProblem(
                "kustomize-build", where,
                f"{os.path.basename(folder)}: building it needs kustomize (`kubectl "
                f"kustomize`), not on PATH"))
            return iter(())
        # Planned now, run ahead on the pool (kubectl is another process: the builds of a
        # repository overlap each other and the checks); the objects are read in order.
        # A build alike to one planned and not yet read is not run again.
        key = _build_key(folder, resources, overlay)
        planned = self._builds.get(key)
        if planned is None:
            job = functools.partial(self._kubectl_job, folder, resources, overlay)
            pending: _Pending = job if self.hold else \
                self.pool.submit(job) if self.pool is not None else job()
            self._builds[key] = (pending, 1)
        else:
            self._builds[key] = (planned[0], planned[1] + 1)
        return self._kubectl_objects(key, where)

    def _kubectl_objects(self, key: str, where: str) -> Iterator[Built]:
        pending, readers = self._builds[key]
        if readers > 1:
            self._builds[key] = (pending, readers - 1)
        else:
            del self._builds[key]  # its last reader: the output is not kept longer
        done = pending.result() if isinstance(pending, Future) else \
            pending() if isinstance(pending, functools.partial) else pending
        for path, why in sorted(done.refused.items()):
            problem = BuildProblem(why.rule, path, why.message, why.line)
            if problem not in self.problems:  # read by more than one build
                self.problems.append(problem)
        if done.error is not None:
            self.problems.append(BuildProblem("kustomize-build", where, done.error))
            return
        for doc in read_output(done.stdout):
            if isinstance(doc, dict):
                origin = _pop_origin(doc, done.base, where)
                if done.mirror_dest and origin.startswith(done.mirror_dest + os.sep):
                    origin = os.path.join(done.mirror_root,
                                          origin[len(done.mirror_dest) + 1:])
                yield Built(doc, origin, None)

    def _kubectl_job(self, folder: str, resources: list[str],
                     overlay: Overlay | None) -> _KubectlOutput:
        with tempfile.TemporaryDirectory(prefix="outfitter-kustomize-") as tmp:
            components = [os.path.join(folder, c) for c in (overlay.spec.get("components")
                                                               or [])] if overlay else []
            mirror = None
            if self.reader is not None:
                # kustomize sees a copy of what the build may read, inside the boundary,
                # with remote entries left out: nothing is fetched, nothing outside is read.
                mirror = sandbox.Mirror(self.reader, os.path.join(tmp, "repo"))
                resources = [mirror.add(r) for r in resources
                             if self.fs.is_dir(r) or mirror.refusal(r) is None]
                components = [mirror.add(c) for c in components
                              if not is_remote(c) and self.inside(os.path.normpath(c))]
            base = tmp
            wrapper: dict[str, Any] = {
                "apiVersion": f"{KUSTOMIZE_API}/v1beta1", "kind": "Kustomization",
                "resources": [os.path.relpath(r, tmp) for r in resources],
                "buildMetadata": ["originAnnotations"],
            }
            if mirror is not None and overlay is not None:
                # As kustomize-controller does: the Flux Kustomization's additions go into
                # the path's own kustomization (or the one generated), so its transformers
                # (labels, namespace, …) also reach what the components add.
                base = mirror.path(folder)
                wrapper = _flux_kustomization(base, resources, components, overlay.spec)
            elif overlay is not None:
                spec = overlay.spec
                if spec.get("targetNamespace"):
                    wrapper["namespace"] = spec["targetNamespace"]
                for key in ("namePrefix", "nameSuffix", "patches", "images"):
                    if spec.get(key):
                        wrapper[key] = spec[key]
                if components:
                    wrapper["components"] = [os.path.relpath(c, tmp) for c in components]
            os.makedirs(base, exist_ok=True)
            for name in KUSTOMIZATION_NAMES:
                if os.path.lexists(os.path.join(base, name)):
                    os.unlink(os.path.join(base, name))
            with open(os.path.join(base, "kustomization.yaml"), "w", encoding="utf-8") as out:
                out.write(yamlio.dump(wrapper))
            dest = mirror.dest if mirror is not None else ""
            root = mirror.root if mirror is not None else ""
            stdout, stderr = self._kustomize(base)
            refused = mirror.refused if mirror is not None else {}
            if stderr is not None:
                message = _kustomize_error(stderr, tmp)
                if mirror is not None:
                    message = mirror.unmirror_text(message)
                return _KubectlOutput("", base, dest, root, message, refused)
            return _KubectlOutput(stdout, base, dest, root, None, refused)

    def _kustomize(self, base: str) -> tuple[str, str | None]:
        """kustomize's output for a folder, or ("", what it printed on stderr)."""
        server = self._running_server()
        if server is not None:
            try:
                return server.build(base, _TIMEOUT)
            except ServerGone:
                with self._server_lock:  # it crashed: kubectl builds the rest
                    self.batch = None
        if self.kubectl is None:
            return "", "building it needs kustomize (`kubectl kustomize`), not on PATH"
        try:
            run = subprocess.run(
                [self.kubectl, "kustomize", "--load-restrictor", "LoadRestrictionsNone", base],
                capture_output=True, text=True, timeout=_TIMEOUT, check=False,
                env=sandbox.offline_env())
        except (OSError, subprocess.TimeoutExpired) as err:
            return "", str(err)
        return (run.stdout, None) if run.returncode == 0 else ("", run.stderr)

    def render_resource_set(self, obj: dict[str, Any], providers: list[dict[str, Any]]
                            ) -> tuple[str, str | None] | None:
        """The objects a flux-operator ResourceSet makes from its inline inputs and those
        of its input providers, as YAML, or ("", why it does not render); None when no
        kustomize-batch can render it (none built, or one built before it rendered them)."""
        server = self._running_server()
        if server is None:
            return None
        try:
            text, error = server.render_resource_set(obj, providers, _TIMEOUT)
        except ServerGone:
            with self._server_lock:
                self.batch = None
            return None
        if error is not None and error.startswith("error: bad request"):
            return None
        return text, error

    def _running_server(self) -> KustomizeServer | None:
        with self._server_lock:
            if self.batch is None:
                return None  # never built, closed, or gone (kept in _server for close())
            if self._server is None:
                try:
                    self._server = KustomizeServer(self.batch)
                except ServerGone:
                    self.batch = None
            return self._server


@dataclass(frozen=True)
class _KubectlOutput:
    stdout: str
    base: str  # the folder kustomize built (origins are relative to it)
    mirror_dest: str  # where the repository was mirrored, and the repository
    mirror_root: str
    error: str | None
    # Files kustomize was not shown (what they hold cannot be read): each is a finding.
    refused: dict[str, sandbox.Refusal] = field(default_factory=dict)


# A planned build: running on the pool, done, or held until Builder.start().
_Pending = Future[_KubectlOutput] | _KubectlOutput | functools.partial[_KubectlOutput]

KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_TIMEOUT = 120  # seconds for one build


def _flux_kustomization(base: str, resources: list[str], components: list[str],
                        spec: dict[str, Any]) -> dict[str, Any]:
    """The kustomization kustomize-controller builds at a Flux path: the path's own (as
    mirrored) or a generated one listing `resources`, with the Flux Kustomization's
    targetNamespace, namePrefix/nameSuffix, patches, images and components added."""
    found: dict[str, Any] | None = None
    for name in KUSTOMIZATION_NAMES:
        path = os.path.join(base, name)
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as handle:
                loaded = yamlio.load(handle.read())  # written by the mirror: trusted
            found = loaded if isinstance(loaded, dict) else {}
            break
    if found is None:
        found = {"apiVersion": f"{KUSTOMIZE_API}/v1beta1", "kind": "Kustomization",
                 "resources": [os.path.relpath(r, base) for r in resources]}
    out = dict(found)
    if spec.get("targetNamespace"):
        out["namespace"] = spec["targetNamespace"]
    for key in ("namePrefix", "nameSuffix"):
        if spec.get(key):
            out[key] = spec[key]
    for key in ("patches", "images"):
        if isinstance(spec.get(key), list) and spec[key]:
            out[key] = list(out.get(key) or []) + list(spec[key])
    if components:
        out["components"] = list(out.get("components") or []) + [
            os.path.relpath(c, base) for c in components]
    out["buildMetadata"] = sorted(set(out.get("buildMetadata") or []) | {"originAnnotations"})
    return out


def _pop_origin(obj: dict[str, Any], tmp: str, default: str) -> str:
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("annotations"), dict):
        return default
    raw = meta["annotations"].pop(ORIGIN, None)
    if not meta["annotations"]:
        del meta["annotations"]
    if not isinstance(raw, str):
        return default
    try:
        origin = yaml.load(raw, Loader=yamlio.Loader)  # libyaml: one per object built
    except yaml.YAMLError:
        return default
    rel = (origin or {}).get("path") or (origin or {}).get("configuredIn")
    if not isinstance(rel, str) or (origin or {}).get("repo"):
        return default
    return os.path.normpath(os.path.join(tmp, rel))


def _kustomize_error(stderr: str, tmp: str) -> str:
    text = stderr.strip()
    if 'err=<' in text:  # klog, multi-line: the lines between `err=<` and ` >`
        body = text.split("err=<", 1)[1].rsplit(">", 1)[0]
        message = " ".join(line.strip() for line in body.splitlines() if line.strip())
    elif 'err="' in text:  # klog, one line
        message = text.split('err="', 1)[1].rsplit('"', 1)[0]
    else:
        lines = [line for line in text.splitlines() if line.strip()]
        message = lines[-1] if lines else "kustomize failed"
    return message.replace(tmp + "/", "").replace(tmp, ".")


def has_vars(value: Any) -> bool:
    """A `${` in any string of the document: postBuild substitution may change it."""
    if isinstance(value, str):
        return "${" in value
    if isinstance(value, dict):
        return any(has_vars(v) for v in value.values())
    if isinstance(value, list):
        return any(has_vars(v) for v in value)
    return False


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _build_key(folder: str, resources: list[str], overlay: Overlay | None) -> str:
    """What a build takes (the Flux Kustomization's _OVERLAY_KEYS; postBuild and the rest
    act on its output)."""
    spec = None if overlay is None else {f: overlay.spec.get(f) for f in _OVERLAY_KEYS}
    return json.dumps([folder, resources, spec], sort_keys=True, default=str)


def read_output(text: str) -> list[Any]:
    """The documents of a kustomize build's output, by yaml-rs where it reads them as
    ManifestLoader does (a build's output is often most of what a large repository parses)."""
    quick = quick_yaml.read(text)
    return quick if quick is not None else list(yaml.load_all(text, Loader=ManifestLoader))
