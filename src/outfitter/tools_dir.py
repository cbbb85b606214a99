"""Where tools/build.sh builds the Go tools: $OUTFITTER_TOOLS_DIR, else $XDG_CACHE_HOME (or
~/.cache)/outfitter/tools — the same rule as the script. A module of its own so that
validate finds kustomize-batch without importing the test control plane's libraries."""

from __future__ import annotations

import os
from pathlib import Path


def tools_base_dir() -> Path:
    override = os.environ.get("OUTFITTER_TOOLS_DIR")
    if override:
        return Path(override).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser() / "outfitter" / "tools"


def tools_bin_dir() -> Path:
    """The folder holding the built binaries (what ``tools/build.sh --print`` prints)."""
    return tools_base_dir() / "bin"
