"""The files of a repository Flux (or an Argo CD Application it applies) applies, for the
commands that edit a repository: they act only on those, and say which they left alone
(repo.model decides what is applied)."""

from __future__ import annotations

import os
from pathlib import Path

from outfitter.errors import InputError
from outfitter.files import outside_root
from outfitter.repo import model as repo_model


def applied_only(root: Path, paths: list[Path]) -> tuple[list[Path], str | None]:
    """See `applied_files` (without the model)."""
    keep, note, _repo = applied_files(root, paths)
    return keep, note


def applied_files(root: Path, paths: list[Path]
                  ) -> tuple[list[Path], str | None, repo_model.Repository]:
    """(the paths some Flux Kustomization applies, a note naming the others or None, the
    repository model that decided).
    A tree with no Flux entry point is applied as it stands: every path is kept. A symlink
    leading outside the root is refused (exit 2) before anything is read or written: the
    repository model never reads there, and an edit must not land there either."""
    base = root if root.is_dir() else root.parent
    escaping = [why for p in paths if (why := outside_root(p, base))]
    if escaping:
        raise InputError(escaping)
    repo = repo_model.load(root)
    keep = [p for p in paths if repo.read(os.path.realpath(p))]
    left = [p for p in paths if repo.left_out(os.path.realpath(p))]
    if not left:
        return keep, None, repo
    names = sorted(p.relative_to(base).as_posix() if p.is_relative_to(base) else str(p)
                   for p in left)
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    never = {"Flux Kustomization": "Flux never reads them",
             "Argo CD Application": "Argo CD never reads them"}.get(
        repo.appliers, "neither Flux nor Argo CD reads them")
    return keep, (f"{len(left)} file(s) no {repo.appliers} applies were left alone "
                  f"(not-applied: {never}): {shown}"), repo


def read_only(repo: repo_model.Repository, path: Path) -> bool:
    """A build reads the file but applies none of its documents as objects: a kustomize
    patch, a generator's input. Its documents are partial (a patch names only what it
    changes), so a command must not judge or edit them as objects of their own."""
    real = os.path.realpath(path)
    return repo.read(real) and not repo.applied(real)
