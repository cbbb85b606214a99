"""HelmRelease values against the chart, when the chart is in a local chart folder.

The chart comes from `spec.chart.spec` (name and version) or from the OCIRepository /
HelmChart that `spec.chartRef` names (name from its URL, version from its tag or semver).
Keys the chart does not define are Helm-ignored (a warning: it silently does nothing);
values that fail the chart's values.schema.json make Helm refuse the release (an error).
Only `spec.values` is checked: `valuesFrom` content may live outside the tree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from outfitter.validate.chart_values import ChartFolder, ChartLibrary, merged, unknown_keys

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class ChartSpec:
    name: str
    version: str | None


@dataclass(frozen=True)
class ValuesProblem:
    rule: str
    message: str
    path: Path_


def chart_of(spec: dict[str, Any], sources: dict[tuple[str, str, str], ChartSpec],
             namespace: str) -> ChartSpec | None:
    chart = spec.get("chart")
    if isinstance(chart, dict) and isinstance(chart.get("spec"), dict):
        inner = chart["spec"]
        if inner.get("chart"):
            version = inner.get("version")
            # A chart path in a Git source (./charts/web) is found by its folder's name.
            name = str(inner["chart"]).rstrip("/").rsplit("/", 1)[-1]
            return ChartSpec(name, None if version is None else str(version))
    ref = spec.get("chartRef")
    if isinstance(ref, dict) and ref.get("name"):
        key = (str(ref.get("kind") or "OCIRepository"), str(ref.get("namespace") or namespace),
               str(ref["name"]))
        return sources.get(key)
    return None


def check_values(values: Any, chart: ChartFolder, library: ChartLibrary) -> list[ValuesProblem]:
    if values is None:
        values = {}
    if not isinstance(values, dict):
        return [ValuesProblem("values-schema", "spec.values is not a map", ("spec", "values"))]
    defaults = dict(chart.defaults)
    free: set[str] = set()
    for key in library.dependency_keys(chart):
        sub = library.find(key)
        if sub is not None and key != "global":
            defaults[key] = merged(sub.defaults, defaults.get(key) or {})
        elif key != "global" or not isinstance(defaults.get(key), dict):
            # A subchart not in the library: the parent's defaults under its key are a few
            # overrides, not the subchart's values, so its keys cannot be judged here.
            free.add(key)
    checked = {k: v for k, v in values.items() if k not in free}
    problems = []
    for key in unknown_keys(checked, defaults):
        if chart.documented_in_comments(key):
            continue
        problems.append(ValuesProblem(
            "values-unknown-key",
            f"values.{key}: chart {chart.name} {chart.version} has no such value; Helm "
            f"ignores it", ("spec", "values", *key.split("."))))
    for error in chart.schema_errors(values):
        where, _, message = error.partition(": ")
        path: Path_ = () if where == "(root)" else tuple(
            int(p) if p.isdigit() else p for p in where.split("."))
        problems.append(ValuesProblem(
            "values-schema", f"values.{where}: {message} (chart {chart.name} "
            f"{chart.version} values.schema.json)", ("spec", "values", *path)))
    return problems
