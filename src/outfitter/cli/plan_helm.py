"""`outfitter plan --helm`: the budget read from the charts' templated output."""

from __future__ import annotations

from pathlib import Path

from outfitter.cli.app import UsageProblem, err_console
from outfitter.helm.planned import apply_templated_budget, template_tree, tree_objects
from outfitter.helm.template import HelmMissing
from outfitter.helm.validation import Settings
from outfitter.plan import Plan
from outfitter.render.flux import render_tree


def templated_budget(plan: Plan, charts: Path | None, helm_bin: str | None,
                     offline: bool) -> None:
    if charts is not None and not charts.is_dir():
        raise UsageProblem([f"--charts {charts}: not a directory"])
    try:
        outcomes = template_tree(tree_objects(render_tree(plan)),
                                 Settings(helm_bin, charts, offline))
    except HelmMissing as err:
        raise UsageProblem([str(err)]) from None
    for problem in apply_templated_budget(plan, outcomes):
        err_console().print(f"[yellow]budget from values[/]: {problem}", soft_wrap=True)
