"""Traefik entry points that get a certificate for every route from an ACME resolver.

Set in the Traefik HelmRelease's values: `ports.<ep>.tls.certResolver` (charts up to v3x),
`ports.<ep>.http.tls.certResolver` (later charts), or an `additionalArguments` flag
`--entrypoints.<ep>.http.tls.certresolver=NAME`. The values are composed as helm-controller
composes them (ops.helm_values: each `valuesFrom` of the tree, generated ones included, then
the inline `values`); when a source cannot be read, the inline values alone are searched.
A route with `tls: {}` on such an entry point is served by that resolver.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from outfitter.helm import values as helm_values
from outfitter.ops.release_tree import Tree
from outfitter.ops.yaml_edit import YamlFile

HELM_API = "helm.toolkit.fluxcd.io/"
_FLAG = re.compile(r"^--entrypoints\.([^.=]+)\.http\.tls\.certresolver=(.+)$", re.IGNORECASE)


@dataclass(frozen=True)
class EntrypointResolver:
    entrypoint: str
    resolver: str
    where: str  # the HelmRelease and the values key that set it


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _values(spec: dict[str, Any], tree: Tree, path: Path, namespaces: set[str]
            ) -> dict[str, Any]:
    try:
        values, _, _ = helm_values.compose(spec, tree.lookup(path, namespaces))
        return values
    except helm_values.Unreadable:
        return _dict(spec.get("values"))


def find(files: list[YamlFile], tree: Tree,
         namespace_of: Callable[[Path, str | None], str | None] | None = None,
         ) -> dict[str, EntrypointResolver]:
    """Entry point name → the resolver Traefik's values set on it. `namespace_of` gives the
    namespace an object of a file lands in (for the messages)."""
    base = tree.root
    found: dict[str, EntrypointResolver] = {}
    for yf in files:
        for doc in yf.documents:
            hr = doc.data
            if not (isinstance(hr, dict) and hr.get("kind") == "HelmRelease"
                    and str(hr.get("apiVersion", "")).startswith(HELM_API)):
                continue
            spec = _dict(hr.get("spec"))
            meta = _dict(hr.get("metadata"))
            own = str(meta["namespace"]) if meta.get("namespace") else None
            namespaces = tree.namespaces(yf.path, own)
            if tree.chart(spec, namespaces).name != "traefik":
                continue
            values = _values(spec, tree, yf.path, namespaces)
            rel = yf.path.relative_to(base).as_posix() if yf.path.is_relative_to(base) \
                else str(yf.path)
            ns = namespace_of(yf.path, own) if namespace_of else own
            label = f"HelmRelease {ns or '?'}/{meta.get('name')} ({rel})"
            for ep, port in sorted(_dict(values.get("ports")).items()):
                for tls, key in ((_dict(_dict(port).get("tls")), "tls"),
                                 (_dict(_dict(_dict(port).get("http")).get("tls")),
                                  "http.tls")):
                    if tls.get("certResolver"):
                        found[str(ep)] = EntrypointResolver(
                            str(ep), str(tls["certResolver"]),
                            f"{label}: ports.{ep}.{key}.certResolver")
            for arg in values.get("additionalArguments") or []:
                match = _FLAG.match(str(arg).strip())
                if match:
                    found[match.group(1)] = EntrypointResolver(
                        match.group(1), match.group(2).strip(),
                        f"{label}: additionalArguments {str(arg).strip()}")
    return found
