"""Schemas of Kubernetes' built-in kinds, for a chosen Kubernetes version.

They come from the `kubernetes-validate` package, which ships the JSON schemas generated from
each release's OpenAPI document (v1.25 onwards, plain and strict), in the layout kubeconform
reads. Only its data is used: `_definitions.json` holds every definition with its
`x-kubernetes-group-version-kind`, so a kind is found by its exact group, version and kind —
a custom resource whose kind happens to be `Ingress` is never checked against the built-in
one. The package is released with each Kubernetes minor version, so offline validation needs
no download and no cache.

Validation runs in jsonschema-rs (compiled once per kind): a schema pass over thousands of
manifests costs about what parsing them does.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import jsonschema_rs

from outfitter.files import write_keeping
from outfitter.validate.crd_schema import Key, SchemaProblem, problems_of

_BASE = "https://schemas.outfitter.local/kubernetes/_definitions.json"
_PACKAGE = "kubernetes_validate"


class VersionUnavailable(Exception):
    pass


def _package_root() -> Path | None:
    # Found, not imported: the package's own module imports jsonschema (a fifth of a
    # second of start-up); only its schema files are read.
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "kubernetes-json-schema"
        if path.is_dir():
            return path
    return None


def _minor(version: str) -> tuple[int, int]:
    match = re.match(r"v?(\d+)\.(\d+)", version)
    if not match:
        raise VersionUnavailable(f"not a Kubernetes version: {version!r} (expected e.g. 1.36)")
    return int(match.group(1)), int(match.group(2))


def available_versions() -> list[str]:
    """Versions the package has schemas for, as "1.36"."""
    found: set[tuple[int, int]] = set()
    root = _package_root()
    if root is not None:
        for child in root.iterdir():
            if child.name.endswith("-local") and child.name.startswith("v"):
                found.add(_minor(child.name))
    return [f"{a}.{b}" for a, b in sorted(found)]


def schema_folder(version: str, strict: bool) -> Path:
    """The package's folder with `_definitions.json` for a version (strict or not)."""
    want = _minor(version)
    root = _package_root()
    if root is not None:
        suffix = "-local-strict" if strict else "-local"
        for child in sorted(root.iterdir()):
            if child.name.endswith(suffix) and _minor(child.name) == want:
                return child
    raise VersionUnavailable(
        f"no schemas for Kubernetes {version}: have {', '.join(available_versions()) or 'none'}"
        f" (the kubernetes-validate package ships them)")


class BuiltinSchemas:
    """Built-in kinds by (group, version, kind): the definitions read on first use (a run
    that checks no built-in kind never reads them), each kind compiled on first use."""

    def __init__(self, folder: Path, strict: bool = True, cache: Path | None = None) -> None:
        self.folder = folder
        self.strict = strict
        self.cache = cache  # a folder for the definitions without descriptions; None: none
        self._loaded: tuple[dict[Key, str], jsonschema_rs.Registry, str] | None = None
        self._compiled: dict[Key, jsonschema_rs.Validator] = {}

    def _load(self) -> tuple[dict[Key, str], jsonschema_rs.Registry, str]:
        if self._loaded is None:
            definitions = _definitions(self.folder / "_definitions.json", self.cache)
            defs_key = "$defs" if "$defs" in definitions else "definitions"
            names: dict[Key, str] = {}
            for name, schema in (definitions.get(defs_key) or {}).items():
                for gvk in schema.get("x-kubernetes-group-version-kind") or []:
                    key = (gvk.get("group", ""), gvk.get("version", ""), gvk.get("kind", ""))
                    names.setdefault(key, name)
            self._loaded = (names, jsonschema_rs.Registry([(_BASE, definitions)]), defs_key)
        return self._loaded

    @property
    def _names(self) -> dict[Key, str]:
        return self._load()[0]

    @property
    def defs_key(self) -> str:
        return self._load()[2]

    def knows(self, key: Key) -> bool:
        return key in self._names

    def kinds(self) -> list[Key]:
        return sorted(self._names)

    def definition_name(self, key: Key) -> str | None:
        return self._names.get(key)

    def validator(self, key: Key) -> jsonschema_rs.Validator | None:
        found = self._compiled.get(key)
        if found is not None:
            return found
        name = self._names.get(key)
        if name is None:
            return None
        schema = {"$ref": f"{_BASE}#/{self.defs_key}/{name}"}
        compiled = jsonschema_rs.Draft7Validator(
            schema, registry=self._load()[1], validate_formats=False)
        self._compiled[key] = compiled
        return compiled

    def validate(self, obj: dict[str, Any], key: Key) -> list[SchemaProblem] | None:
        validator = self.validator(key)
        if validator is None:
            return None
        return problems_of(validator, obj)


def schemas_for(version: str, strict: bool, cache: Path | None = None) -> BuiltinSchemas:
    """The version's built-in schemas; with `cache` (a folder), their definitions are kept
    there without descriptions, which the next run reads in a fraction of the time."""
    return BuiltinSchemas(schema_folder(version, strict), strict, cache)


# The definitions file is 1.6 MB, most of it descriptions: parsing it and handing it to
# jsonschema-rs was a sixth of a small run. Descriptions are annotations (they never change
# a verdict or a message), so the cached copy leaves them out.
_CACHE_FORMAT = "outfitter-k8s-definitions/1"


def _definitions(path: Path, cache: Path | None) -> dict[str, Any]:
    if cache is None:
        loaded: dict[str, Any] = json.loads(path.read_text())
        return loaded
    stat = path.stat()
    key = [_CACHE_FORMAT, str(path.resolve()), stat.st_size, stat.st_mtime_ns]
    kept = cache / f"k8s-{hashlib.blake2b(str(key).encode(), digest_size=12).hexdigest()}.json"
    try:
        stored = json.loads(kept.read_text())
        if isinstance(stored, dict) and stored.get("key") == key:
            definitions: dict[str, Any] = stored["definitions"]
            return definitions
    except (OSError, ValueError, KeyError):
        pass  # missing, unreadable or another format: made again
    definitions = _without_descriptions(json.loads(path.read_text()))
    with contextlib.suppress(OSError):  # a cache that cannot be written is only slower
        write_keeping(kept, json.dumps({"key": key, "definitions": definitions},
                                       separators=(",", ":")).encode())
    return definitions


def _without_descriptions(node: Any) -> Any:
    """The schema without its `description` annotations (a property named `description`
    is a schema, not a string, and stays)."""
    if isinstance(node, dict):
        return {k: _without_descriptions(v) for k, v in node.items()
                if not (k == "description" and isinstance(v, str))}
    if isinstance(node, list):
        return [_without_descriptions(v) for v in node]
    return node
