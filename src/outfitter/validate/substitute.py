"""Flux's postBuild variable substitution for validate: a thin layer over
`outfitter.repo.envsubst`, which has Flux's semantics (every operator of fluxcd/pkg/envsubst).
It works on an object's YAML text as kustomize-controller does (so `replicas: ${N}` becomes a
number). A variable with no value and no default becomes an empty string in Flux; it is
returned so validate can say so. A malformed expression, or a variable name Flux refuses,
raises `EnvsubstError` (Flux fails the whole Kustomization).
"""

from __future__ import annotations

from collections.abc import Mapping

from outfitter.repo.envsubst import (
    SUBSTITUTE_KEY,
    EnvsubstError,
    expand,
    flux_variables,
    substitution_disabled,
)

__all__ = ["DISABLED", "EnvsubstError", "disabled", "has_variables", "substitute"]

DISABLED = SUBSTITUTE_KEY


def substitute(text: str, values: Mapping[str, str]) -> tuple[str, list[str]]:
    """The text with variables replaced, and the names that had neither value nor default."""
    got = expand(text, flux_variables(values))
    return got.text, list(got.unset)


def has_variables(text: str) -> bool:
    return "${" in text


def disabled(obj: dict[str, object]) -> bool:
    return substitution_disabled(obj)
