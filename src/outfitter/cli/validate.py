"""`outfitter validate PATH`: parse the options, run validate, print the report."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.status import Status

from outfitter.cli.app import (
    ContextOpt,
    JsonOpt,
    KubeconfigOpt,
    ProfileOpt,
    UsageProblem,
    app,
    err_console,
    out_console,
)
from outfitter.render.writer import atomic_write
from outfitter.validate.output import as_json, as_sarif, print_report
from outfitter.validate.run import LiveLike, Request, run


class Progress:
    """A status line on stderr for runs longer than about two seconds, on a terminal."""

    DELAY = 2.0

    def __init__(self, console: Console | None) -> None:
        self.console = console
        self.began = time.monotonic()
        self.status: Status | None = None

    def __enter__(self) -> Progress:
        return self

    def update(self, text: str) -> None:
        if self.console is None:
            return
        if self.status is None:
            if time.monotonic() - self.began < self.DELAY:
                return
            self.status = self.console.status(text)
            self.status.start()
        self.status.update(text)

    def __exit__(self, *exc: object) -> None:
        if self.status is not None:
            self.status.stop()


def _cluster(kubeconfig: Path | None, context: str | None, needed: bool) -> LiveLike | None:
    """The cluster to ask: only when --kubeconfig or --server says so (offline otherwise)."""
    if kubeconfig is None and not needed:
        return None
    from outfitter.cluster.client import connect
    from outfitter.cluster.live import LiveCluster

    try:
        return LiveCluster(connect(kubeconfig, context, field_manager="outfitter-validate"))
    except Exception as err:  # lightkube raises several kinds for a bad kubeconfig
        where = kubeconfig or "$KUBECONFIG / ~/.kube/config"
        raise UsageProblem([f"{where}: cannot use this kubeconfig: {err}"]) from None


@app.command(short_help="Check a Flux tree before Flux does (offline, or --server).")
def validate(
    path: Annotated[Path, typer.Argument(help="a Flux repository, a folder in it, or a file")],
    strict: Annotated[bool, typer.Option(
        "--strict/--no-strict", help="fields a schema does not define are errors")] = True,
    schemas: Annotated[list[Path] | None, typer.Option(
        "--schemas", help="extra CRD folder or file (repeatable)")] = None,
    charts: Annotated[Path | None, typer.Option(
        "--charts", help="local chart folders (Chart.yaml + values.yaml) to check "
        "HelmRelease values against", file_okay=False)] = None,
    kubernetes_version: Annotated[str | None, typer.Option(
        "--kubernetes-version", help="schemas of this Kubernetes version (default: the "
        "cluster's with --kubeconfig, else the newest installed)")] = None,
    known_namespaces: Annotated[list[str] | None, typer.Option(
        "--known-namespace", help="a namespace that exists on the cluster though the tree "
        "does not create it (repeatable)")] = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    server: Annotated[bool, typer.Option(
        "--server", help="also send every object to the cluster as a server-side dry-run "
        "apply")] = False,
    as_json_: JsonOpt = False,
    sarif: Annotated[Path | None, typer.Option(
        "--sarif", help="also write a SARIF 2.1.0 report to this file", dir_okay=False)] = None,
    source: Annotated[str | None, typer.Option(
        "--source", help="the repository's own Flux source: NAME, KIND/NAME or NAMESPACE/NAME "
        "(default: GitRepository flux-system/flux-system, or the FluxInstance's)")] = None,
    start: Annotated[Path | None, typer.Option(
        "--path", help="start from this folder (a Flux cluster entry, as flate --path) "
        "instead of the repository's flux-system Kustomization", file_okay=False)] = None,
    source_dirs: Annotated[list[str] | None, typer.Option(
        "--source-dir", help="NAME=DIR: a local checkout of another Flux source, built for "
        "the Kustomizations that use it (repeatable)")] = None,
    profile: ProfileOpt = None,
) -> None:
    """Check a Flux tree before Flux does: schemas, kustomize builds, references, HelmRelease
    values, security lint; with --server, the API server's own verdict. Exit 0 clean,
    1 findings, 2 unusable input."""
    mapped: dict[str, Path] = {}
    for item in source_dirs or []:
        name, sep, folder = item.partition("=")
        if not sep or not name or not folder:
            raise UsageProblem([f"--source-dir {item!r}: expected NAME=DIR"])
        mapped[name] = Path(folder)
    cluster = _cluster(kubeconfig, context, server)
    request = Request(path=path, strict=strict, schemas=schemas or [], charts=charts,
                      kubernetes_version=kubernetes_version,
                      known_namespaces=known_namespaces or [], server=server,
                      profile=profile, source=source, start=start, source_dirs=mapped)
    show = not as_json_ and sarif is None and sys.stderr.isatty()
    with Progress(err_console() if show else None) as progress:
        report = run(request, cluster, progress=progress.update)
    if sarif is not None:
        atomic_write(sarif, (json.dumps(as_sarif(report), indent=2) + "\n").encode())
    if as_json_:
        sys.stdout.write(json.dumps(as_json(report), indent=2) + "\n")
    else:
        print_report(report, out_console())
    raise typer.Exit(report.exit_code)
