"""Flux's postBuild variable substitution (`${VAR}`, `${VAR:=default}`, `${VAR:-default}`),
on an object's YAML text as kustomize-controller does it (so `replicas: ${N}` becomes a
number). `$${VAR}` is an escape for a literal `${VAR}`. A variable with no value and no
default becomes an empty string in Flux; it is returned so validate can say so.
"""

from __future__ import annotations

import re

# ${name} or ${name<op>default}; name as Flux requires it.
_VAR = re.compile(r"\$\$\{|\$\{([_a-zA-Z][_a-zA-Z0-9]*)(?:(:?[-=])([^}]*))?\}")
DISABLED = "kustomize.toolkit.fluxcd.io/substitute"


def substitute(text: str, values: dict[str, str]) -> tuple[str, list[str]]:
    """The text with variables replaced, and the names that had neither value nor default."""
    undefined: list[str] = []

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        name, op, default = match.group(1), match.group(2), match.group(3)
        value = values.get(name)
        if op is None:
            if value is None:
                undefined.append(name)
                return ""
            return value
        if value is None or (op.startswith(":") and value == ""):
            return default or ""
        return value

    return _VAR.sub(replace, text), undefined


def has_variables(text: str) -> bool:
    return "${" in text


def disabled(obj: dict[str, object]) -> bool:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return False
    for field in ("annotations", "labels"):
        values = meta.get(field)
        if isinstance(values, dict) and values.get(DISABLED) == "disabled":
            return True
    return False
