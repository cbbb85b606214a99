"""A route's host names as Flux serves them: the `${VAR}` expressions of a match rule
resolved with the postBuild substitution of the Flux Kustomization that applies its file.

The Certificate outfitter writes keeps the expression (`git.${DOMAIN}`), so Flux substitutes
route and Certificate alike; the resolved name is what the plan shows and what the
duplicate and wildcard checks compare. A value outfitter cannot read (a SOPS-encrypted
Secret) leaves the name unknown but the route migratable; a variable nothing defines would
become an empty string in Flux, so such a route is left alone.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from outfitter.repo.envsubst import (
    EnvsubstError,
    flux_variables,
    references,
    substitute,
    substitution_disabled,
)
from outfitter.repo.model import Repository
from outfitter.repo.objects import ObjKey

HOSTNAME = re.compile(r"^(\*\.)?([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,}$")


class HostError(ValueError):
    """A written host that does not become a host name."""


@dataclass(frozen=True)
class Host:
    written: str
    """As in the route (what the Certificate's dnsNames get)."""
    name: str | None
    """As Flux serves it, lower case; None when a variable's value cannot be read."""
    unknown: tuple[str, ...] = ()
    """The variables whose value cannot be read."""

    @property
    def shown(self) -> str:
        return self.name if self.name is not None else self.written


@dataclass(frozen=True)
class Scope:
    """The substitution one Flux Kustomization applies to a file."""

    label: str
    values: dict[str, str | None]
    sources: str  # where its values come from, for messages

    @classmethod
    def none(cls) -> Scope:
        return cls("", {}, "")


class Substitutions:
    """The scopes of each file of the repository (one per Flux Kustomization applying it)."""

    def __init__(self, repo: Repository | None) -> None:
        self.repo = repo
        self._scopes: dict[str, list[Scope]] = {}
        self._values: dict[ObjKey, dict[str, str | None]] = {}

    def scopes(self, path: Path) -> list[Scope]:
        real = os.path.realpath(path)
        if real not in self._scopes:
            self._scopes[real] = self._build(real)
        return self._scopes[real]

    def _build(self, real: str) -> list[Scope]:
        if self.repo is None:
            return []
        out: list[Scope] = []
        for app in self.repo.applications.get(real, []):
            ks = app.ks
            if not isinstance(ks.spec.get("postBuild"), dict):
                continue  # no postBuild: Flux does not substitute at all
            refs = [f"{r.kind} {r.name}" for r in ks.substitute_from]
            if ks.substitute:
                refs.insert(0, "postBuild.substitute")
            if ks.key not in self._values:
                self._values[ks.key] = self.repo.variables(ks)
            out.append(Scope(ks.label, self._values[ks.key], ", ".join(refs) or "none"))
        return out


def resolve(written: str, scopes: list[Scope], obj: dict[str, object] | None = None) -> Host:
    """The host `written` becomes under every scope of its file (they must agree).
    `HostError` with one line when it cannot be known."""
    text = written.strip().rstrip(".")
    if "${" not in text or (obj is not None and substitution_disabled(obj)):
        host = text.lower()
        if not HOSTNAME.match(host):
            if "${" in text:
                raise HostError(f"'{written}' is not a host name (Flux substitution is "
                                f"disabled on this object)")
            raise HostError(f"'{written}' is not a host name")
        return Host(host, host)
    if not scopes:
        name = _names(text)[0]
        raise HostError(f"'{written}': ${{{name}}} is not defined (no Flux Kustomization "
                        f"with postBuild substitution applies this file)")
    found = [(_under(text, written, scope), scope) for scope in scopes]
    first = found[0][0]
    for other, scope in found[1:]:
        if other.name != first.name:
            raise HostError(f"'{written}' becomes {first.shown} under {found[0][1].label} "
                            f"and {other.shown} under {scope.label}")
    return first


def _names(text: str) -> list[str]:
    try:
        return [r.name for r in references(text)] or ["?"]
    except EnvsubstError:
        return ["?"]


def _under(text: str, written: str, scope: Scope) -> Host:
    try:
        refs = references(text)
    except EnvsubstError as err:
        raise HostError(f"'{written}': {err}") from None
    missing = [r.name for r in refs if r.name not in scope.values and not r.has_default]
    if missing:
        raise HostError(f"'{written}': ${{{missing[0]}}} is not defined by {scope.label} "
                        f"(substitutes from: {scope.sources})")
    unknown = tuple(dict.fromkeys(r.name for r in refs if r.name in scope.values
                                  and scope.values[r.name] is None))
    if unknown:
        return Host(text, None, unknown)
    known = {k: v for k, v in scope.values.items() if v is not None}
    try:
        host = substitute(text, flux_variables(known)).lower().rstrip(".")
    except EnvsubstError as err:
        raise HostError(f"'{written}': {err}") from None
    if not HOSTNAME.match(host):
        raise HostError(f"'{written}' becomes '{host}' under {scope.label}: not a host name")
    return Host(text, host)


def covers(name: str, host: str) -> bool:
    """A certificate name covers a host: the same, or a wildcard one label up."""
    if name == host:
        return True
    return name.startswith("*.") and host.split(".", 1)[-1] == name[2:] and "." in host


def host_covered(name: Host, host: Host) -> bool:
    """By the names Flux serves when both are known, else by what is written (the same
    expression covers the same host whatever its value)."""
    if name.name is not None and host.name is not None:
        return covers(name.name, host.name)
    return covers(name.written, host.written)


def suffix_for(domain: str, hosts: list[Host]) -> str:
    """How the route writes `domain`: the expression after a host's first label when it
    resolves to `domain` (`${DOMAIN}` in `git.${DOMAIN}`), else `domain` itself."""
    for host in hosts:
        if host.name is None or "${" not in host.written or "." not in host.written:
            continue
        label_name, rest_name = host.name.split(".", 1)
        label_written, rest_written = host.written.split(".", 1)
        if rest_name == domain and "${" in rest_written and label_written.lower() == label_name:
            return rest_written
    return domain
