"""The problems of the two sides as printed: one a side has alone under its name, one both
sides have once (an offline diff lists every chart missing from the cache on both)."""

from __future__ import annotations

import io

from rich.console import Console

from outfitter.diff.output import as_markdown, folded, print_diff
from outfitter.diff.sides import Side

MISSING = "apps/web.yaml: HelmRelease apps/web: chart web 1.0.0 is not in the chart cache"
BROKEN = "apps/new.yaml: not valid YAML (line 3)"


def test_a_problem_of_both_sides_is_listed_once() -> None:
    problems = {"base": [MISSING], "head": [MISSING, BROKEN]}
    assert folded(problems) == [("base and head", MISSING), ("head", BROKEN)]
    assert folded({"head": [BROKEN]}) == [("head", BROKEN)]
    assert folded({}) == []


def test_text_and_markdown_print_the_folded_lines() -> None:
    problems = {"base": [MISSING], "head": [MISSING, BROKEN]}
    base, head = Side("main (abc)", "abc"), Side("working tree", None)
    buffer = io.StringIO()
    print_diff([], base, head, problems, Console(file=buffer, width=400, color_system=None))
    assert buffer.getvalue().splitlines()[1:] == [
        f"base and head: {MISSING}", f"head: {BROKEN}", "no change to any object"]
    assert as_markdown([], base, head, problems).splitlines()[2:4] == [
        f"> **base and head**: {MISSING}", f"> **head**: {BROKEN}"]
