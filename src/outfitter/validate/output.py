"""A validation report for people (Rich, grouped by file), for machines (JSON) and for
code-scanning tools (SARIF 2.1.0)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from outfitter import __version__
from outfitter.validate.findings import RULES, Finding, Report

if TYPE_CHECKING:
    # Rich is imported by print_report alone: JSON and SARIF runs do not pay its start-up.
    from rich.console import Console

_STYLE = {"error": "red", "warning": "yellow", "info": "dim"}
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def summary(report: Report) -> dict[str, Any]:
    return {
        "files": report.files, "objects": report.objects,
        "validated_against_schema": report.validated,
        "errors": report.count("error"), "warnings": report.count("warning"),
        "info": report.count("info"), "exit_code": report.exit_code,
        "by_rule": {rule: n for _, rule, n in by_rule(report)},
        "kubernetes_version": report.kubernetes_version or None,
        "schemas": report.schema_source or None,
    }


def as_json(report: Report) -> dict[str, Any]:
    return {"root": report.root, "summary": summary(report),
            "findings": [f.as_json() for f in report.sorted()]}


def collapsed(findings: list[Finding]) -> list[tuple[Finding, list[Finding]]]:
    """Identical findings (same rule and message, e.g. one per Flux Kustomization naming
    the same missing Secret) as one, with the others it stands for."""
    groups: dict[tuple[str, str], tuple[Finding, list[Finding]]] = {}
    for finding in findings:
        key = (finding.rule, finding.message)
        if key in groups:
            groups[key][1].append(finding)
        else:
            groups[key] = (finding, [])
    return list(groups.values())


def by_rule(report: Report) -> list[tuple[str, str, int]]:
    """(severity, rule, count), errors first."""
    counts = Counter((f.severity, f.rule) for f in report.findings)
    order = {"error": 0, "warning": 1, "info": 2}
    return sorted(((sev, rule, n) for (sev, rule), n in counts.items()),
                  key=lambda t: (order[t[0]], t[1]))


def print_report(report: Report, console: Console) -> None:
    """Summary first (the verdict, counts by rule), then the findings by file; identical
    findings once, with a count."""
    from rich.markup import escape
    from rich.table import Table

    findings = report.sorted()
    counts = Counter(f.severity for f in findings)
    verdict = "[green]clean[/]" if report.exit_code == 0 else (
        "[red]input errors[/]" if report.exit_code == 2 else "[red]findings[/]")
    console.print(
        f"{verdict}: {report.files} files, {report.objects} objects "
        f"({report.validated} checked against a schema"
        + (f", Kubernetes {report.kubernetes_version}" if report.kubernetes_version else "")
        + f"); {counts['error']} errors, {counts['warning']} warnings, {counts['info']} notes")
    if findings:
        summary_table = Table(show_header=False, box=None, padding=(0, 1), pad_edge=False)
        summary_table.add_column("count", justify="right", no_wrap=True)
        summary_table.add_column("severity", no_wrap=True)
        summary_table.add_column("rule", style="cyan", no_wrap=True)
        for severity, rule, n in by_rule(report):
            summary_table.add_row(str(n), f"[{_STYLE[severity]}]{severity}[/]", rule)
        console.print(summary_table)
    current = None
    table: Table | None = None
    for finding, others in collapsed(findings):
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
        applied = f" [dim](applied by {escape(finding.applied_by)})[/]" \
            if finding.applied_by else ""
        more = ""
        if others:
            places = [f"{o.file}:{o.line}" if o.line else o.file for o in others]
            shown = ", ".join(places[:3]) + (", …" if len(places) > 3 else "")
            more = f" [bold]×{len(others) + 1}[/] [dim](also {escape(shown)})[/]"
        table.add_row(str(finding.line or ""), f"[{style}]{finding.severity}[/]",
                      finding.rule, subject + escape(finding.message) + applied + more)
    if table is not None:
        console.print(table)


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
