"""The Typer application and what every command shares: consoles, the profile option, the
cluster options.

Commands live in sibling modules (core, validate, status, …), each registering itself on
`app`; they parse, call the core, print — no logic lives in this package. A command's module
is imported only when that command runs (`COMMANDS` names the module and the one-line help
`outfitter --help` shows), so `plan` never pays for a cluster client and `--help` for none.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from typer import _click
from typer.core import TyperGroup

from outfitter.errors import InputError

if TYPE_CHECKING:
    from rich.console import Console

    from outfitter.config import Profile

# name -> (module that registers it, the line `outfitter --help` shows)
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("outfitter.cli.core", "Write an outfitter.yaml profile (from defaults, or from "
                                   "a roadmap document)."),
    "plan": ("outfitter.cli.core", "Show the add-ons in dependency waves, what they need, "
                                   "and what they cost."),
    "render": ("outfitter.cli.core", "Write the Flux tree: one folder per add-on, same "
                                     "input, same bytes."),
    "validate": ("outfitter.cli.validate", "Check a Flux tree before Flux does (offline, or "
                                           "--server)."),
    "status": ("outfitter.cli.status", "Check every roadmap item on the live cluster "
                                       "(read-only)."),
    "certs": ("outfitter.cli.certs", "cert-manager: move Traefik IngressRoutes onto "
                                     "Certificates."),
    "logs": ("outfitter.cli.logs", "Logs: Loki against the Graylog the cluster runs."),
    "reloader": ("outfitter.cli.reloader", "Reloader: find workloads that read "
                                           "ConfigMaps/Secrets without a Reloader annotation, "
                                           "and add it."),
    "drill": ("outfitter.cli.drill", "Day-2 drills the roadmap asks for."),
    "policy": ("outfitter.cli.policy", "Kyverno policies: from Audit to Deny."),
    "diff": ("outfitter.cli.diff", "What a change does to the cluster, rendered (git refs)."),
}


class LazyGroup(TyperGroup):
    """The root group: lists every command from `COMMANDS` and imports a command's module
    the first time that command is looked up."""

    def list_commands(self, ctx: _click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            importlib.import_module(COMMANDS[cmd_name][0])
            built = typer.main.get_command(app)
            self.commands.update(getattr(built, "commands", {}))
        return self.commands.get(cmd_name)

    def format_help(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        # Plain help from the table: neither the commands' modules nor Rich are imported.
        _click.Command.format_help(self, ctx, formatter)

    def format_commands(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, line) for name, (_, line) in COMMANDS.items()])


app = typer.Typer(
    help="Fit out a Kubernetes cluster from a roadmap: plan, render to Flux, validate, verify.",
    epilog="Exit status: 0 done, 1 findings (or something skipped), 2 input errors, "
           "130 interrupted.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    cls=LazyGroup,
)


@app.callback()
def _root() -> None:
    """A callback makes Typer build a group even before any command module is imported."""


DEFAULT_PROFILE = Path("outfitter.yaml")

ProfileOpt = Annotated[Path | None, typer.Option(
    "--profile", "-p", help="cluster profile (default: ./outfitter.yaml, else built-in)",
    dir_okay=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]
KubeconfigOpt = Annotated[Path | None, typer.Option(
    "--kubeconfig", help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)",
    dir_okay=False)]
ContextOpt = Annotated[str | None, typer.Option("--context", help="kubeconfig context")]
RequestTimeoutOpt = Annotated[float, typer.Option(
    "--request-timeout", help="seconds to wait for each answer of the API server", min=0.1)]


class UsageProblem(InputError):
    """A command used in a way that cannot work (exit 2)."""


def out_console() -> Console:
    from rich.console import Console

    return Console(highlight=False, width=None if sys.stdout.isatty() else 140)


def err_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def profile_from(path: Path | None) -> Profile:
    """The profile a command works on: --profile, ./outfitter.yaml, or the built-in one."""
    from outfitter.config import load_profile

    if path is None and DEFAULT_PROFILE.exists():
        path = DEFAULT_PROFILE
    if path is None:
        err_console().print(
            "[dim]using the built-in default profile (outfitter init writes one)[/]")
    return load_profile(path)
