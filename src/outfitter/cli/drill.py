"""`outfitter drill backup`: the Velero restore drill (logic in outfitter.ops.drill)."""

from __future__ import annotations

import json
import math
import sys
from typing import Annotated

import typer
from rich.table import Table

from outfitter.cli.app import (
    ContextOpt,
    JsonOpt,
    KubeconfigOpt,
    RequestTimeoutOpt,
    UsageProblem,
    app,
    err_console,
    out_console,
)
from outfitter.cli.cluster import cluster_session
from outfitter.cluster.namespaces import dns_label_problem
from outfitter.errors import ExitStatus
from outfitter.ops import drill as ops

drill_app = typer.Typer(help="Day-2 drills the roadmap asks for.", no_args_is_help=True)
app.add_typer(drill_app, name="drill")


def _check_options(namespaces: dict[str, str | None], seconds: dict[str, float]) -> None:
    """Every option checked before connecting: one line per problem, exit 2."""
    problems = []
    for option, name in namespaces.items():
        if name is None:
            continue
        why = dns_label_problem(name)
        if why:
            problems.append(f"{option}: {why}")
    for option, value in seconds.items():
        if not math.isfinite(value) or value <= 0:
            problems.append(f"{option} {value:g}: must be a positive number of seconds")
    if problems:
        raise UsageProblem(problems)


@drill_app.command("backup")
def backup(
    namespace: Annotated[str, typer.Option("--namespace", "-n", help="namespace to drill")],
    yes: Annotated[bool, typer.Option("--yes", help="run the drill (default: preview)")] = False,
    from_schedule: Annotated[bool, typer.Option(
        "--from-schedule", help="restore the newest completed scheduled backup instead of "
        "taking one")] = False,
    drill_namespace: Annotated[str | None, typer.Option(
        "--drill-namespace", help="where to restore (default: NS-drill; must not exist)")] = None,
    keep: Annotated[bool, typer.Option(
        "--keep", help="keep the drill namespace and the Restore to look at")] = False,
    timeout: Annotated[float, typer.Option(
        help="seconds to wait for the Backup, and again for the Restore")] = 1800.0,
    settle_timeout: Annotated[float, typer.Option(
        "--settle-timeout", help="seconds to wait for restored workloads and PVCs")] = 300.0,
    velero_namespace: Annotated[str, typer.Option(
        "--velero-namespace", help="Velero's namespace")] = ops.VELERO_NAMESPACE,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    as_json: JsonOpt = False,
    request_timeout: RequestTimeoutOpt = 15.0,
) -> None:
    """Back up NS with Velero, restore it into a separate namespace, compare the two.
    Exit 0 the drill passed (or the preview), 1 it found differences, 2 bad input."""
    _check_options({"--namespace": namespace, "--drill-namespace": drill_namespace,
                    "--velero-namespace": velero_namespace},
                   {"--timeout": timeout, "--settle-timeout": settle_timeout})
    err = err_console()
    with cluster_session(kubeconfig, context, request_timeout) as conn:
        client = conn.client
        plan = ops.plan_drill(client, namespace, from_schedule=from_schedule,
                              drill_namespace=drill_namespace,
                              velero_namespace=velero_namespace)
        for warning in plan.warnings:
            err.print(f"[yellow]warning[/]: {warning}")
        if not yes:
            _preview(plan, keep, as_json)
            return
        result = ops.run_drill(client, plan, keep=keep, timeout=timeout,
                               settle_timeout=settle_timeout,
                               log=lambda line: err.print(f"[dim]{line}[/]"))
    if as_json:
        sys.stdout.write(json.dumps(result.as_json(), indent=2) + "\n")
    else:
        _print_result(result)
    if result.verdict != "pass":
        raise typer.Exit(ExitStatus.FINDINGS)


def _preview(plan: ops.DrillPlan, keep: bool, as_json: bool) -> None:
    steps = plan.steps()
    if keep:
        steps[-1] = f"keep namespace {plan.drill_namespace} and Restore {plan.restore} (--keep)"
    if as_json:
        sys.stdout.write(json.dumps({"preview": True, "steps": steps}, indent=2) + "\n")
        return
    console = out_console()
    console.print(f"Restore drill of namespace {plan.namespace} (preview; nothing done yet):")
    for number, step in enumerate(steps, start=1):
        console.print(f"  {number}. {step}")
    console.print("Run again with --yes to do it.")


def _print_result(result: ops.DrillResult) -> None:
    console = out_console()
    colour = "green" if result.verdict == "pass" else "red"
    console.print(f"[{colour}]{result.verdict.upper()}[/] {result.summary}", soft_wrap=True)
    for line in result.velero_details:
        console.print(f"  {line}", soft_wrap=True)
    if result.counts:
        table = Table("kind", result.plan.namespace, result.plan.drill_namespace,
                      title="objects compared", title_justify="left")
        for count in result.counts:
            mark = "" if count.source == count.restored else " [red]≠[/]"
            table.add_row(count.kind, str(count.source), f"{count.restored}{mark}")
        console.print(table)
    if result.differences:
        console.print("differences:")
        for line in result.differences:
            console.print(f"  - {line}", soft_wrap=True)
    kept = "" if result.cleaned_up or not result.restore_created else (
        f"; kept namespace {result.plan.drill_namespace} and Restore {result.plan.restore}")
    console.print(f"recorded in {result.plan.velero_namespace}/{ops.RECORD_NAME}{kept}")
