"""`outfitter logs compare`: Loki's estimated footprint against the measured Graylog stack."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from outfitter.cli.app import (
    ContextOpt,
    JsonOpt,
    KubeconfigOpt,
    ProfileOpt,
    RequestTimeoutOpt,
    UsageProblem,
    app,
    out_console,
    profile_from,
)
from outfitter.cli.cluster import cluster_session
from outfitter.errors import ExitStatus
from outfitter.ops import logs_compare as ops

logs_app = typer.Typer(help="Logs: Loki against the Graylog the cluster runs.",
                       no_args_is_help=True)
app.add_typer(logs_app, name="logs")


def _parse_at(value: str | None) -> float:
    if value is None:
        return time.time()
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise UsageProblem([f"--at {value!r}: RFC 3339 time or Unix seconds"]) from None


def _parse_pods(items: list[str]) -> dict[str, str]:
    pods = dict(ops.DEFAULT_PODS)
    for item in items:
        name, sep, regex = item.partition("=")
        if not sep or name not in ops.COMPONENTS or not regex:
            raise UsageProblem([f"--pods {item!r}: COMPONENT=REGEX with COMPONENT one of "
                                f"{', '.join(ops.COMPONENTS)}"])
        pods[name] = regex
    return pods


@logs_app.command("compare")
def compare(
    prometheus: Annotated[str | None, typer.Option(
        "--prometheus", help="Prometheus URL (default: the profile's monitoring.prometheusURL "
                             "through the API server's service proxy)")] = None,
    window: Annotated[str, typer.Option(help="how far back to look (Prometheus duration)")]
    = "7d",
    at: Annotated[str | None, typer.Option(
        help="end of the window: RFC 3339 or Unix seconds (default: now)")] = None,
    namespace: Annotated[str, typer.Option(
        help="namespaces of Graylog, OpenSearch and MongoDB (regex)")]
    = ops.DEFAULT_NAMESPACES,
    pods: Annotated[list[str] | None, typer.Option(
        help="COMPONENT=REGEX to match a component's pods (graylog, opensearch, mongodb)")]
    = None,
    shipper_output: Annotated[str, typer.Option(
        help="Fluent Bit output(s) that send to Graylog (regex on the metric's name label)")]
    = ops.DEFAULT_OUTPUT,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    request_timeout: RequestTimeoutOpt = 30.0,
) -> None:
    """Measure Graylog/OpenSearch/MongoDB and the log ingest; estimate Loki; recommend.
    Exit 0 done, 1 insufficient data, 2 bad input or Prometheus unreachable."""
    the_profile = profile_from(profile)
    query = ops.Query(window=window, at=_parse_at(at), namespaces=namespace,
                      pods=_parse_pods(pods or []), output=shipper_output)
    if prometheus is not None:
        result = ops.compare(ops.direct(prometheus), query, the_profile)
    else:
        ops.service_proxy_path(the_profile.monitoring.prometheus_url)  # checked before connecting
        with cluster_session(kubeconfig, context, request_timeout) as conn:
            prom = ops.via_api_server(the_profile.monitoring.prometheus_url, conn)
            result = ops.compare(prom, query, the_profile)
    if as_json:
        sys.stdout.write(json.dumps(result.to_json(), indent=2) + "\n")
    else:
        _print(result, out_console())
    if result.verdict == "insufficient data":
        raise typer.Exit(ExitStatus.FINDINGS)


def _print(c: ops.Comparison, console: Console) -> None:
    when = datetime.fromtimestamp(c.at).astimezone().isoformat(timespec="seconds")
    table = Table(title=f"Graylog vs Loki over {c.window} to {when} ({c.source})",
                  title_justify="left")
    for column in ("", "CPU avg", "CPU peak", "memory avg", "memory peak", "storage", ""):
        table.add_column(column, overflow="fold")
    for row in ops.rows(c):
        table.add_row(*row)
    console.print(table)
    i = c.ingest
    if i.bytes_avg is not None:
        records = f", {i.records_avg:.0f} records/s" if i.records_avg is not None else ""
        console.print(
            f"Shipper → Graylog: {ops.fmt_bytes(i.bytes_avg)}/s on average (peak "
            f"{ops.fmt_bytes(i.bytes_peak)}/s), {(i.per_day or 0) / 1e9:.2f} GB/day{records}; "
            f"Loki retention {c.retention}")
    console.print(f"\n[bold]Recommendation: {c.verdict}[/]")
    for reason in c.reasons:
        console.print(f"  - {reason}", soft_wrap=True)
    if c.retention_note:
        console.print(f"[yellow]note[/]: {c.retention_note}")
    for missing in c.missing:
        console.print(f"[yellow]missing[/]: {missing}", soft_wrap=True)
    console.print("\nAssumptions:")
    for item in c.assumptions:
        console.print(f"  - {item}", soft_wrap=True)
