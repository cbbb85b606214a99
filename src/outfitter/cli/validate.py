"""`outfitter validate PATH`: parse the options, run validate, print the report."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from outfitter.cli.app import ContextOpt, JsonOpt, KubeconfigOpt, UsageProblem, app, out_console
from outfitter.helm.validation import Settings
from outfitter.render.writer import atomic_write
from outfitter.validate.output import as_json, as_sarif, print_report
from outfitter.validate.run import LiveLike, Request, run


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
    cluster = _cluster(kubeconfig, context, server)
    request = Request(path=path, strict=strict, schemas=schemas or [], charts=charts,
                      kubernetes_version=kubernetes_version,
                      known_namespaces=known_namespaces or [], server=server,
                      helm=Settings(helm_bin, charts, offline) if helm else None)
    report = run(request, cluster)
    if sarif is not None:
        atomic_write(sarif, (json.dumps(as_sarif(report), indent=2) + "\n").encode())
    if as_json_:
        sys.stdout.write(json.dumps(as_json(report), indent=2) + "\n")
    else:
        print_report(report, out_console())
    raise typer.Exit(report.exit_code)
