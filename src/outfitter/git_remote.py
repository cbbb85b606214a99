"""The `origin` remote of the Git checkout a folder is in, read from `.git/config` (no git
binary needed): the repository's own address, for Renovate's `local>` presets and the
profile's gitops.repoURL."""

from __future__ import annotations

import re
from pathlib import Path

from outfitter import yamlio

_ORIGIN = re.compile(r'^\s*\[remote\s+"origin"\]\s*$')
_URL = re.compile(r"^\s*url\s*=\s*(\S+)\s*$")


def origin_url(folder: Path) -> str | None:
    """The url of `origin` in the nearest checkout holding `folder`, or None (no checkout,
    no origin, or a `.git` file of a worktree, whose config lives elsewhere)."""
    for here in (folder.resolve(), *folder.resolve().parents):
        if not (here / ".git").exists():
            continue
        config = here / ".git" / "config"
        try:
            lines = yamlio.read_text(config).splitlines() if config.is_file() else []
        except yamlio.YamlInputError:
            return None
        inside = False
        for line in lines:
            if line.lstrip().startswith("["):
                inside = bool(_ORIGIN.match(line))
            elif inside and (m := _URL.match(line)):
                return m.group(1)
        return None
    return None
