"""`outfitter validate PATH`: parse the options, run validate, print the report."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from outfitter.cli.app import (
    ContextOpt,
    JsonOpt,
    KubeconfigOpt,
    ProfileOpt,
    RequestTimeoutOpt,
    UsageProblem,
    app,
    err_console,
    out_console,
)
from outfitter.files import write_keeping
from outfitter.validate.output import as_json, as_sarif, print_report
from outfitter.validate.run import LiveLike, Request, run

if TYPE_CHECKING:
    # Rich only when a terminal sees the progress line or the report: a --json run into a
    # pipe never imports it (start-up is most of a small run's time).
    from rich.console import Console
    from rich.status import Status

    from outfitter.helm.validation import Settings


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


def _cluster(kubeconfig: Path | None, context: str | None, needed: bool,
             timeout: float) -> tuple[LiveLike, Any] | None:
    """The cluster to ask (discovered first): only when --kubeconfig or --server says so;
    offline otherwise, and then no cluster client is imported at all."""
    if kubeconfig is None and not needed:
        return None
    from outfitter.cluster.connect import open_connection
    from outfitter.cluster.live import LiveCluster

    conn = open_connection(kubeconfig, context, timeout, field_manager="outfitter-validate")
    return LiveCluster(conn.client, conn.info), conn


def _helm_settings(helm_bin: str | None, charts: Path | None, offline: bool) -> Settings:
    # Imported only for --helm: the Helm pass's modules cost start-up every other run.
    from outfitter.helm.validation import Settings

    return Settings(helm_bin, charts, offline)


@app.command(short_help="Check a Flux tree before Flux does (offline, or --server).")
def validate(
    path: Annotated[Path, typer.Argument(help="a Flux repository, a folder in it, or a file")],
    strict: Annotated[bool, typer.Option(
        "--strict/--no-strict", help="fields a schema does not define are errors")] = True,
    schemas: Annotated[list[Path] | None, typer.Option(
        "--schemas", help="extra CRD folder or file (repeatable)")] = None,
    charts: Annotated[Path | None, typer.Option(
        "--charts", help="local charts: folders (Chart.yaml + values.yaml) to check "
        "HelmRelease values against; with --helm also packed .tgz files to template",
        file_okay=False)] = None,
    kubernetes_version: Annotated[str | None, typer.Option(
        "--kubernetes-version", help="schemas of this Kubernetes version (default: the "
        "cluster's with --kubeconfig, else the newest installed)")] = None,
    known_namespaces: Annotated[list[str] | None, typer.Option(
        "--known-namespace", help="a namespace that exists on the cluster though the tree "
        "does not create it (repeatable)")] = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    request_timeout: RequestTimeoutOpt = 15.0,
    server: Annotated[bool, typer.Option(
        "--server", help="also send every object to the cluster as a server-side dry-run "
        "apply")] = False,
    helm: Annotated[bool, typer.Option(
        "--helm", help="template every HelmRelease with helm and check the output like "
        "the tree's own manifests")] = False,
    helm_bin: Annotated[str | None, typer.Option(
        "--helm-bin", help="the helm to run (default: helm on PATH)")] = None,
    offline: Annotated[bool, typer.Option(
        "--offline", help="with --helm: never pull a chart; say which one is missing")] = False,
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
    connected = _cluster(kubeconfig, context, server, request_timeout)
    request = Request(path=path, strict=strict, schemas=schemas or [], charts=charts,
                      kubernetes_version=kubernetes_version,
                      known_namespaces=known_namespaces or [], server=server,
                      helm=_helm_settings(helm_bin, charts, offline) if helm else None,
                      profile=profile, source=source, start=start, source_dirs=mapped)
    show = not as_json_ and sarif is None and sys.stderr.isatty()
    with Progress(err_console() if show else None) as progress:
        if connected is None:
            report = run(request, None, progress=progress.update)
        else:
            from outfitter.cluster.errors import translate

            live, conn = connected
            try:
                report = run(request, live, progress=progress.update)
            except Exception as err:  # the cluster failing mid-run: one line, exit 2
                known = translate(err, conn.server, request_timeout)
                if known is None:
                    raise
                raise known from None
            finally:
                conn.close()
    if sarif is not None:
        write_keeping(sarif, (json.dumps(as_sarif(report), indent=2) + "\n").encode())
    if as_json_:
        sys.stdout.write(json.dumps(as_json(report), indent=2) + "\n")
    else:
        print_report(report, out_console())
    raise typer.Exit(report.exit_code)
