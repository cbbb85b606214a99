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
from outfitter.ops.certs_issuer import CLUSTER_ISSUER, STAGING_SOURCE, Issuer

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
    issuer: Annotated[str | None, typer.Option(
        "--issuer", metavar="NAME",
        help="the issuer the Certificates name (default: the one the repository's "
             "Certificates and annotations use, else its only ClusterIssuer, else the "
             "profile's)")] = None,
    issuer_kind: Annotated[str, typer.Option(
        "--issuer-kind", metavar="KIND", help="ClusterIssuer or Issuer (with --issuer)")]
        = CLUSTER_ISSUER,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Give each IngressRoute on a certResolver (or without TLS) a cert-manager Certificate.
    Exit 0 done, 1 with --write when a file was skipped, 2 bad input."""
    if not path.exists():
        raise UsageProblem([f"{path}: no such file or folder"])
    mig = ops.plan_migration(path, profile_from(profile),
                             _chosen(issuer, issuer_kind, staging))
    root = path if path.is_dir() else path.parent
    diffs, written = preview_or_write(mig.files, root, write, lambda: ops.write(mig))
    if as_json:
        print_json(mig.to_json(), diffs, written)
    else:
        _print(mig, out_console())
        print_diffs(diffs, written, write)
    raise typer.Exit(exit_status(write, mig.not_edited))


def _chosen(name: str | None, kind: str, staging: bool) -> Issuer | None:
    if kind not in (CLUSTER_ISSUER, "Issuer"):
        raise UsageProblem([f"--issuer-kind {kind}: must be ClusterIssuer or Issuer"])
    if name is not None and staging:
        raise UsageProblem(["--issuer and --staging both name the issuer: pass one"])
    if name is not None:
        if not name.strip():
            raise UsageProblem(["--issuer: empty name"])
        return Issuer(kind, name.strip(), "--issuer")
    if kind != CLUSTER_ISSUER:
        raise UsageProblem(["--issuer-kind goes with --issuer NAME"])
    if staging:
        return Issuer(CLUSTER_ISSUER, STAGING_ISSUER, STAGING_SOURCE)
    return None


def _print(mig: ops.Migration, console: Console) -> None:
    if not mig.routes:
        console.print("no Traefik IngressRoute or IngressRouteTCP in the files Flux applies: "
                      "nothing to migrate", soft_wrap=True)
        _print_notes(mig, console)
        return
    console.print(f"issuer: {mig.issuer.ref} (from {mig.issuer.source})", soft_wrap=True,
                  highlight=False)
    table = Table(title=f"Traefik routes: {len(mig.to_migrate)} to move onto cert-manager "
                        f"({mig.issuer.ref})", title_justify="left")
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
    _print_notes(mig, console)


def _print_notes(mig: ops.Migration, console: Console) -> None:
    for note in mig.notes:
        console.print(f"[dim]note[/]: {note}", soft_wrap=True)
    for line in mig.skipped:
        console.print(f"[yellow]skipped[/] {line}", soft_wrap=True)
