"""A validation report for people (Rich, grouped by file), for machines (JSON) and for
code-scanning tools (SARIF 2.1.0)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from outfitter import __version__
from outfitter.validate.findings import RULES, Report

_STYLE = {"error": "red", "warning": "yellow", "info": "dim"}
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def summary(report: Report) -> dict[str, Any]:
    return {
        "files": report.files, "objects": report.objects,
        "validated_against_schema": report.validated,
        "errors": report.count("error"), "warnings": report.count("warning"),
        "info": report.count("info"), "exit_code": report.exit_code,
        "kubernetes_version": report.kubernetes_version or None,
        "schemas": report.schema_source or None,
    }


def as_json(report: Report) -> dict[str, Any]:
    return {"root": report.root, "summary": summary(report),
            "findings": [f.as_json() for f in report.sorted()]}


def print_report(report: Report, console: Console) -> None:
    findings = report.sorted()
    current = None
    table: Table | None = None
    for finding in findings:
        if finding.file != current:
            if table is not None:
                console.print(table)
            current = finding.file
            console.print(f"\n[bold]{escape(finding.file)}[/]")
            table = Table(show_header=False, box=None, padding=(0, 1), pad_edge=False)
            table.add_column("line", justify="right", style="dim", no_wrap=True)
            table.add_column("severity", no_wrap=True)
            table.add_column("rule", style="cyan", no_wrap=True)
            table.add_column("message", overflow="fold")
        assert table is not None
        style = _STYLE[finding.severity]
        subject = f"{escape(finding.subject)}: " if finding.subject else ""
        table.add_row(str(finding.line or ""), f"[{style}]{finding.severity}[/]",
                      finding.rule, subject + escape(finding.message))
    if table is not None:
        console.print(table)
    counts = Counter(f.severity for f in findings)
    verdict = "[green]clean[/]" if report.exit_code == 0 else (
        "[red]input errors[/]" if report.exit_code == 2 else "[red]findings[/]")
    console.print(
        f"\n{verdict}: {report.files} files, {report.objects} objects "
        f"({report.validated} checked against a schema"
        + (f", Kubernetes {report.kubernetes_version}" if report.kubernetes_version else "")
        + f"); {counts['error']} errors, {counts['warning']} warnings, {counts['info']} notes")


def as_sarif(report: Report) -> dict[str, Any]:
    used = sorted({f.rule for f in report.findings})
    rules = [{"id": rid, "shortDescription": {"text": RULES[rid].summary},
              "help": {"text": f"{RULES[rid].summary}. The rules are listed in outfitter's "
                               f"docs/validate-rules.md (#{rid})."},
              "defaultConfiguration": {"level": _SARIF_LEVEL[RULES[rid].severity]}}
             for rid in used]
    index = {rid: i for i, rid in enumerate(used)}
    results = []
    for f in report.sorted():
        region = {"startLine": f.line} if f.line else {}
        location: dict[str, Any] = {"physicalLocation": {
            "artifactLocation": {"uri": f.file, "uriBaseId": "ROOT"}}}
        if region:
            location["physicalLocation"]["region"] = region
        results.append({
            "ruleId": f.rule, "ruleIndex": index[f.rule], "level": _SARIF_LEVEL[f.severity],
            "message": {"text": (f"{f.subject}: " if f.subject else "") + f.message},
            "locations": [location],
        })
    return {
        "$schema": SARIF_SCHEMA, "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "outfitter", "version": __version__, "rules": rules}},
            "originalUriBaseIds": {"ROOT": {"uri": _root_uri(report.root)}},
            "results": results,
        }],
    }


def _root_uri(root: str) -> str:
    path = Path(root).resolve()
    if path.is_file():
        path = path.parent
    return path.as_uri() + "/"
