"""HelmRelease values against a chart's own values.yaml and values.schema.json.

A key is known when the chart's values.yaml defines it. Below a key whose default is an empty
map or null (`resources: {}`, `podAnnotations: {}`, `nodeSelector: ~`), anything goes: the
chart passes that subtree through to Kubernetes. Keys a chart documents only in commented
examples are accepted when listed explicitly, and a test keeps such lists honest.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from outfitter import yamlio

# Keys whose subtree is a Kubernetes type the chart passes through: the chart's defaults there
# are an example, not the list of allowed fields.
KUBERNETES_PASSTHROUGH = frozenset({
    "resources", "affinity", "nodeSelector", "tolerations", "securityContext",
    "podSecurityContext", "containerSecurityContext", "annotations", "labels",
    "podAnnotations", "podLabels",
})


def unknown_keys(
    values: Any, defaults: Any, documented: tuple[str, ...] = (), prefix: str = ""
) -> list[str]:
    if not isinstance(values, dict):
        return []
    out = []
    for key, value in values.items():
        path = f"{prefix}{key}"
        if path in documented:
            continue
        if not isinstance(defaults, dict):
            continue
        if key not in defaults:
            if defaults:  # an empty default map is free-form
                out.append(path)
            continue
        default = defaults[key]
        if key in KUBERNETES_PASSTHROUGH:
            continue
        if isinstance(value, dict) and isinstance(default, dict) and default:
            out += unknown_keys(value, default, documented, f"{path}.")
    return out


def merged(defaults: Any, values: Any) -> Any:
    """Helm's coalescing of user values over chart defaults (maps merge, the rest replaces)."""
    if isinstance(defaults, dict) and isinstance(values, dict):
        out = dict(defaults)
        for k, v in values.items():
            out[k] = merged(defaults.get(k), v) if k in defaults else v
        return out
    return values


class ChartFolder:
    """A chart's values.yaml and (optional) values.schema.json on disk."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.defaults: dict[str, Any] = yamlio.load((folder / "values.yaml").read_text()) or {}
        schema_file = folder / "values.schema.json"
        self.schema = json.loads(schema_file.read_text()) if schema_file.exists() else None
        meta = yamlio.load((folder / "Chart.yaml").read_text())
        self.name: str = meta.get("name", "")
        self.version: str = str(meta.get("version", ""))
        self.deprecated: bool = bool(meta.get("deprecated", False))

    def unknown_keys(
        self, values: dict[str, Any], documented: tuple[str, ...] = ()
    ) -> list[str]:
        return unknown_keys(values, self.defaults, documented)

    def schema_errors(self, values: dict[str, Any]) -> list[str]:
        if self.schema is None:
            return []
        import jsonschema  # here: a tenth of a second of start-up most runs do not need

        with warnings.catch_warnings():
            # An unknown $schema draft makes jsonschema warn; such schemas are draft-7 in practice.
            warnings.simplefilter("error", DeprecationWarning)
            try:
                cls = jsonschema.validators.validator_for(self.schema)
            except DeprecationWarning:
                cls = jsonschema.Draft7Validator
        validator = cls(self.schema)
        return [f"{'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
                for e in validator.iter_errors(merged(self.defaults, values))]

    def documented_in_comments(self, path: str) -> bool:
        """The leaf key of `path` appears as a commented-out key in values.yaml."""
        leaf = path.rsplit(".", 1)[-1]
        text = (self.folder / "values.yaml").read_text()
        return any(line.strip().lstrip("#").strip().startswith(f"{leaf}:")
                   for line in text.splitlines() if line.strip().startswith("#"))


class ChartLibrary:
    """Local chart folders (`--charts DIR`): each sub-folder with a Chart.yaml is a chart.

    A chart is found by its name (Chart.yaml `name`, else the folder's name) and, when several
    folders hold the same chart, by the pinned version. Folders are read once.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._by_name: dict[str, list[Path]] = {}
        for child in sorted(root.iterdir()) if root.is_dir() else []:
            meta_file = child / "Chart.yaml"
            if not (meta_file.is_file() and (child / "values.yaml").is_file()):
                continue
            try:
                meta = yamlio.load(meta_file.read_text()) or {}
            except Exception:  # a broken Chart.yaml: the folder is not a chart
                continue
            name = str(meta.get("name") or child.name)
            self._by_name.setdefault(name, []).append(child)
            if child.name != name:
                self._by_name.setdefault(child.name, []).append(child)
        self._loaded: dict[Path, ChartFolder] = {}

    def find(self, name: str, version: str | None = None) -> ChartFolder | None:
        folders = self._by_name.get(name) or []
        charts = [self._load(f) for f in folders]
        named = [c for c in charts if c.name == name] or charts
        if version:
            exact = [c for c in named if c.version.lstrip("v") == str(version).lstrip("v")]
            if exact:
                return exact[0]
        return named[0] if named else None

    def _load(self, folder: Path) -> ChartFolder:
        if folder not in self._loaded:
            self._loaded[folder] = ChartFolder(folder)
        return self._loaded[folder]

    def dependency_keys(self, chart: ChartFolder) -> set[str]:
        """Values keys of the chart's subcharts (their name or alias), and `global`."""
        meta = yamlio.load((chart.folder / "Chart.yaml").read_text()) or {}
        keys = {"global"}
        for dep in meta.get("dependencies") or []:
            if isinstance(dep, dict):
                keys.add(str(dep.get("alias") or dep.get("name")))
        return keys
