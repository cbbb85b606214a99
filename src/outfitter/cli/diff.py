"""`outfitter diff [BASE] [HEAD]`: what a change does, rendered; exit 0 none, 1 changes."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from outfitter.cli.app import JsonOpt, UsageProblem, app, out_console
from outfitter.diff.build import build
from outfitter.diff.compare import compare
from outfitter.diff.output import as_json, as_markdown, print_diff
from outfitter.diff.sides import checked_out, resolve, toplevel
from outfitter.helm.template import HelmMissing, RenderedObject
from outfitter.helm.validation import Settings


@app.command(short_help="What a change does to the cluster, rendered (git refs).")
def diff(
    base: Annotated[str | None, typer.Argument(
        help="git ref (default: the merge-base of HEAD with the default branch)")] = None,
    head: Annotated[str | None, typer.Argument(
        help="git ref (default: the working tree, uncommitted changes included)")] = None,
    repo: Annotated[Path, typer.Option(
        "--repo", help="the Git repository (default: the current folder's)",
        file_okay=False)] = Path("."),
    charts: Annotated[Path | None, typer.Option(
        "--charts", help="local charts (packed .tgz or folders) before the cache",
        file_okay=False)] = None,
    helm_bin: Annotated[str | None, typer.Option(
        "--helm-bin", help="the helm to run (default: helm on PATH)")] = None,
    offline: Annotated[bool, typer.Option(
        "--offline", help="never pull a chart; say which one is missing")] = False,
    no_helm: Annotated[bool, typer.Option(
        "--no-helm", help="compare the Flux builds only, HelmReleases not templated")] = False,
    kubernetes_version: Annotated[str | None, typer.Option(
        "--kubernetes-version", help="`.Capabilities.KubeVersion` for the charts")] = None,
    as_json_: JsonOpt = False,
    markdown: Annotated[bool, typer.Option(
        "--markdown", help="Markdown for a pull-request comment")] = False,
) -> None:
    """Build BASE and HEAD as Flux would (kustomize builds, HelmReleases templated by helm)
    and print what changes per Flux Kustomization and HelmRelease, object by object and
    field by field; Secret values are masked. Exit 0 no change, 1 changes, 2 bad input."""
    if as_json_ and markdown:
        raise UsageProblem(["--json and --markdown: choose one"])
    root = toplevel(repo)
    base_side, head_side = resolve(root, base, head)
    settings = Settings(helm_bin, charts, offline)
    if charts is not None and not charts.is_dir():
        raise UsageProblem([f"--charts {charts}: not a directory"])
    built = {}
    memo: dict[str, list[RenderedObject]] = {}
    try:
        for label, side in (("base", base_side), ("head", head_side)):
            with checked_out(root, side) as folder:
                built[label] = build(folder, settings, helm=not no_helm,
                                     kube_version=kubernetes_version, memo=memo)
    except HelmMissing as err:
        raise UsageProblem([f"{err} (or --no-helm)"]) from None
    changes = compare(built["base"], built["head"])
    problems = {label: side.problems for label, side in built.items() if side.problems}
    if as_json_:
        sys.stdout.write(json.dumps(as_json(changes, base_side, head_side, problems),
                                    indent=2) + "\n")
    elif markdown:
        sys.stdout.write(as_markdown(changes, base_side, head_side, problems))
    else:
        print_diff(changes, base_side, head_side, problems, out_console())
    raise typer.Exit(1 if changes else 0)
