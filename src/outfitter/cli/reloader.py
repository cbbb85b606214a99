"""`outfitter reloader plan`: which workloads need a Reloader annotation; `--write` adds them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from outfitter.cli.app import (
    ContextOpt,
    JsonOpt,
    KubeconfigOpt,
    RequestTimeoutOpt,
    UsageProblem,
    app,
    out_console,
)
from outfitter.cli.cluster import cluster_session
from outfitter.cli.edits import exit_status, preview_or_write, print_diffs, print_json
from outfitter.cluster.namespaces import PLATFORM
from outfitter.ops import reloader as ops
from outfitter.ops import reloader_live

reloader_app = typer.Typer(
    help="Reloader: find workloads that read ConfigMaps/Secrets without a Reloader "
         "annotation, and add it.", no_args_is_help=True)
app.add_typer(reloader_app, name="reloader")

_STYLE = {"needs annotation": "yellow", "partly annotated": "yellow", "helm": "yellow",
          "annotated": "green", "needs none": "green", "opted out": "dim",
          "managed by an operator": "dim"}


@reloader_app.command("plan")
def plan(
    path: Annotated[Path | None, typer.Argument(
        help="a Flux repository (or a folder or file in it)")] = None,
    live: Annotated[bool, typer.Option(
        "--live", help="read the workloads from the cluster instead of a repository")] = False,
    write: Annotated[bool, typer.Option(
        "--write", help="add the annotations to the files (default: preview only)")] = False,
    as_json: JsonOpt = False,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    request_timeout: RequestTimeoutOpt = 15.0,
) -> None:
    """List workloads that read a ConfigMap or Secret and lack a Reloader annotation.
    Exit 0 done, 1 with --write when a file was skipped, 2 bad input."""
    if live and path is not None:
        raise UsageProblem(["give a PATH or --live, not both"])
    if not live and path is None:
        raise UsageProblem(["give a PATH (a Flux repository) or --live (the cluster)"])
    if live and write:
        raise UsageProblem(["--write edits a repository: run it with a PATH, not --live"])
    if live:
        the_plan = reloader_live.plan_objects(_live(kubeconfig, context, request_timeout))
        the_plan.notes.append(
            f"Namespaces left out as the platform's own: "
            f"{', '.join(sorted(PLATFORM))}.")
    else:
        assert path is not None
        if not path.exists():
            raise UsageProblem([f"{path}: no such file or folder"])
        the_plan = ops.plan_repository(path)
    root = path if path is not None and path.is_dir() else (path.parent if path else None)
    diffs, written = preview_or_write(the_plan.files, root, write, lambda: ops.write(the_plan))
    if as_json:
        print_json(the_plan.to_json(), diffs, written)
    else:
        _print(the_plan, out_console())
        print_diffs(diffs, written, write)
    raise typer.Exit(exit_status(write, the_plan.not_edited))


def _live(kubeconfig: Path | None, context: str | None,
          timeout: float) -> list[dict[str, Any]]:
    with cluster_session(kubeconfig, context, timeout) as conn:
        return reloader_live.live_objects(conn.client)


def _print(the_plan: ops.Plan, console: Console) -> None:
    table = Table(title=f"Reloader: {the_plan.scanned} workload(s) looked at", title_justify="left")
    for column in ("workload", "where", "reads", "status", "action / why"):
        table.add_column(column, overflow="fold")
    for f in the_plan.findings:
        reads = "\n".join(f"{r} ({r.via})" for r in f.refs)
        why: list[str] = []
        if f.add:
            why.append(", ".join(f'{k}: "{v}"' for k, v in f.add.items()))
        why += [f"{ref}: needs none, {reason}" for ref, reason in sorted(f.needs_none.items())]
        why += f.notes
        if f.add and f.on_pod:
            why.append("on the pod template, beside the user's own")
        if f.edit_error:
            why.append("not edited (see skipped)")
        style = _STYLE.get(f.status, "")
        table.add_row(f.workload, f.where, reads, f"[{style}]{f.status}[/]", "\n".join(why))
    console.print(table)
    for f in the_plan.findings:
        if f.suggestion:
            via = f"HelmRelease {f.helm_release}" if f.helm_release else f.workload
            console.print(f"\n[bold]{via}[/] ({f.workload}) — add to the HelmRelease:")
            console.print(f.suggestion.rstrip("\n"), markup=False, highlight=False)
    for line in the_plan.not_judged:
        console.print(f"[yellow]not judged[/] {line}", soft_wrap=True)
    for note in the_plan.notes:
        console.print(f"[dim]note[/]: {note}", soft_wrap=True)
    for line in the_plan.skipped:
        console.print(f"[yellow]skipped[/] {line}", soft_wrap=True)
