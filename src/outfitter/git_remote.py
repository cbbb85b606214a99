"""The `origin` remote of the Git checkout a folder is in, read from Git's config (no git
binary needed): the repository's own address, for Renovate's `local>` presets and the
profile's gitops.repoURL."""

from __future__ import annotations

import re
from pathlib import Path

from outfitter import yamlio

_ORIGIN = re.compile(r'^\s*\[remote\s+"origin"\]\s*$')
_URL = re.compile(r"^\s*url\s*=\s*(\S+)\s*$")
_HTTP_USERINFO = re.compile(r"^(https?://)[^/@]+@", re.IGNORECASE)


def origin_url(folder: Path) -> str | None:
    """The url of `origin` in the nearest checkout holding `folder`, or None. A token in
    an https address (`https://user:token@host/...`) is left out: the address goes into
    files the user commits."""
    for here in (folder.resolve(), *folder.resolve().parents):
        dot_git = here / ".git"
        if dot_git.exists():
            config = _config_file(dot_git)
            try:
                lines = yamlio.read_text(config).splitlines() if config.is_file() else []
            except yamlio.YamlInputError:
                return None
            inside = False
            for line in lines:
                if line.lstrip().startswith("["):
                    inside = bool(_ORIGIN.match(line))
                elif inside and (m := _URL.match(line)):
                    return _HTTP_USERINFO.sub(r"\1", m.group(1))
            return None
    return None


def _config_file(dot_git: Path) -> Path:
    """A checkout's config; a worktree's `.git` is a file naming its folder in the main
    repository, whose `commondir` leads to the shared config."""
    if not dot_git.is_file():
        return dot_git / "config"
    try:
        first = yamlio.read_text(dot_git).partition("\n")[0]
    except yamlio.YamlInputError:
        return dot_git / "config"
    gitdir = Path(first.removeprefix("gitdir:").strip())
    gitdir = gitdir if gitdir.is_absolute() else dot_git.parent / gitdir
    try:
        common = (gitdir / "commondir").read_text().strip()
    except OSError:
        return gitdir / "config"
    return gitdir / common / "config"  # an absolute commondir replaces gitdir
