"""`outfitter certs migrate`: Traefik IngressRoutes from a certResolver onto cert-manager."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from outfitter.addons.context import STAGING_ISSUER
from outfitter.cli.app import (
    JsonOpt,
    ProfileOpt,
    UsageProblem,
    app,
    out_console,
    profile_from,
)
from outfitter.cli.edits import exit_status, preview_or_write, print_diffs, print_json
from outfitter.ops import certs as ops
from outfitter.plan import make_context

certs_app = typer.Typer(help="cert-manager: move Traefik IngressRoutes onto Certificates.",
                        no_args_is_help=True)
app.add_typer(certs_app, name="certs")

_STYLE = {"migrate": "yellow", "done": "green", "left alone": "dim"}


@certs_app.command("migrate")
def migrate(
    path: Annotated[Path, typer.Argument(help="a Flux repository (or a folder or file in it)")],
    write: Annotated[bool, typer.Option(
        "--write", help="apply the edits (default: preview only)")] = False,
    staging: Annotated[bool, typer.Option(
        "--staging", help=f"issue from {STAGING_ISSUER} (to try the migration first)")] = False,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Give each IngressRoute on a certResolver (or without TLS) a cert-manager Certificate.
    Exit 0 done, 1 with --write when a file was skipped, 2 bad input."""
    if not path.exists():
        raise UsageProblem([f"{path}: no such file or folder"])
    prof = profile_from(profile)
    # The production issuer is outfitter's, or the one an adopted cert-manager already has.
    issuer = STAGING_ISSUER if staging else make_context(prof).issuer
    mig = ops.plan_migration(path, prof, issuer)
    root = path if path.is_dir() else path.parent
    diffs, written = preview_or_write(mig.files, root, write, lambda: ops.write(mig))
    if as_json:
        data = mig.to_json()
        data["issuer"] = issuer
        print_json(data, diffs, written)
    else:
        _print(mig, out_console(), issuer)
        print_diffs(diffs, written, write)
    raise typer.Exit(exit_status(write, mig.not_edited))


def _print(mig: ops.Migration, console: Console, issuer: str) -> None:
    table = Table(title=f"Traefik routes: {len(mig.to_migrate)} to move onto cert-manager "
                        f"(ClusterIssuer {issuer})", title_justify="left")
    for column in ("route", "where", "hosts", "status", "secret / why"):
        table.add_column(column, overflow="fold")
    for r in mig.routes:
        why = [f"tls.secretName: {r.secret}"] if r.status == "migrate" and r.secret else []
        if r.certificate is not None:
            why.append(f"new Certificate {r.certificate['metadata']['name']}")
        if r.reason:
            why.append(r.reason)
        why += r.notes
        style = _STYLE.get(r.status, "")
        table.add_row(r.ref, r.where, "\n".join(r.hosts), f"[{style}]{r.status}[/]",
                      "\n".join(why))
    console.print(table)
    for note in mig.notes:
        console.print(f"[dim]note[/]: {note}", soft_wrap=True)
    for line in mig.skipped:
        console.print(f"[yellow]skipped[/] {line}", soft_wrap=True)
