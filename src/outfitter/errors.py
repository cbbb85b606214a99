"""The exit statuses every command uses, and the one error type the command line turns into
exit status 2: input outfitter cannot use. `problems` holds one line per problem, printed as
they are."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    DONE = 0
    """Done: everything checked passed, everything asked for was written."""
    FINDINGS = 1
    """Findings: a check failed, or something asked for was skipped (a file left alone)."""
    INPUT_ERROR = 2
    """Input outfitter cannot use (a file, an option, a kubeconfig, a server that is not a
    Kubernetes API server); nothing was written."""
    INTERRUPTED = 130
    """Interrupted (Ctrl-C), as shells report SIGINT."""


class InputError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems
