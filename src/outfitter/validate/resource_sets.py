"""flux-operator ResourceSets, as validate reads them: which inputs the operator would render
one with, and when they cannot be known here. The rendering itself (Go templates with sprig's
functions) is kustomize-batch's (tools/kustomize-batch/resourceset.go); the engine checks
the objects it makes as applied."""

from __future__ import annotations

import zlib
from typing import Any

RESOURCE_SET = ("fluxcd.controlplane.io", "ResourceSet")
INPUT_PROVIDER = ("fluxcd.controlplane.io", "ResourceSetInputProvider")
# A ResourceSet may make ResourceSets: rendered this deep at most (one that makes itself
# ends there).
MAX_DEPTH = 3


def static_inputs(refs: Any, namespace: str, known: list[dict[str, Any]]
                  ) -> tuple[list[dict[str, Any]], str | None]:
    """The input providers a ResourceSet's inputsFrom names (by name or matchLabels, among
    `known`, those of its namespace), in the operator's order, each with the input set it
    exports: its defaultValues and an `id` from its name, as `flux-operator build` takes it
    offline (on the cluster it comes from the provider's UID). Else ([], why they cannot be
    known here: not in the tree, or filled from outside — GitHub, GitLab, OCI tags)."""
    chosen: dict[str, dict[str, Any]] = {}
    for ref in refs if isinstance(refs, list) else []:
        if not isinstance(ref, dict):
            continue
        selector = ref.get("selector") if isinstance(ref.get("selector"), dict) else {}
        wanted = (selector or {}).get("matchLabels") or {}
        if ref.get("name"):
            matches = [p for p in known if _name(p) == str(ref["name"])]
            if not matches:
                return [], (f"its inputs come from ResourceSetInputProvider "
                            f"{_named(namespace, str(ref['name']))}, not in the tree")
        elif isinstance(wanted, dict) and not (selector or {}).get("matchExpressions"):
            matches = [p for p in known if wanted.items() <= _labels(p).items()]
        else:
            return [], "its inputs come from input providers chosen by an expression"
        for provider in matches:
            chosen[_name(provider)] = provider
    exported = []
    for name in sorted(chosen):
        spec = chosen[name].get("spec")
        spec = spec if isinstance(spec, dict) else {}
        kind = str(spec.get("type") or "")
        if kind != "Static":
            return [], (f"its inputs come from the cluster (ResourceSetInputProvider "
                        f"{_named(namespace, name)} is {kind or 'of no type'})")
        values = spec.get("defaultValues")
        exported.append({"name": name, "namespace": namespace, "inputs": [
            {**(values if isinstance(values, dict) else {}),
             "id": str(zlib.adler32(name.encode()))}]})
    return exported, None


def _named(namespace: str, name: str) -> str:
    return f"{namespace}/{name}" if namespace else name


def _name(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata")
    return str(meta.get("name") or "") if isinstance(meta, dict) else ""


def _labels(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    labels = meta.get("labels") if isinstance(meta, dict) else None
    return labels if isinstance(labels, dict) else {}


__all__ = ["INPUT_PROVIDER", "MAX_DEPTH", "RESOURCE_SET", "static_inputs"]
