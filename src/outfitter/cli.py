"""The command line: parse, call the core, print. No logic lives here.

Exit codes: 0 done, 1 findings (a check that found problems), 2 bad input (an unusable
profile, a conflict with the user's files, a usage error) — and then nothing is written.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from typer.exceptions import TyperException

from outfitter import roadmap
from outfitter.config import ProfileError, load_profile
from outfitter.plan import build_plan, plan_json
from outfitter.profile_init import map_roadmap, profile_data, profile_text
from outfitter.render.flux import render_tree
from outfitter.render.writer import WriteConflict, atomic_write, write_tree
from outfitter.report import print_plan

app = typer.Typer(
    help="Fit out a Kubernetes cluster from a roadmap: plan, render to Flux, validate, verify.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
)
DEFAULT_PROFILE = Path("outfitter.yaml")

ProfileOpt = Annotated[Path | None, typer.Option(
    "--profile", "-p", help="cluster profile (default: ./outfitter.yaml, else built-in)",
    dir_okay=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]


class UsageProblem(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _out() -> Console:
    return Console(highlight=False, width=None if sys.stdout.isatty() else 140)


def _err() -> Console:
    return Console(stderr=True, highlight=False)


def _profile(path: Path | None):  # type: ignore[no-untyped-def]
    if path is None and DEFAULT_PROFILE.exists():
        path = DEFAULT_PROFILE
    if path is None:
        _err().print("[dim]using the built-in default profile (outfitter init writes one)[/]")
    return load_profile(path)


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
    console = _err()
    if mapping is not None:
        listed = sorted(set(mapping.addons) - set(mapping.added))
        console.print(f"enabled from the roadmap: {', '.join(listed)}")
        for dep, needed_by in sorted(mapping.added.items()):
            console.print(f"also enabled: {dep} ({needed_by} needs it)")
        for unknown in mapping.unmapped:
            console.print(f"[yellow]not mapped[/]: {unknown!r} (no add-on or existing component "
                          f"by that name; left out)")
    console.print(f"wrote {out}")


@app.command()
def plan(profile: ProfileOpt = None, as_json: JsonOpt = False) -> None:
    """Show the add-ons in dependency waves, what they need, and what they cost."""
    the_plan = build_plan(_profile(profile))
    if as_json:
        sys.stdout.write(json.dumps(plan_json(the_plan), indent=2) + "\n")
    else:
        print_plan(the_plan, _out())


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
    files = render_tree(build_plan(_profile(profile)))
    report = write_tree(out, files, force=force)
    console = _err()
    console.print(f"{out}: {len(report.written)} written, {len(report.unchanged)} unchanged, "
                  f"{len(report.removed)} removed")
    for rel in report.kept:
        console.print(f"[yellow]kept[/] {out / rel}: no longer rendered, but edited since "
                      f"outfitter wrote it; remove it yourself if it should go")


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (tests call it in-process)."""
    try:
        app(args=argv, standalone_mode=False)
    except (ProfileError, WriteConflict, UsageProblem) as err:
        console = _err()
        for problem in err.problems:
            console.print(f"[red]error[/]: {problem}", soft_wrap=True)
        return 2
    except typer.Exit as exit_:
        return int(exit_.exit_code)
    except TyperException as err:
        show = getattr(err, "show", None)
        if callable(show):
            show()
        else:
            _err().print(f"[red]error[/]: {err.format_message()}")
        return 2
    except typer.Abort:
        return 130
    return 0


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
