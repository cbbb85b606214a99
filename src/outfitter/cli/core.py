"""Commands of the core: init, plan, render."""

from __future__ import annotations

import contextlib
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
from outfitter.git_remote import origin_url
from outfitter.plan import Plan, build_plan, plan_json
from outfitter.profile_init import (
    SCHEMA_SUFFIX,
    RoadmapMapping,
    Source,
    map_roadmap,
    profile_data,
    profile_schema,
    profile_text,
    schema_modeline,
)
from outfitter.render.flux import leftovers
from outfitter.render.repository import place
from outfitter.render.sops import adopt_edited, render_repository
from outfitter.render.writer import (
    WriteConflict,
    apply_writes,
    atomic_write,
    check_root,
    exclusive,
    load_record,
    plan_writes,
)
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
    # The profile usually sits in the Git repository it describes: its origin is the
    # address Argo CD applications and Renovate presets need, not the example default.
    repo_url = origin_url(out.parent)
    text = profile_text(profile_data(mapping, repo_url, **cluster))
    # A JSON schema beside the profile, generated from the models, and the editor pointed
    # at it: completion and checks while the user edits outfitter.yaml.
    schema = out.with_name(out.stem + SCHEMA_SUFFIX)
    atomic_write(schema, (json.dumps(profile_schema(), indent=2) + "\n").encode())
    atomic_write(out, (schema_modeline(schema.name) + text).encode())
    console = err_console()
    if mapping is not None:
        print_mapping(mapping, console)
    if repo_url:
        console.print(f"profile setting: gitops.repoURL: {repo_url} (the Git remote origin)",
                      soft_wrap=True)
    console.print(f"wrote {out} and its schema {schema}")


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
    for setting, source in mapping.settings.items():
        key, _, value = setting.partition("=")
        console.print(f"profile setting: {key}: {value} \u2190 {at(source)}", soft_wrap=True)
    for setting, why in mapping.chosen.items():
        key, _, value = setting.partition("=")
        console.print(f"profile setting: {key}: {value} (chosen: {why})", soft_wrap=True)
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
        "--out", "-o", help="the Git repository's root; the tree goes to its gitops.path")],
    profile: ProfileOpt = None,
    force: Annotated[bool, typer.Option(
        help="where your change and the new render touch the same lines, take the render "
             "(drops your change)")] = False,
    check: Annotated[bool, typer.Option(
        "--check", help="write nothing; exit 1 when the tree differs from what render "
                        "would write (for CI)")] = False,
) -> None:
    """Write the Flux tree into the repository: one folder per add-on, same input, same
    bytes; your edits, Renovate's bumps and your own files stay."""
    the_plan = build_plan(profile_from(profile))
    problems = check_root(out)
    if problems:
        raise WriteConflict(problems)
    with contextlib.nullcontext() if check else exclusive(out):
        _render_into(out, the_plan, force, check)


def _render_into(out: Path, the_plan: Plan, force: bool, check: bool) -> None:
    files = render_repository(the_plan, out)  # SOPS Secrets encrypted, or kept as they are
    if not check:
        adopt_edited(out, the_plan, files)
    before = load_record(out).addons if out.is_dir() else {}
    placement = place(the_plan, files, out)
    actions, report, record = plan_writes(out, placement.files, force, placement.edits,
                                          leftovers(the_plan))
    console = err_console()
    for note in placement.notes + report.notes:
        console.print(f"[dim]note[/]: {note}", soft_wrap=True)
    if check:
        differs = report.written + report.merged + report.removed + report.edited
        for rel in differs:
            console.print(f"differs: {out / rel}", soft_wrap=True)
        for conflict in report.conflicts:
            console.print(f"conflict: {out / conflict.rel}", soft_wrap=True)
        raise typer.Exit(1 if report.changes else 0)
    apply_writes(out, actions, record)
    console.print(f"{out}: {len(report.written)} written, {len(report.merged)} merged, "
                  f"{len(report.unchanged)} unchanged, {len(report.removed)} removed, "
                  f"{len(report.edited)} of your files edited")
    for rel in report.merged:
        console.print(f"merged {out / rel}: your changes (or Renovate's) kept with the render's",
                      soft_wrap=True)
    for rel in report.theirs:
        console.print(f"[dim]kept yours[/] {out / rel}", soft_wrap=True)
    for rel in report.edited:
        console.print(f"edited {out / rel}: outfitter's entries only", soft_wrap=True)
    for rel in report.kept:
        console.print(f"[yellow]kept[/] {out / rel}: no longer rendered, but edited since "
                      f"outfitter wrote it; remove it yourself if it should go", soft_wrap=True)
    for name, left in sorted(before.items()):
        if name in record.addons:
            continue
        stays = [f"namespace {left['namespace']}", *left.get("volumes", [])]
        buckets = left.get("buckets") or []
        console.print(
            f"[yellow]{name}[/]: turned off; its Flux objects are removed. What holds its data "
            f"stays: {', '.join(stays)}"
            + (f"; buckets {', '.join(buckets)} in object storage" if buckets else "")
            + ". Delete them yourself once nothing needs them.", soft_wrap=True)
    if report.conflicts:
        for conflict in report.conflicts:
            console.print(f"[red]conflict[/]: {out / conflict.rel}: your change and the new "
                          f"render touch the same lines; the file is left as it is. Put "
                          f"your change in the profile, or --force to take the render's:",
                          soft_wrap=True)
            console.print(conflict.diff, markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2)
