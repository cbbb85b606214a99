"""What changed in a repository after an edit, for the round-trip tests."""

from __future__ import annotations

import difflib
import hashlib
from pathlib import Path


def snapshot(root: Path) -> dict[str, str]:
    """Every file's hash, by path relative to root."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def line_changes(old: str, new: str) -> tuple[list[str], list[str]]:
    """(removed lines, added lines) between two texts."""
    diff = list(difflib.ndiff(old.splitlines(), new.splitlines()))
    return ([d[2:] for d in diff if d.startswith("- ")],
            [d[2:] for d in diff if d.startswith("+ ")])
