"""The one error type the command line turns into exit code 2: input outfitter cannot use.
`problems` holds one line per problem, printed as they are."""

from __future__ import annotations


class InputError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems
