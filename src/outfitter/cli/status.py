"""`outfitter status`: the roadmap's checklist checked on the live cluster."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from outfitter import roadmap
from outfitter.cli.app import (
    ContextOpt,
    JsonOpt,
    KubeconfigOpt,
    ProfileOpt,
    RequestTimeoutOpt,
    app,
    err_console,
    out_console,
    profile_from,
)
from outfitter.cluster.connect import open_connection
from outfitter.cluster.reader import ClusterReader
from outfitter.errors import ExitStatus
from outfitter.files import write_keeping
from outfitter.status.checks import Check, Result
from outfitter.status.engine import StatusReport, run_status
from outfitter.status.roadmap_update import diff, update

STYLE = {"pass": "green", "fail": "red", "unknown": "yellow", "progressing": "cyan"}


@app.command(short_help="Check every roadmap item on the live cluster (read-only).")
def status(
    profile: ProfileOpt = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    as_json: JsonOpt = False,
    update_roadmap: Annotated[Path | None, typer.Option(
        "--update-roadmap", help="tick checkboxes and set Status lines in this roadmap file",
        dir_okay=False)] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="with --update-roadmap: print the diff, write nothing")] = False,
    strict: Annotated[bool, typer.Option(help="exit 1 on unknown checks too")] = False,
    request_timeout: RequestTimeoutOpt = 15.0,
) -> None:
    """Check every roadmap item on the cluster (read-only). Exit 0 all pass, 1 a check failed
    (or, with --strict, is unknown), 2 bad input or a server that is not a Kubernetes API
    server."""
    the_profile = profile_from(profile)
    doc = roadmap.load(update_roadmap) if update_roadmap is not None else None
    # Discovery first: a server that is not an API server is exit 2, never "not installed".
    with ClusterReader(open_connection(kubeconfig, context, request_timeout)) as reader:
        report = run_status(the_profile, reader)

    if doc is not None and update_roadmap is not None:
        new_text, _ = update(doc, report)
        if dry_run:
            sys.stdout.write(diff(doc.text, new_text, update_roadmap.name) or "")
        elif new_text != doc.text:
            write_keeping(update_roadmap, new_text.encode("utf-8"))
            err_console().print(f"updated {update_roadmap}")
        if report.read_errors:
            err_console().print(f"[yellow]incomplete[/]: {len(report.read_errors)} listing(s) "
                                f"failed ({report.read_errors[0]}); the roadmap was only "
                                f"ticked, never unticked")
    if as_json:
        sys.stdout.write(json.dumps(report_json(report), indent=2) + "\n")
    elif not (dry_run and doc is not None):
        print_report(report)
    if report.failed or (strict and report.unknown):
        raise typer.Exit(ExitStatus.FINDINGS)


def _row(check: Check, result: Result) -> dict[str, Any]:
    return {"check": check.key, "title": check.title, "state": result.state,
            "evidence": result.evidence, "hint": result.hint}


def report_json(report: StatusReport) -> dict[str, Any]:
    return {
        "addons": [{"name": a.addon, "title": a.title,
                    "checks": [_row(c, r) for c, r in a.results]} for a in report.addons],
        "existing": [_row(c, r) for c, r in report.existing],
        "requests": report.requests,
        "readErrors": report.read_errors,
    }


def print_report(report: StatusReport) -> None:
    console = out_console()
    table = Table(title="Cluster status", show_lines=False)
    for col in ("add-on", "check", "state", "evidence", "hint"):
        table.add_column(col, overflow="fold")
    for section in report.addons:
        for i, (check, result) in enumerate(section.results):
            table.add_row(section.addon if i == 0 else "", check.title,
                          f"[{STYLE[result.state]}]{result.state}[/]", result.evidence,
                          result.hint)
        table.add_section()
    for i, (check, result) in enumerate(report.existing):
        table.add_row("existing" if i == 0 else "", check.title,
                      f"[{STYLE[result.state]}]{result.state}[/]", result.evidence, result.hint)
    console.print(table)
    counts = {s: sum(1 for _, r in report.all_results() if r.state == s) for s in STYLE}
    moving = f", {counts['progressing']} progressing" if counts["progressing"] else ""
    console.print(f"{counts['pass']} pass, {counts['fail']} fail, {counts['unknown']} unknown"
                  f"{moving} ({report.requests} API requests)")
