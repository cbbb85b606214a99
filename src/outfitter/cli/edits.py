"""What the commands that edit a user's repository share: the preview, the opt-in write."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from outfitter.cli.app import UsageProblem, err_console, out_console
from outfitter.errors import ExitStatus
from outfitter.files import outside_root
from outfitter.ops.yaml_edit import NotEditable, YamlFile


def preview_or_write(
    files: Mapping[Any, YamlFile], root: Path | None, write: bool,
    writer: Callable[[], list[Path]],
) -> tuple[list[str], list[Path]]:
    """(unified diffs of the files that change, the files written — only with write)."""
    diffs = [yf.diff(root) for _, yf in sorted(files.items()) if yf.changed]
    if not write:
        return diffs, []
    if root is not None:  # every file is checked before the first one is written
        outside = [why for _, yf in sorted(files.items()) if yf.changed
                   if (why := outside_root(yf.path, root))]
        if outside:
            raise UsageProblem([*outside, "nothing written"])
    try:
        return diffs, writer()
    except NotEditable as err:
        raise UsageProblem([str(err)]) from None


def print_json(data: dict[str, Any], diffs: list[str], written: list[Path]) -> None:
    """The command's own JSON, with the diff and what was written."""
    data["diff"] = "".join(diffs)
    data["written"] = [str(p) for p in written]
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


def print_diffs(diffs: list[str], written: list[Path], write: bool) -> None:
    """The diffs on stdout, then one line on stderr: what was written, or how to write it."""
    console = out_console()
    if diffs:
        console.print()
        for diff in diffs:
            console.print(diff, end="", markup=False, highlight=False)
    status = err_console()
    if write:
        status.print(f"wrote {len(written)} file(s)")
    elif diffs:
        status.print(f"preview only: {len(diffs)} file(s) would change; --write applies it")


def exit_status(write: bool, not_edited: list[str]) -> ExitStatus:
    """With --write, an edit that was needed but could not be made safely (CRLF line ends,
    a BOM, a layout ruamel would rewrite) is exit status 1 so that CI sees it; each one is
    listed above as `skipped`."""
    if write and not_edited:
        err_console().print(f"[yellow]{len(not_edited)} not edited[/]: not everything was "
                            f"written (exit status 1)")
        return ExitStatus.FINDINGS
    return ExitStatus.DONE
