"""The repository's files as Flux sees them: one walk, and a boundary no read crosses.

Every path outfitter follows (a kustomization's `resources`, `../` entries, generator
files, symlinks) is checked against the boundary before anything is read: lexically
(`..` cannot climb out), and through any symlink on the way (its target must stay inside).
Only symlinks cost a `realpath`; plain paths are answered from the cached listings.
"""

from __future__ import annotations

import fnmatch
import functools
import os
from collections.abc import Callable, Collection, Iterator
from typing import Any

from outfitter.validate.fstree import FsTree, child, is_yaml, split


class Boundary:
    """The folder no read leaves (the repository, or the folder validated)."""

    def __init__(self, root: str, fs: FsTree) -> None:
        self.root = os.path.realpath(root)
        self.fs = fs
        self._prefix = self.root.rstrip(os.sep) + os.sep
        self._folders: dict[str, bool] = {}

    def contains(self, path: str) -> bool:
        """`path` (absolute, normalised) and every symlink on its way stay inside."""
        if path != self.root and not path.startswith(self._prefix):
            return False
        if not self._links_on_way(path):
            return True
        real = os.path.realpath(path)
        return real == self.root or real.startswith(self._prefix)

    def _links_on_way(self, path: str) -> bool:
        """A symlink at `path` or at a folder on its way from the root (answered from the
        listings, each folder's answer kept)."""
        if path == self.root:
            return False
        parent, name = split(path)
        if self._linked(parent):
            return True
        listing = self.fs.listing(parent)
        return listing is None or name in listing.links

    def _linked(self, folder: str) -> bool:
        found = self._folders.get(folder)
        if found is None:
            found = self._links_on_way(folder)
            self._folders[folder] = found
        return found

    def rel(self, path: str) -> str:
        if path == self.root:
            return "."
        if path.startswith(self._prefix):
            return path[len(self._prefix):].replace(os.sep, "/")
        return path.replace(os.sep, "/")


# What source-controller leaves out of every artifact it builds from Git (fluxcd/pkg
# sourceignore's defaults, the YAML ones): Flux never reads them, wherever they are. The
# `.github/` and `.circleci/` folders are hidden folders, never entered by the walk.
SOURCE_IGNORED = frozenset({
    ".travis.yml", ".gitlab-ci.yml", "appveyor.yml", ".drone.yml", "cloudbuild.yaml",
    "codeship-services.yml", "codeship-steps.yml", ".goreleaser.yml", ".sops.yaml",
    ".flux.yaml"})


def source_ignored(name: str) -> bool:
    """A file name Flux's source never contains (SOURCE_IGNORED)."""
    return name in SOURCE_IGNORED


class SourceIgnore:
    """What the repository's `.sourceignore` files leave out of Flux's source (gitignore
    syntax; each file's patterns apply below its folder, a deeper file's last word wins),
    as source-controller reads them. A FsTree `hide`: entries below `root` only."""

    def __init__(self, root: str, extra: str | tuple[str, ...] | None = None) -> None:
        """extra: the patterns of the source's own `spec.ignore` (a GitRepository's), read
        from `root` after every .sourceignore, so that they have the last word. Several
        (the clusters of one repository, each syncing a GitRepository of its own): a file
        is left out when every one leaves it out (no cluster's artifact holds it)."""
        self.root = os.path.realpath(root)
        self._prefix = self.root.rstrip(os.sep) + os.sep
        self._specs: dict[str, list[tuple[str, Any]]] = {}
        self.used = False  # a .sourceignore was found, or extra given
        self._extras: list[list[tuple[str, Any]]] = []
        if extra is not None:
            import pathspec

            self.used = True
            self._extras = [[(self.root, pathspec.GitIgnoreSpec.from_lines(text.splitlines()))]
                            for text in ((extra,) if isinstance(extra, str) else extra)]

    def __call__(self, folder: str, names: Collection[str]
                 ) -> Callable[[str, bool], bool] | None:
        """FsTree's Hide: the test of the folder's entries, None where no spec applies
        (most folders: no .sourceignore above them)."""
        if folder != self.root and not folder.startswith(self._prefix):
            return None
        specs = self._specs_of(folder, ".sourceignore" in names)
        if len(self._extras) > 1:
            return functools.partial(self._left_out_by_all, folder,
                                     [specs + extra for extra in self._extras])
        specs = specs + (self._extras[0] if self._extras else [])
        return functools.partial(self._left_out, folder, specs) if specs else None

    @classmethod
    def _left_out_by_all(cls, folder: str, alternatives: list[list[tuple[str, Any]]],
                         name: str, is_dir: bool) -> bool:
        return all(cls._left_out(folder, specs, name, is_dir) for specs in alternatives)

    @staticmethod
    def _left_out(folder: str, specs: list[tuple[str, Any]], name: str, is_dir: bool) -> bool:
        path = os.path.join(folder, name)
        left_out = False
        for where, spec in specs:
            rel = os.path.relpath(path, where).replace(os.sep, "/") + ("/" if is_dir else "")
            verdict = spec.check_file(rel).include
            if verdict is not None:
                left_out = verdict
        if left_out and is_dir:
            # source-controller walks into a folder its patterns leave out and judges each
            # file: `/*` then `!/k8s/global` keeps k8s/global/… So a folder left out is
            # still entered when a `!` pattern may take back something below it.
            return not any(_may_take_back(spec, os.path.relpath(path, where))
                           for where, spec in specs)
        return left_out

    def _specs_of(self, folder: str, has_own: bool | None = None) -> list[tuple[str, Any]]:
        """The specs in force in `folder`: its ancestors' up to the root, then its own
        (`has_own`: whether it holds a .sourceignore, when its listing says)."""
        found = self._specs.get(folder)
        if found is None:
            found = [] if folder == self.root else self._specs_of(os.path.dirname(folder))
            own = os.path.join(folder, ".sourceignore")
            if has_own is not False and os.path.isfile(own):
                import pathspec  # only for a repository that has one

                self.used = True

                with open(own, encoding="utf-8", errors="replace") as handle:
                    found = [*found, (folder, pathspec.GitIgnoreSpec.from_lines(
                        handle.read().splitlines()))]
            self._specs[folder] = found
        return found


def _may_take_back(spec: Any, folder: str) -> bool:
    """Whether a `!` pattern of `spec` may match a path below `folder` (relative to the
    spec's own folder): an unanchored one anywhere; an anchored one when its leading parts
    match the folder's and it goes deeper."""
    parts = folder.replace(os.sep, "/").split("/")
    for pattern in spec.patterns:
        if getattr(pattern, "include", None) is not False:
            continue
        body = str(getattr(pattern, "pattern", "")).removeprefix("!").rstrip("/")
        if "/" not in body:
            return True  # a name matched at any depth
        if _below(body.lstrip("/").split("/"), parts):
            return True
    return False


def _below(wanted: list[str], parts: list[str]) -> bool:
    """Whether an anchored pattern's parts may name a path below the folder's parts (an
    ancestor named instead is no take-back: the later pattern that left the folder out
    has the last word)."""
    for i, part in enumerate(parts):
        if i >= len(wanted):
            return False
        if wanted[i] == "**":
            return True
        if not fnmatch.fnmatchcase(part, wanted[i]):
            return False
    return len(wanted) > len(parts)


def yaml_files(fs: FsTree, top: str) -> Iterator[str]:
    """Every YAML file below `top` (and `Kustomization` files), the walk's order; files
    Flux's source leaves out are not listed."""
    for folder, names in fs.walk(top):
        for name in names:
            if (is_yaml(name) or name == "Kustomization") and not source_ignored(name):
                yield child(folder, name)


def find_git_root(start: str) -> str | None:
    """The nearest folder at or above `start` holding `.git` (a working tree), if any."""
    here = start
    while True:
        if os.path.exists(os.path.join(here, ".git")):
            return here
        up = os.path.dirname(here)
        if up == here:
            return None
        here = up


def git_remotes(root: str) -> list[str]:
    """The URLs of the remotes of the Git checkout at `root` (its `.git/config`): the
    repository an Argo CD Application names by URL may be this one. Read only from a
    plain `.git` folder, bounded; nothing when there is none."""
    config = os.path.join(root, ".git", "config")
    try:
        with open(config, "rb") as handle:
            text = handle.read(65536).decode("utf-8", "replace")
    except OSError:
        return []
    urls: list[str] = []
    in_remote = False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            in_remote = stripped.startswith("[remote ")
        elif in_remote and "=" in stripped:
            key, _, value = stripped.partition("=")
            if key.strip().lower() == "url" and value.strip():
                urls.append(value.strip().strip('"'))
    return urls
