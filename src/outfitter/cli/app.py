"""The Typer application and what every command shares: consoles, the profile option.

Commands live in sibling modules (core, validate, status, …), each registering itself on
`app`; they parse, call the core, print — no logic lives in this package.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from outfitter.config import Profile, load_profile
from outfitter.errors import InputError

app = typer.Typer(
    help="Fit out a Kubernetes cluster from a roadmap: plan, render to Flux, validate, verify.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
)
DEFAULT_PROFILE = Path("outfitter.yaml")

ProfileOpt = Annotated[Path | None, typer.Option(
    "--profile", "-p", help="cluster profile (default: ./outfitter.yaml, else built-in)",
    dir_okay=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]
KubeconfigOpt = Annotated[Path | None, typer.Option(
    "--kubeconfig", help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)",
    dir_okay=False)]
ContextOpt = Annotated[str | None, typer.Option("--context", help="kubeconfig context")]


class UsageProblem(InputError):
    """A command used in a way that cannot work (exit 2)."""


def out_console() -> Console:
    return Console(highlight=False, width=None if sys.stdout.isatty() else 140)


def err_console() -> Console:
    return Console(stderr=True, highlight=False)


def profile_from(path: Path | None) -> Profile:
    """The profile a command works on: --profile, ./outfitter.yaml, or the built-in one."""
    if path is None and DEFAULT_PROFILE.exists():
        path = DEFAULT_PROFILE
    if path is None:
        err_console().print(
            "[dim]using the built-in default profile (outfitter init writes one)[/]")
    return load_profile(path)
