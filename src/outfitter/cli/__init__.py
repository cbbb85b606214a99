"""The command line. `main(argv) -> exit status` runs it in-process (tests call it).

Exit codes: 0 done, 1 findings (a check that found problems), 2 bad input (an unusable
profile, a conflict with the user's files, a usage error) — and then nothing is written.
"""

from __future__ import annotations

import sys

import typer
from typer.exceptions import TyperException

from outfitter.cli.app import app, err_console
from outfitter.errors import InputError

# Each module registers its commands on `app`.
from outfitter.cli import core  # noqa: F401  isort: skip
from outfitter.cli import validate  # noqa: F401  isort: skip
from outfitter.cli import status  # noqa: F401  isort: skip
from outfitter.cli import certs, logs, reloader  # noqa: F401  isort: skip
from outfitter.cli import drill, policy  # noqa: F401  isort: skip
from outfitter.cli import diff  # noqa: F401  isort: skip


def main(argv: list[str] | None = None) -> int:
    try:
        # Outside standalone mode click returns a command's `typer.Exit(code)` as the result.
        result = app(args=argv, standalone_mode=False)
        if isinstance(result, int) and not isinstance(result, bool):
            return result
    except InputError as err:
        console = err_console()
        for problem in err.problems:
            console.print(f"[red]error[/]: {problem}", soft_wrap=True)
        return 2
    except typer.Exit as exit_:
        return int(exit_.exit_code)
    except TyperException as err:
        show = getattr(err, "show", None)
        if callable(show):
            show()
        else:
            err_console().print(f"[red]error[/]: {err.format_message()}")
        return 2
    except typer.Abort:
        return 130
    return 0


def run() -> None:
    sys.exit(main())
