"""The command line. `main(argv) -> exit status` runs it in-process (tests call it).

Exit statuses (outfitter.errors.ExitStatus): 0 done, 1 findings (a check that found
problems, or files skipped), 2 input errors (an unusable profile, kubeconfig or server, a
conflict with the user's files, a usage error — and then nothing is written), 130
interrupted. Every problem is one line; no traceback.
"""

from __future__ import annotations

import gc
import sys

import typer
from typer.exceptions import TyperException

from outfitter.cli.app import app, err_console
from outfitter.errors import ExitStatus, InputError


def _problem(line: str) -> None:
    from rich.markup import escape

    err_console().print(f"[red]error[/]: {escape(line)}", soft_wrap=True)


def main(argv: list[str] | None = None) -> int:
    try:
        # Outside standalone mode click returns a command's `typer.Exit(code)` as the result.
        result = app(args=argv, standalone_mode=False)
        if isinstance(result, int) and not isinstance(result, bool):
            return result
    except InputError as err:
        for problem in err.problems:
            _problem(problem)
        return ExitStatus.INPUT_ERROR
    except ValueError as err:  # yamlio's YamlInputError, imported only when one is raised
        from outfitter.yamlio import YamlInputError

        if not isinstance(err, YamlInputError):
            raise
        _problem(err.one_line())
        return ExitStatus.INPUT_ERROR
    except typer.Exit as exit_:
        return int(exit_.exit_code)
    except TyperException as err:
        show = getattr(err, "show", None)
        if callable(show):
            show()
        else:
            _problem(err.format_message())
        return ExitStatus.INPUT_ERROR
    except (typer.Abort, KeyboardInterrupt):
        err_console().print("interrupted")
        return ExitStatus.INTERRUPTED
    except OSError as err:  # a write the system refused (disk full, permissions, …)
        where = f"{err.filename}: " if err.filename else ""
        _problem(f"{where}{(err.strerror or str(err)).lower()}")
        return ExitStatus.INPUT_ERROR
    return ExitStatus.DONE


def run() -> None:
    status = main()
    # What the run built is freed by the operating system at exit; the collection Python
    # makes at shutdown would walk all of it first (0.3 s after validating a large tree).
    gc.freeze()
    sys.exit(status)
