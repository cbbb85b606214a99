"""The repository's directories, each listed once: the walk, `is_file`/`is_dir` and the
kustomization file of a folder are answered from the listings instead of a `stat` (and a
pathlib object) per question. Paths are plain absolute, normalised strings.

The answers are those of os.path.isfile/isdir (symlinks followed); a folder that cannot be
listed (but may still be entered) is asked of the disk directly.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def is_yaml(name: str) -> bool:
    """`.yaml`/`.yml` as pathlib's suffix sees it (a bare `.yaml` has no suffix)."""
    return name.endswith((".yaml", ".yml")) and name not in (".yaml", ".yml")


def split(path: str) -> tuple[str, str]:
    """os.path.split for the absolute, normalised paths used here, without its generality
    (it is asked tens of thousands of times on a large tree)."""
    head, _, name = path.rpartition(os.sep)
    return head or (os.sep if path.startswith(os.sep) else ""), name


def child(folder: str, name: str) -> str:
    """os.path.join(folder, name) for a folder from a listing and a name in it."""
    return folder + name if folder.endswith(os.sep) else folder + os.sep + name


def join(folder: str, name: str) -> str:
    """folder/name normalised without touching the disk (`..` taken lexically)."""
    return os.path.normpath(os.path.join(folder, name))


@dataclass(frozen=True, slots=True)
class Listing:
    files: frozenset[str]  # names that are files (symlinks followed)
    dirs: frozenset[str]  # names that are directories (symlinks followed)
    others: tuple[str, ...]  # sorted names os.walk counts as files (all but `dirs`)
    subdirs: tuple[str, ...]  # sorted directories os.walk would enter (no symlinks)
    links: frozenset[str] = frozenset()  # names that are symlinks (files or folders)


_EMPTY = Listing(frozenset(), frozenset(), (), ())

# (folder, the names in it) -> None when none of its entries is left out, else the test of
# one entry (its name, whether it is a directory): what Flux's source does not hold
# (repo.fs.SourceIgnore). Asked once per folder: most folders hide nothing.
Hide = Callable[[str, Collection[str]], Callable[[str, bool], bool] | None]


class FsTree:
    def __init__(self, hide: Hide | None = None) -> None:
        self._listings: dict[str, Listing | None] = {}
        self._kfiles: dict[str, str | None] = {}
        self.hide = hide

    def hide_with(self, hide: Hide) -> None:
        """Leave out what `hide` says, from the first listing on."""
        assert not self._listings, "set before anything is listed"
        self.hide = hide

    def listed(self) -> Iterator[tuple[str, Listing]]:
        """The folders listed so far (by the walk), with their entries."""
        for folder, found in self._listings.items():
            if found is not None:
                yield folder, found

    def listing(self, folder: str) -> Listing | None:
        """The folder's entries; empty if it does not exist, None if it cannot be listed."""
        try:
            return self._listings[folder]
        except KeyError:
            pass
        found: Listing | None
        try:
            with os.scandir(folder) as scan:
                entries = list(scan)
            files, dirs, others, subdirs, links = set(), set(), [], [], set()
            hidden = self.hide(folder, [entry.name for entry in entries]) \
                if self.hide is not None else None
            for entry in entries:
                if hidden is not None and hidden(entry.name, entry.is_dir()):
                    continue
                if entry.is_symlink():
                    links.add(entry.name)
                if entry.is_dir():
                    dirs.add(entry.name)
                    if not entry.is_symlink():
                        subdirs.append(entry.name)
                    continue
                others.append(entry.name)
                if entry.is_file():
                    files.add(entry.name)
            found = Listing(frozenset(files), frozenset(dirs), tuple(sorted(others)),
                            tuple(sorted(subdirs)), frozenset(links))
        except (FileNotFoundError, NotADirectoryError):
            found = _EMPTY
        except (OSError, ValueError):
            found = None
        self._listings[folder] = found
        return found

    def is_file(self, path: str) -> bool:
        parent, name = split(path)
        listing = self.listing(parent) if name else None
        if listing is None:
            return os.path.isfile(path)
        return name in listing.files

    def is_dir(self, path: str) -> bool:
        parent, name = split(path)
        listing = self.listing(parent) if name else None
        if listing is None:
            return os.path.isdir(path)
        return name in listing.dirs

    def kustomization_file(self, folder: str) -> str | None:
        try:
            return self._kfiles[folder]
        except KeyError:
            pass
        found = None
        listing = self.listing(folder)
        for name in KUSTOMIZATION_FILES:
            path = os.path.join(folder, name)
            if name in listing.files if listing is not None else os.path.isfile(path):
                found = path
                break
        self._kfiles[folder] = found
        return found

    def walk(self, top: str) -> list[tuple[str, tuple[str, ...]]]:
        """(folder, its non-directory names) top-down, in sorted order, hidden folders and
        symlinked folders not entered — os.walk's order with sorted, non-hidden dirs."""
        out: list[tuple[str, tuple[str, ...]]] = []
        stack = [top]
        while stack:
            folder = stack.pop()
            listing = self.listing(folder)
            if listing is None:  # os.walk skips what it cannot list
                continue
            out.append((folder, listing.others))
            stack += [child(folder, d) for d in reversed(listing.subdirs)
                      if not d.startswith(".")]
        return out
