"""Custom resources against the openAPIV3Schema of their CRDs.

The CRD schema is turned into JSON Schema once per kind and version and compiled once.
Strict by default: where a schema lists `properties` and neither allows additional ones nor
sets `x-kubernetes-preserve-unknown-fields`, an unknown field is an error (the API server
would silently prune it, which is how typos go unnoticed). CEL rules
(`x-kubernetes-validations`) are left to the server (`--server` dry-run).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from outfitter import yamlio

Key = tuple[str, str, str]  # (group, version, kind)


def to_json_schema(node: Any, strict: bool = True) -> Any:
    if isinstance(node, list):
        return [to_json_schema(n, strict) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "patternProperties", "definitions"):
            out[key] = {k: to_json_schema(v, strict) for k, v in value.items()}
        elif key.startswith("x-kubernetes-") or key in ("nullable", "description", "example"):
            continue
        else:
            out[key] = to_json_schema(value, strict)
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"] if isinstance(out["type"], str) else out["type"]
    preserve = node.get("x-kubernetes-preserve-unknown-fields")
    if strict and "properties" in node and "additionalProperties" not in node and not preserve:
        out["additionalProperties"] = False
    return out


@dataclass(frozen=True)
class SchemaProblem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class CrdIndex:
    """Schemas by (group, version, kind), from CRD documents."""

    def __init__(self, strict: bool = True) -> None:
        self.strict = strict
        self._raw: dict[Key, dict[str, Any]] = {}
        self._compiled: dict[Key, jsonschema.protocols.Validator] = {}
        self.scope: dict[tuple[str, str], str] = {}

    def add_crd(self, crd: dict[str, Any]) -> None:
        spec = crd.get("spec") or {}
        group, kind = spec.get("group", ""), (spec.get("names") or {}).get("kind", "")
        self.scope[(group, kind)] = spec.get("scope", "Namespaced")
        for version in spec.get("versions") or []:
            schema = (version.get("schema") or {}).get("openAPIV3Schema")
            if schema and version.get("served", True):
                self._raw[(group, version["name"], kind)] = schema

    def add_documents(self, docs: Iterable[Any]) -> None:
        for doc in docs:
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                self.add_crd(doc)

    def add_path(self, path: Path) -> None:
        files = sorted(path.rglob("*.yaml")) + sorted(path.rglob("*.yml")) \
            if path.is_dir() else [path]
        for f in files:
            self.add_documents(yamlio.load_all(f.read_text()))

    def knows(self, api_version: str, kind: str) -> bool:
        return _key(api_version, kind) in self._raw

    def __len__(self) -> int:
        return len(self._raw)

    def validator(self, key: Key) -> jsonschema.protocols.Validator | None:
        if key not in self._compiled:
            raw = self._raw.get(key)
            if raw is None:
                return None
            schema = to_json_schema(raw, self.strict)
            self._compiled[key] = jsonschema.Draft7Validator(schema)
        return self._compiled[key]

    def validate(self, obj: dict[str, Any]) -> list[SchemaProblem] | None:
        """Problems with obj, or None when no CRD here defines its kind."""
        validator = self.validator(_key(str(obj.get("apiVersion", "")), str(obj.get("kind", ""))))
        if validator is None:
            return None
        problems = []
        for err in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.path))):
            problems.append(SchemaProblem(".".join(str(p) for p in err.absolute_path),
                                          _message(err)))
        return problems


def _key(api_version: str, kind: str) -> Key:
    group, _, version = api_version.rpartition("/")
    return (group, version, kind)


def _message(err: jsonschema.ValidationError) -> str:
    if err.validator == "additionalProperties":
        return "unknown field: " + str(err.message).split("(")[-1].rstrip(")")
    return err.message
