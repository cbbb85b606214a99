"""The files of a repository Flux applies, for the commands that edit a repository: they
act only on those, and say which they left alone (repo.model decides what Flux applies)."""

from __future__ import annotations

import os
from pathlib import Path

from outfitter.repo import model as repo_model


def applied_only(root: Path, paths: list[Path]) -> tuple[list[Path], str | None]:
    """(the paths some Flux Kustomization applies, a note naming the others or None).
    A tree with no Flux entry point is applied as it stands: every path is kept."""
    repo = repo_model.load(root)
    keep = [p for p in paths if repo.read(os.path.realpath(p))]
    left = [p for p in paths if repo.left_out(os.path.realpath(p))]
    if not left:
        return keep, None
    base = root if root.is_dir() else root.parent
    names = sorted(p.relative_to(base).as_posix() if p.is_relative_to(base) else str(p)
                   for p in left)
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return keep, (f"{len(left)} file(s) no Flux Kustomization applies were left alone "
                  f"(not-applied: Flux never reads them): {shown}")
