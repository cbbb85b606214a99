"""Flux's postBuild variable substitution for validate: a thin layer over
`outfitter.repo.envsubst`, which has Flux's semantics (every operator of fluxcd/pkg/envsubst).
It works on an object's YAML text as kustomize-controller does (so `replicas: ${N}` becomes a
number). A variable with no value and no default becomes an empty string in Flux; it is
returned so validate can say so. A malformed expression, or a variable name Flux refuses,
raises `EnvsubstError` (Flux fails the whole Kustomization).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from outfitter import yamlio
from outfitter.repo.envsubst import (
    SUBSTITUTE_KEY,
    EnvsubstError,
    expand,
    flux_variables,
    substitution_disabled,
    substitution_runs,
)

__all__ = ["DISABLED", "EnvsubstError", "as_text", "disabled", "has_variables",
           "substitute", "substitution_runs"]

_CDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _TextDumper(_CDumper):  # type: ignore[misc]
    """An object as the text substitution works on: libyaml's emitter (the pure-Python one
    took most of a run's time on repositories with many `${VAR}`s), no aliases, multi-line
    strings as literal blocks (outfitter.yamlio.dump's representation)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


_TextDumper.add_representer(str, yamlio.str_representer)


def as_text(obj: Any) -> str:
    """The object's YAML text, for substitute()."""
    return str(yaml.dump(obj, Dumper=_TextDumper, sort_keys=False, default_flow_style=False,
                         width=120, allow_unicode=True))

DISABLED = SUBSTITUTE_KEY


def substitute(text: str, values: Mapping[str, str]) -> tuple[str, list[str]]:
    """The text with variables replaced, and the names that had neither value nor default."""
    got = expand(text, flux_variables(values))
    return got.text, list(got.unset)


def has_variables(text: str) -> bool:
    return "${" in text


def disabled(obj: dict[str, object]) -> bool:
    return substitution_disabled(obj)
