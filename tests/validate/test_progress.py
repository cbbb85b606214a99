"""The progress line on stderr: only on a terminal, only after the first seconds."""

from __future__ import annotations

import io

from rich.console import Console

from outfitter.cli.validate import Progress


def test_no_console_no_progress() -> None:
    with Progress(None) as progress:
        progress.update("validating: 0/10 steps")
        assert progress.status is None


def test_a_short_run_shows_nothing_and_a_long_one_a_status() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True)
    with Progress(console) as progress:
        progress.update("validating: 0/10 steps")
        assert progress.status is None  # under two seconds: nothing
        progress.began -= Progress.DELAY
        progress.update("validating: 50/100 steps, 300 objects")
        assert progress.status is not None
    assert "validating: 50/100 steps" in out.getvalue()
