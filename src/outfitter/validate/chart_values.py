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

import jsonschema

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
