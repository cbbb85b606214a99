"""The reference implementations the repository model is compared with: the flux CLI
(`flux build kustomization --dry-run`) and flate, both built by tools/build.sh.

A test that needs one skips when it is missing, and fails instead when CI=true: CI must not
go green by leaving the reference out."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from outfitter import yamlio
from tool_needs import built_tool

# Labels `flux build` stamps on every object (kustomize-controller's ownership labels).
FLUX_LABELS = ("kustomize.toolkit.fluxcd.io/name", "kustomize.toolkit.fluxcd.io/namespace")


def tool(name: str) -> Path:
    return built_tool(name)


def offline_env(home: Path) -> dict[str, str]:
    """Nothing to fetch from: proxies point at a closed local port, and HOME is empty."""
    closed = "http://127.0.0.1:9"
    return {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "HTTP_PROXY": closed,
            "HTTPS_PROXY": closed, "NO_PROXY": "", "KUBECONFIG": os.devnull}


def run(cmd: list[str], home: Path) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False,
                          env=offline_env(home))
    assert done.returncode == 0, f"{' '.join(cmd)}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return done.stdout


def normalised(obj: dict[str, Any]) -> dict[str, Any]:
    """An object without the labels only a Flux build adds, for comparing builds."""
    out = dict(obj)
    meta = dict(out.get("metadata") or {})
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if k not in FLUX_LABELS}
    if labels:
        meta["labels"] = labels
    else:
        meta.pop("labels", None)
    out["metadata"] = meta
    if out.get("kind") == "Secret":
        # flux build masks SOPS-encrypted values (and drops the sops block): keys compared.
        out.pop("sops", None)
        for field in ("data", "stringData"):
            if isinstance(out.get(field), dict):
                out[field] = {k: "<value>" for k in out[field]}
    return out


def key(obj: dict[str, Any]) -> tuple[str, str, str, str]:
    meta = obj.get("metadata") or {}
    return (str(obj.get("apiVersion")), str(obj.get("kind")), str(meta.get("namespace") or ""),
            str(meta.get("name")))


def documents(text: str) -> list[dict[str, Any]]:
    return [d for d in yamlio.load_all_checked(text) if isinstance(d, dict)]
