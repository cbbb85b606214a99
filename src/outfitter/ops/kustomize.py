"""The kustomize build graph of a repository, as far as outfitter needs it: which
kustomizations build a file (through `resources`, `bases`, `components`), and which
ConfigMaps and Secrets their generators make with a content-hash name suffix.

A name reference to a generated object is rewritten anywhere in the same build, so a
generator in an overlay or a sibling folder counts for a workload in the base.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Generator:
    """What a configMapGenerator/secretGenerator puts in its object: data key → file, and
    literal values (`envs` files are not read: they are never Helm values)."""

    kind: str
    name: str
    files: dict[str, Path]
    literals: dict[str, str]
    kustomization: Path


@dataclass
class Kustomization:
    path: Path
    resources: list[Path]
    generated: dict[tuple[str, str], bool]
    """(kind, name) → hashed."""
    generators: dict[tuple[str, str], Generator] = field(default_factory=dict)


def read(path: Path, data: Any) -> Kustomization | None:
    """The kustomization a document of `path` is, or None (a Flux Kustomization, which
    shares the kind, lives in other files and another API group)."""
    if not isinstance(data, dict) or path.name not in (
            "kustomization.yaml", "kustomization.yml", "Kustomization"):
        return None
    api = str(data.get("apiVersion", "kustomize.config.k8s.io"))
    if not api.startswith("kustomize.config.k8s.io") or data.get("kind", "Kustomization") not in (
            "Kustomization", "Component"):
        return None
    base = path.parent
    resources = []
    for key in ("resources", "bases", "components"):
        for item in data.get(key) or []:
            if isinstance(item, str) and "://" not in item and not item.startswith("github.com"):
                resources.append((base / item).resolve())
    global_off = bool((data.get("generatorOptions") or {}).get("disableNameSuffixHash"))
    generated: dict[tuple[str, str], bool] = {}
    generators: dict[tuple[str, str], Generator] = {}
    for key, kind in (("configMapGenerator", "ConfigMap"), ("secretGenerator", "Secret")):
        for gen in data.get(key) or []:
            if not isinstance(gen, dict) or not gen.get("name"):
                continue
            off = (gen.get("options") or {}).get("disableNameSuffixHash", global_off)
            generated[(kind, str(gen["name"]))] = not off
            generators[(kind, str(gen["name"]))] = _generator(kind, gen, path)
    return Kustomization(path, resources, generated, generators)


def _generator(kind: str, gen: dict[str, Any], kfile: Path) -> Generator:
    files: dict[str, Path] = {}
    for item in gen.get("files") or []:
        if isinstance(item, str):
            # `key=path` or `path` (the key is then the file's name), as kustomize reads it.
            key, sep, rel = item.partition("=")
            rel = rel if sep else key
            files[key if sep else Path(rel).name] = (kfile.parent / rel).resolve()
    literals: dict[str, str] = {}
    for item in gen.get("literals") or []:
        if isinstance(item, str) and "=" in item:
            key, _, value = item.partition("=")
            literals[key] = value
    return Generator(kind, str(gen["name"]), files, literals, kfile)


class Builds:
    """Which kustomizations build a file, and the generators visible to its references."""

    def __init__(self, kustomizations: list[Kustomization]) -> None:
        self.by_dir = {k.path.parent.resolve(): k for k in kustomizations}
        self._reach: dict[Path, set[Path]] = {}

    def reach(self, kdir: Path, seen: frozenset[Path] = frozenset()) -> set[Path]:
        """Files (and kustomization dirs) a kustomization builds, transitively."""
        if kdir in self._reach:
            return self._reach[kdir]
        out: set[Path] = {kdir}
        for res in self.by_dir[kdir].resources:
            if res in self.by_dir and res not in seen:
                out |= self.reach(res, seen | {kdir})
            else:
                out.add(res)
        self._reach[kdir] = out
        return out

    def generator_specs_for(self, file: Path) -> dict[tuple[str, str], Generator]:
        """(kind, name) → the generator of a build that includes `file`."""
        file = file.resolve()
        found: dict[tuple[str, str], Generator] = {}
        for kdir in sorted(self.by_dir):
            reach = self.reach(kdir)
            if file not in reach:
                continue
            for sub in sorted(d for d in reach if d in self.by_dir):
                for key, gen in self.by_dir[sub].generators.items():
                    found.setdefault(key, gen)
        return found

    def generators_for(self, file: Path) -> dict[tuple[str, str], tuple[bool, Path]]:
        """(kind, name) → (hashed, kustomization) for every generator in a build that
        includes `file`. A name some build generates without the suffix counts as plain."""
        file = file.resolve()
        found: dict[tuple[str, str], tuple[bool, Path]] = {}
        for kdir in sorted(self.by_dir):
            reach = self.reach(kdir)
            if file not in reach:
                continue
            for sub in sorted(d for d in reach if d in self.by_dir):
                k = self.by_dir[sub]
                for key, hashed in k.generated.items():
                    if key in found and not found[key][0]:
                        continue
                    found[key] = (hashed, k.path)
        return found
