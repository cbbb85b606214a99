"""Helpers for validate's tests: a tree written from a dict, validated in-process."""

from __future__ import annotations

import textwrap
from functools import cache
from pathlib import Path

from outfitter.validate.chart_values import ChartLibrary
from outfitter.validate.crd_schema import CrdIndex
from outfitter.validate.engine import Options, validate
from outfitter.validate.findings import Finding, Report
from outfitter.validate.k8s_schema import BuiltinSchemas, schemas_for

K8S_VERSION = "1.36"


@cache
def builtin(strict: bool = True) -> BuiltinSchemas:
    return schemas_for(K8S_VERSION, strict)


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


def run(root: Path, strict: bool = True, crds: list[Path] | None = None,
        charts: Path | None = None, **kw: object) -> Report:
    index = CrdIndex(strict=strict)
    for path in crds or []:
        index.add_path(path)
    options = Options(strict=strict, builtin=builtin(strict), crds=index,
                      charts=ChartLibrary(charts) if charts else None, **kw)  # type: ignore[arg-type]
    return validate(root, options)


def hits(report: Report, rule: str) -> list[Finding]:
    return [f for f in report.sorted() if f.rule == rule]


def where(report: Report, rule: str) -> list[tuple[str, int | None]]:
    return [(f.file, f.line) for f in hits(report, rule)]
