"""Flux's postBuild variable substitution for validate: a thin layer over
`outfitter.repo.envsubst`, which has Flux's semantics (every operator of fluxcd/pkg/envsubst).
It works on an object's YAML text as kustomize-controller does (so `replicas: ${N}` becomes a
number). A variable with no value and no default becomes an empty string in Flux; it is
returned so validate can say so. A malformed expression, or a variable name Flux refuses,
raises `EnvsubstError` (Flux fails the whole Kustomization).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
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

__all__ = ["DISABLED", "EnvsubstError", "Substitution", "as_text", "disabled", "has_variables",
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


@dataclass(frozen=True)
class Substitution:
    text: str
    # Referenced, with neither value nor default, though every source is known: Flux makes
    # them empty strings.
    undefined: tuple[str, ...]
    # `${VAR}`s were kept because their values are not known here.
    unresolved: bool


class _Noting(dict[str, str]):
    """Variables that note whether a text looks up one of `watched`."""

    def __init__(self, values: Mapping[str, str], watched: set[str]) -> None:
        super().__init__(values)
        self.watched = watched
        self.hit = False

    def get(self, name: str, default: Any = None) -> Any:
        if name in self.watched:
            self.hit = True
        return super().get(name, default)


def substitute(text: str, values: Mapping[str, str | None], complete: bool = True
               ) -> Substitution:
    """The text as Flux substitutes it.

    `values`: None for a variable whose value is not known here, only its name: a key of a
    SOPS-encrypted Secret (SOPS encrypts values, never keys). It is kept as `${NAME}`.
    `complete`: every source was found, so a variable none of them defines is an empty
    string, as in Flux, and is returned as undefined; otherwise the missing source may
    define it, and it is kept too (never guessed, never emptied)."""
    unknown = {name for name, value in values.items() if value is None}
    variables = flux_variables({name: f"${{{name}}}" if value is None else value
                                for name, value in values.items()})
    noting = _Noting(variables, unknown)
    got = expand(text, noting)
    if got.unset and not complete:
        # Names only (a `${1}` of a regex is kept as written): they are not values of a
        # source, so Flux's check of a source's names does not apply.
        kept = {**{name: f"${{{name}}}" for name in got.unset}, **variables}
        return Substitution(expand(text, kept).text, (), True)
    return Substitution(got.text, got.unset if complete else (), noting.hit)


def has_variables(text: str) -> bool:
    return "${" in text


def disabled(obj: dict[str, object]) -> bool:
    return substitution_disabled(obj)
