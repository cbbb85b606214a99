"""Which cert-manager issuer the migrated Certificates name.

In order: `--issuer NAME` (with `--issuer-kind`); else the issuer the repository already uses
(its Certificates' `spec.issuerRef`, and the `cert-manager.io/cluster-issuer` and
`cert-manager.io/issuer` annotations of Ingresses, Gateways and chart values); else the
single ClusterIssuer the repository defines; else the profile's (the ClusterIssuer
outfitter's cert-manager add-on creates). Several candidates at one step is a question only
the user can answer: exit 2 listing them. Only files Flux applies are read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from outfitter.errors import InputError

CLUSTER_ISSUER = "ClusterIssuer"
ANNOTATIONS = {"cert-manager.io/cluster-issuer": CLUSTER_ISSUER,
               "cert-manager.io/issuer": "Issuer"}


@dataclass(frozen=True, order=True)
class Issuer:
    kind: str
    name: str
    source: str = ""  # what decided, for the output

    @property
    def ref(self) -> str:
        return f"{self.kind} {self.name}"


class IssuerUnknown(InputError):
    """No single issuer: the user names one with --issuer."""


def _is_cert_manager(doc: Any, kind: str) -> bool:
    return isinstance(doc, dict) and doc.get("kind") == kind and \
        str(doc.get("apiVersion", "")).startswith("cert-manager.io/")


def _annotations(node: Any) -> Iterator[tuple[str, str]]:
    """(annotation, value) of every `annotations` mapping in an object, chart values
    included (an app-template `ingress.*.annotations`)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "annotations" and isinstance(value, dict):
                for name, text in value.items():
                    if name in ANNOTATIONS and isinstance(text, str) and text:
                        yield str(name), text
            yield from _annotations(value)
    elif isinstance(node, list):
        for item in node:
            yield from _annotations(item)


def in_use(docs: Iterable[Any]) -> Counter[tuple[str, str]]:
    """(kind, name) of the issuers the repository's objects use, with how often."""
    used: Counter[tuple[str, str]] = Counter()
    for doc in docs:
        if _is_cert_manager(doc, "Certificate"):
            ref = (doc.get("spec") or {}).get("issuerRef")
            if isinstance(ref, dict) and ref.get("name"):
                # cert-manager's default kind is Issuer
                used[(str(ref.get("kind") or "Issuer"), str(ref["name"]))] += 1
            continue
        for annotation, name in _annotations(doc):
            used[(ANNOTATIONS[annotation], name)] += 1
    return used


STAGING_SOURCE = "--staging"


def staging(docs: Iterable[Any], chosen: Issuer) -> Issuer:
    """For `--staging`: the repository's own staging ClusterIssuer (its ACME server is a
    staging directory) when it defines one, else outfitter's (`chosen`); several: exit 2."""
    found = sorted({str((d.get("metadata") or {}).get("name")) for d in docs
                    if _is_cert_manager(d, CLUSTER_ISSUER)
                    and (d.get("metadata") or {}).get("name")
                    and "staging" in str(((d.get("spec") or {}).get("acme") or {})
                                         .get("server") or "")})
    if len(found) > 1:
        raise IssuerUnknown([f"--staging: the repository defines several staging "
                             f"ClusterIssuers: {', '.join(found)}; pass --issuer NAME"])
    if found:
        return Issuer(CLUSTER_ISSUER, found[0], "--staging: the repository's ClusterIssuer "
                                                "on an ACME staging directory")
    return chosen


def defined(docs: Iterable[Any]) -> list[str]:
    """The ClusterIssuers the repository defines, sorted."""
    return sorted({str((d.get("metadata") or {}).get("name")) for d in docs
                   if _is_cert_manager(d, CLUSTER_ISSUER)
                   and (d.get("metadata") or {}).get("name")})


def discover(docs: list[Any], profile_issuer: str) -> Issuer:
    """The issuer the repository points to; `IssuerUnknown` when it points to several."""
    used = in_use(docs)
    if len(used) == 1:
        [((kind, name), count)] = used.items()
        return Issuer(kind, name, f"the issuer the repository already uses: {count} "
                                  f"Certificate(s) and cert-manager annotation(s)")
    if used:
        listed = ", ".join(f"{kind} {name} ({count})" for (kind, name), count
                           in sorted(used.items()))
        raise IssuerUnknown([f"the repository uses several issuers: {listed}; pass "
                             f"--issuer NAME (and --issuer-kind Issuer for a namespaced one) "
                             f"to choose the one the migrated Certificates name"])
    issuers = defined(docs)
    if len(issuers) == 1:
        return Issuer(CLUSTER_ISSUER, issuers[0], "the only ClusterIssuer the repository "
                                                  "defines")
    if issuers:
        raise IssuerUnknown([f"the repository defines several ClusterIssuers and uses none: "
                             f"{', '.join(issuers)}; pass --issuer NAME to choose the one "
                             f"the migrated Certificates name"])
    return Issuer(CLUSTER_ISSUER, profile_issuer,
                  "the profile's, which outfitter's cert-manager add-on creates: the "
                  "repository defines and uses no issuer")
