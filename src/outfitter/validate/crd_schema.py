"""Custom resources against the openAPIV3Schema of their CRDs.

The CRD schema is turned into JSON Schema once per kind and version and compiled once.
Strict by default: where a schema lists `properties` and neither allows additional ones nor
sets `x-kubernetes-preserve-unknown-fields`, an unknown field is an error (the API server
would silently prune it, which is how typos go unnoticed). CEL rules
(`x-kubernetes-validations`) are left to the server (`--server` dry-run). Validators are
jsonschema-rs (compiled Rust): the schema pass is no slower than kubeconform's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema_rs

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
    at: tuple[str | int, ...] = field(default=(), compare=False)  # the field, for its line

    @property
    def unknown_field(self) -> bool:
        return self.message.startswith("unknown field: ")

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class CrdIndex:
    """Schemas by (group, version, kind), from CRD documents."""

    def __init__(self, strict: bool = True) -> None:
        self.strict = strict
        self._raw: dict[Key, dict[str, Any]] = {}
        self._compiled: dict[Key, jsonschema_rs.Validator] = {}
        self.scope: dict[tuple[str, str], str] = {}

    def copy(self) -> CrdIndex:
        """An index holding what this one holds now, that adding to leaves this one as is."""
        other = CrdIndex(self.strict)
        other._raw, other._compiled, other.scope = \
            dict(self._raw), dict(self._compiled), dict(self.scope)
        return other

    def add_crd(self, crd: dict[str, Any]) -> None:
        spec = crd.get("spec") or {}
        group, kind = spec.get("group", ""), (spec.get("names") or {}).get("kind", "")
        self.scope[(group, kind)] = spec.get("scope", "Namespaced")
        for version in spec.get("versions") or []:
            schema = (version.get("schema") or {}).get("openAPIV3Schema")
            if schema and version.get("served", True):
                key = (group, version["name"], kind)
                self._raw[key] = schema
                self._compiled.pop(key, None)  # a later CRD (the tree's) replaces an earlier

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

    def has(self, key: Key) -> bool:
        return key in self._raw

    def defines(self, key: Key, field: str) -> bool:
        """Whether the kind's schema has a top-level property `field`."""
        properties = (self._raw.get(key) or {}).get("properties")
        return isinstance(properties, dict) and field in properties

    def known(self) -> list[Key]:
        return sorted(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def validator(self, key: Key) -> jsonschema_rs.Validator | None:
        if key not in self._compiled:
            raw = self._raw.get(key)
            if raw is None:
                return None
            schema = to_json_schema(raw, self.strict)
            try:
                compiled = jsonschema_rs.Draft7Validator(schema, validate_formats=False)
            except jsonschema_rs.ValidationError:
                # A Go (RE2) pattern that ECMA regex refuses, e.g. `(?i)`: that one check is
                # left to the API server.
                compiled = jsonschema_rs.Draft7Validator(_ecma_patterns(schema),
                                                         validate_formats=False)
            self._compiled[key] = compiled
        return self._compiled[key]

    def validate(self, obj: dict[str, Any], key: Key | None = None) -> list[SchemaProblem] | None:
        """Problems with obj, or None when no CRD here defines its kind."""
        if key is None:
            key = _key(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
        validator = self.validator(key)
        if validator is None:
            return None
        problems = problems_of(validator, obj)
        if any(p.message.startswith("null is not") for p in problems):
            # The API server drops a null the schema does not allow before it validates
            # (PruneNonNullableNullsWithoutDefaults): `version:` left empty is no version.
            problems = problems_of(validator, _without_nulls(obj, self._raw[key]))
        return problems


def _key(api_version: str, kind: str) -> Key:
    group, _, version = api_version.rpartition("/")
    return (group, version, kind)


key_of = _key


def problems_of(validator: jsonschema_rs.Validator, obj: Any) -> list[SchemaProblem]:
    """Every problem of obj, sorted by path; the fast is_valid first, as most objects are."""
    try:
        if validator.is_valid(obj):
            return []
        errors = list(validator.iter_errors(obj))
    except ValueError:  # a value JSON has no type for (a non-string key): as Kubernetes reads it
        obj = _jsonable(obj)
        errors = list(validator.iter_errors(obj))
    problems = []
    for err in errors:
        kind = err.kind
        if isinstance(kind, jsonschema_rs.ValidationErrorKind.AdditionalProperties):
            for name in kind.unexpected:
                problems.append(SchemaProblem(_dotted(err.instance_path),
                                              f"unknown field: {name!r}",
                                              (*err.instance_path, name)))
        else:
            problems.append(SchemaProblem(_dotted(err.instance_path), err.message,
                                          tuple(err.instance_path)))
    return sorted(problems, key=lambda p: (p.path, p.message))


def _without_nulls(value: Any, schema: Any) -> Any:
    """`value` without the nulls the CRD's schema does not declare nullable (a default
    stands in for one, as the API server defaults it); fields it does not know are kept."""
    schema = schema if isinstance(schema, dict) else {}
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        out = {}
        for key, item in value.items():
            field_schema = props.get(key, extra if isinstance(extra, dict) else None)
            if item is None and isinstance(field_schema, dict) and \
                    not field_schema.get("nullable"):
                if "default" in field_schema:
                    out[key] = field_schema["default"]
                continue
            out[key] = _without_nulls(item, field_schema)
        return out
    if isinstance(value, list):
        return [_without_nulls(item, schema.get("items")) for item in value]
    return value


def _pattern_ok(pattern: str) -> bool:
    try:
        jsonschema_rs.Draft7Validator({"pattern": pattern})
    except jsonschema_rs.ValidationError:
        return False
    return True


def _ecma_patterns(node: Any) -> Any:
    if isinstance(node, list):
        return [_ecma_patterns(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "pattern" and isinstance(value, str) and not _pattern_ok(value):
            continue
        out[key] = value if key == "enum" else _ecma_patterns(value)
    return out


def _dotted(path: list[str | int]) -> str:
    return ".".join(str(p) for p in path)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
