"""Commands of the core: init, plan, render."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from outfitter import roadmap
from outfitter.cli.app import (
    DEFAULT_PROFILE,
    JsonOpt,
    ProfileOpt,
    UsageProblem,
    app,
    err_console,
    out_console,
    profile_from,
)
from outfitter.plan import build_plan, plan_json
from outfitter.profile_init import map_roadmap, profile_data, profile_text
from outfitter.render.flux import render_tree
from outfitter.render.writer import atomic_write, write_tree
from outfitter.report import print_plan


@app.command()
def init(
    out: Annotated[Path, typer.Option("--out", "-o", help="where to write the profile",
                                      dir_okay=False)] = DEFAULT_PROFILE,
    from_roadmap: Annotated[Path | None, typer.Option(
        "--from-roadmap", help="enable the add-ons a roadmap document lists",
        exists=False, dir_okay=False)] = None,
    name: Annotated[str | None, typer.Option(help="cluster name")] = None,
    domain: Annotated[str | None, typer.Option(help="cluster domain")] = None,
    nodes: Annotated[int | None, typer.Option(help="node count")] = None,
    force: Annotated[bool, typer.Option(help="overwrite an existing profile")] = False,
) -> None:
    """Write an outfitter.yaml profile (from defaults, or from a roadmap document)."""
    if out.exists() and not force:
        raise UsageProblem([f"{out}: exists; use --force to overwrite or --out elsewhere"])
    cluster: dict[str, object] = {}
    if name:
        cluster["name"] = name
    if domain:
        cluster["domain"] = domain
    if nodes:
        cluster["nodes"] = {"count": nodes}
    mapping = None
    if from_roadmap is not None:
        try:
            doc = roadmap.load(from_roadmap)
        except (OSError, UnicodeDecodeError) as err:
            raise UsageProblem([f"{from_roadmap}: cannot read: {err}"]) from None
        mapping = map_roadmap(doc)
        if not mapping.addons:
            raise UsageProblem([f"{from_roadmap}: no add-on sections found "
                                f"(expected '### Name - …' under '## Priority: …')"])
    text = profile_text(profile_data(mapping, **cluster))
    atomic_write(out, text.encode())
    console = err_console()
    if mapping is not None:
        listed = sorted(set(mapping.addons) - set(mapping.added))
        console.print(f"enabled from the roadmap: {', '.join(listed)}")
        for dep, needed_by in sorted(mapping.added.items()):
            console.print(f"also enabled: {dep} (comes with {needed_by})")
        for unknown in mapping.unmapped:
            console.print(f"[yellow]not mapped[/]: {unknown!r} (no add-on or existing component "
                          f"by that name; left out)")
    console.print(f"wrote {out}")


@app.command()
def plan(
    profile: ProfileOpt = None, as_json: JsonOpt = False,
    helm: Annotated[bool, typer.Option(
        "--helm", help="budget read from the charts' templated output (needs helm)")] = False,
    charts: Annotated[Path | None, typer.Option(
        "--charts", help="with --helm: local charts (.tgz or folders) before the cache",
        file_okay=False)] = None,
    helm_bin: Annotated[str | None, typer.Option(
        "--helm-bin", help="the helm to run (default: helm on PATH)")] = None,
    offline: Annotated[bool, typer.Option(
        "--offline", help="with --helm: never pull a chart")] = False,
) -> None:
    """Show the add-ons in dependency waves, what they need, and what they cost."""
    the_plan = build_plan(profile_from(profile))
    if helm:
        from outfitter.cli.plan_helm import templated_budget

        templated_budget(the_plan, charts, helm_bin, offline)
    if as_json:
        sys.stdout.write(json.dumps(plan_json(the_plan), indent=2) + "\n")
    else:
        print_plan(the_plan, out_console())


@app.command()
def render(
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="the Git repository's root; the tree goes to its gitops.path",
        file_okay=False)],
    profile: ProfileOpt = None,
    force: Annotated[bool, typer.Option(
        help="overwrite files outfitter wrote that were edited since")] = False,
) -> None:
    """Write the Flux tree: one folder per add-on, same input, same bytes."""
    files = render_tree(build_plan(profile_from(profile)))
    report = write_tree(out, files, force=force)
    console = err_console()
    console.print(f"{out}: {len(report.written)} written, {len(report.unchanged)} unchanged, "
                  f"{len(report.removed)} removed")
    for rel in report.kept:
        console.print(f"[yellow]kept[/] {out / rel}: no longer rendered, but edited since "
                      f"outfitter wrote it; remove it yourself if it should go")


