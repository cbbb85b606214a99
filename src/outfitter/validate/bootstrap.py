"""Namespaces the repository's bootstrap creates before Flux runs: the releases of a
helmfile (`helmfile.yaml`, `helmfile.d/*.yaml`, the cluster-template and home-ops layouts'
bootstrap), whose namespace helmfile creates unless `createNamespace: false`. Objects Flux
applies there later find it on the cluster.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from outfitter import yamlio


def is_helmfile(path: str) -> bool:
    name = os.path.basename(path)
    return name.endswith((".yaml", ".yml")) and (
        name.startswith("helmfile") or os.path.basename(os.path.dirname(path)) == "helmfile.d")


def helmfile_namespaces(paths: Iterable[str]) -> frozenset[str]:
    """The namespaces the helmfiles among `paths` create (unreadable ones skipped)."""
    found: set[str] = set()
    for path in paths:
        if not is_helmfile(path):
            continue
        try:
            docs = yamlio.load_all_checked(yamlio.read_text(path), where=path)
        except yamlio.YamlInputError:
            continue  # a Go template helmfile, or not YAML: nothing known
        for doc in docs:
            found |= _namespaces(doc)
    return frozenset(found)


def _namespaces(doc: Any) -> set[str]:
    if not isinstance(doc, dict) or not isinstance(doc.get("releases"), list):
        return set()
    defaults = doc.get("helmDefaults") if isinstance(doc.get("helmDefaults"), dict) else {}
    create = (defaults or {}).get("createNamespace", True) is not False
    out = set()
    for release in doc["releases"]:
        if not isinstance(release, dict):
            continue
        namespace = release.get("namespace")
        if isinstance(namespace, str) and namespace and "{{" not in namespace and \
                release.get("createNamespace", create) is not False:
            out.add(namespace)
    return out


__all__ = ["helmfile_namespaces", "is_helmfile"]
