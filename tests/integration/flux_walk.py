"""What Flux would apply from a repository, read the simple way: start at the cluster
Kustomizations (`kubernetes/flux/cluster`), build each Flux Kustomization's path with
`kubectl kustomize`, and follow the Flux Kustomizations that build brings.

Where a path has no kustomization.yaml, Flux generates one: every sub-folder that has a
kustomization.yaml becomes a resource, other folders are searched further, YAML files are
taken as they are. This walker does the same on a scratch copy. It is small on purpose, to be
swapped for the repository model (src/outfitter/repo) when that lands.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from outfitter import yamlio

FLUX_KS = "kustomize.toolkit.fluxcd.io/"
Key = tuple[str, str, str]  # kind, namespace, name


def _generate(folder: Path) -> None:
    resources: list[str] = []

    def scan(here: Path) -> None:
        for child in sorted(here.iterdir()):
            if child.is_dir():
                if (child / "kustomization.yaml").exists():
                    resources.append(child.relative_to(folder).as_posix())
                else:
                    scan(child)
            elif child.suffix in (".yaml", ".yml") and child.name != "kustomization.yaml":
                resources.append(child.relative_to(folder).as_posix())

    scan(folder)
    (folder / "kustomization.yaml").write_text(yamlio.dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": resources}))


def _build(repo: Path, path: str) -> list[dict[str, Any]]:
    folder = repo / path.removeprefix("./")
    if not (folder / "kustomization.yaml").exists():
        _generate(folder)
    result = subprocess.run(["kubectl", "kustomize", str(folder)], capture_output=True,
                            text=True, check=False)
    if result.returncode != 0:
        raise AssertionError(f"kubectl kustomize {path}: {result.stderr}")
    return [d for d in yamlio.load_all(result.stdout) if isinstance(d, dict)]


def applied(repo: Path) -> set[Key]:
    """Every object Flux applies, as (kind, namespace, name)."""
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "repo"
        shutil.copytree(repo, copy, symlinks=True)
        out: set[Key] = set()
        queue: list[dict[str, Any]] = []
        for path in sorted((copy / "kubernetes/flux/cluster").glob("*.yaml")):
            queue += [d for d in yamlio.load_all(path.read_text()) if isinstance(d, dict)]
        seen: set[str] = set()
        while queue:
            obj = queue.pop(0)
            meta = obj.get("metadata") or {}
            out.add((obj["kind"], str(meta.get("namespace", "")), str(meta.get("name"))))
            if not (str(obj.get("apiVersion", "")).startswith(FLUX_KS)
                    and obj["kind"] == "Kustomization"):
                continue
            path = obj["spec"]["path"]
            if path in seen:
                continue
            seen.add(path)
            target = obj["spec"].get("targetNamespace")
            for child in _build(copy, path):
                if target and child["kind"] != "Namespace":
                    child.setdefault("metadata", {})["namespace"] = target
                queue.append(child)
        return out
