"""`outfitter validate PATH`: parse the options, run validate, print the report."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from outfitter.cli.app import (
    ContextOpt,
    JsonOpt,
    KubeconfigOpt,
    RequestTimeoutOpt,
    app,
    out_console,
)
from outfitter.files import write_keeping
from outfitter.helm.validation import Settings
from outfitter.validate.output import as_json, as_sarif, print_report
from outfitter.validate.run import LiveLike, Request, run


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
) -> None:
    """Check a Flux tree before Flux does: schemas, kustomize builds, references, HelmRelease
    values, security lint; with --server, the API server's own verdict. Exit 0 clean,
    1 findings, 2 unusable input."""
    connected = _cluster(kubeconfig, context, server, request_timeout)
    request = Request(path=path, strict=strict, schemas=schemas or [], charts=charts,
                      kubernetes_version=kubernetes_version,
                      known_namespaces=known_namespaces or [], server=server,
                      helm=Settings(helm_bin, charts, offline) if helm else None)
    if connected is None:
        report = run(request, None)
    else:
        from outfitter.cluster.errors import translate

        live, conn = connected
        try:
            report = run(request, live)
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
