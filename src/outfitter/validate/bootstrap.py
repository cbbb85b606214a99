"""Namespaces the repository's bootstrap creates before Flux runs: the releases of a
helmfile (`helmfile.yaml`, `helmfile.d/*.yaml`, the cluster-template and home-ops layouts'
bootstrap, and their Go-templated `.yaml.gotmpl` forms), whose namespace helmfile creates
unless `createNamespace: false`. Objects Flux applies there later find it on the cluster.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Any

from outfitter import yamlio
from outfitter.validate.fstree import FsTree, child

TEMPLATED = ".gotmpl"  # helmfile renders `helmfile.yaml.gotmpl` with Go templates first
_ACTION = re.compile(r"\{\{.*?\}\}")


def is_helmfile(path: str) -> bool:
    name = os.path.basename(path).removesuffix(TEMPLATED)
    return name.endswith((".yaml", ".yml")) and (
        name.startswith("helmfile") or os.path.basename(os.path.dirname(path)) == "helmfile.d")


def templated_helmfiles(fs: FsTree) -> list[str]:
    """The `.yaml.gotmpl` helmfiles of the folders the walk listed (not YAML files, so the
    walk itself does not give them)."""
    return sorted(child(folder, name) for folder, listing in fs.listed()
                  for name in listing.files
                  if name.endswith(TEMPLATED) and is_helmfile(child(folder, name)))


def helmfile_namespaces(paths: Iterable[str]) -> frozenset[str]:
    """The namespaces the helmfiles among `paths` create (unreadable ones skipped); in a
    templated one, those its releases name literally (in any branch of its conditions)."""
    found: set[str] = set()
    for path in paths:
        if not is_helmfile(path):
            continue
        try:
            text = yamlio.read_text(path)
            if path.endswith(TEMPLATED):
                text = _untemplated(text)
            docs = yamlio.load_all_checked(text, where=path)
        except (OSError, UnicodeDecodeError, yamlio.YamlInputError):
            continue  # not YAML even so: nothing known
        create = True  # helmDefaults hold for the documents after them (one helmfile)
        for doc in docs:
            defaults = doc.get("helmDefaults") if isinstance(doc, dict) else None
            if isinstance(defaults, dict) and "createNamespace" in defaults:
                create = defaults["createNamespace"] is not False
            found |= _namespaces(doc, create)
    return frozenset(found)


def _untemplated(text: str) -> str:
    """A templated helmfile as YAML: lines of template logic alone (`{{ if }}`, `{{ end }}`,
    `{{ toYaml … | nindent 8 }}`) dropped, other actions replaced by a word no Kubernetes
    name can hold (upper case): a namespace named by a template is never known."""
    lines = []
    for line in text.splitlines():
        if _ACTION.search(line):
            if not _ACTION.sub("", line).strip():
                continue
            line = _ACTION.sub("TEMPLATED", line)
        lines.append(line)
    return "\n".join(lines) + "\n"


def _namespaces(doc: Any, create: bool) -> set[str]:
    if not isinstance(doc, dict) or not isinstance(doc.get("releases"), list):
        return set()
    out = set()
    for release in doc["releases"]:
        if not isinstance(release, dict):
            continue
        namespace = release.get("namespace")
        if isinstance(namespace, str) and namespace and "{{" not in namespace and \
                release.get("createNamespace", create) is not False:
            out.add(namespace)
    return out


__all__ = ["helmfile_namespaces", "is_helmfile", "templated_helmfiles"]
