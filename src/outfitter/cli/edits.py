"""What the commands that edit a user's repository share: the preview, the opt-in write."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from outfitter.cli.app import UsageProblem
from outfitter.ops.yaml_edit import NotEditable, YamlFile


def preview_or_write(
    files: Mapping[Any, YamlFile], root: Path | None, write: bool,
    writer: Callable[[], list[Path]],
) -> tuple[list[str], list[Path]]:
    """(unified diffs of the files that change, the files written — only with write)."""
    diffs = [yf.diff(root) for _, yf in sorted(files.items()) if yf.changed]
    if not write:
        return diffs, []
    try:
        return diffs, writer()
    except NotEditable as err:
        raise UsageProblem([str(err)]) from None
