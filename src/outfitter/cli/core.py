"""Commands of the core: init, plan, render."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

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
from outfitter.profile_init import (
    RoadmapMapping,
    Source,
    map_roadmap,
    profile_data,
    profile_text,
)
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
        mapping = map_roadmap(roadmap.load(from_roadmap))
        if not mapping.addons:
            raise UsageProblem([f"{from_roadmap}: asks for no add-on outfitter offers"
                                + _named_tools(mapping)])
    text = profile_text(profile_data(mapping, **cluster))
    atomic_write(out, text.encode())
    console = err_console()
    if mapping is not None:
        print_mapping(mapping, console)
    console.print(f"wrote {out}")


def _named_tools(mapping: RoadmapMapping) -> str:
    if not mapping.not_offered:
        return ""
    return f" (it names only tools outfitter does not offer: {', '.join(mapping.not_offered)})"


def print_mapping(mapping: RoadmapMapping, console: Console) -> None:
    """What init read in the roadmap, each with the line that says it."""
    def at(source: Source) -> str:
        return f"line {source.line}: {escape(_short(source.text))}"

    console.print("enabled from the roadmap:")
    for name, source in mapping.sources.items():
        priority = mapping.addons[name] or "add-on's own"
        console.print(f"  {name} ({priority} priority) \u2190 {at(source)}", soft_wrap=True)
    if mapping.existing:
        console.print(f"existing stack from the roadmap: {', '.join(mapping.existing)}")
    for dep, needed_by in sorted(mapping.added.items()):
        console.print(f"also enabled: {dep} (comes with {needed_by})")
    for source, phrase, choices in mapping.ambiguous:
        console.print(f"[yellow]ambiguous[/]: {phrase!r} could be {' or '.join(choices)}; "
                      f"none enabled from it ({at(source)})", soft_wrap=True)
    for name, source in mapping.done.items():
        console.print(f"already done, not enabled: {name} ({at(source)})", soft_wrap=True)
    for name, source in mapping.declined.items():
        console.print(f"not requested, not enabled: {name} ({at(source)})", soft_wrap=True)
    for tool, source in mapping.not_offered.items():
        instead = mapping.offered_instead.get(tool)
        hint = f"; outfitter offers {', '.join(instead)} for it" if instead else ""
        console.print(f"[yellow]not offered[/]: {escape(tool)} ({at(source)}){hint}",
                      soft_wrap=True)
    for source in mapping.unmapped:
        console.print(f"not mapped: {at(source)}", soft_wrap=True)


def _short(text: str, width: int = 72) -> str:
    return text if len(text) <= width else text[: width - 1] + "\u2026"


@app.command()
def plan(profile: ProfileOpt = None, as_json: JsonOpt = False) -> None:
    """Show the add-ons in dependency waves, what they need, and what they cost."""
    the_plan = build_plan(profile_from(profile))
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


