"""One side of a diff built: the tree as validate builds it (Flux Kustomizations, kustomize,
postBuild substitution) and each HelmRelease templated by helm, every object filed under what
applies it — its HelmRelease, or the Flux Kustomization whose path holds its file."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from outfitter.helm.template import RenderedObject
from outfitter.helm.validation import HelmPass, Settings
from outfitter.repo import model as repo_model
from outfitter.validate.engine import Options, validate
from outfitter.validate.findings import INPUT_RULES
from outfitter.validate.refs import Where

FLUX_KS = ("kustomize.toolkit.fluxcd.io", "Kustomization")
OUTSIDE = "(no Flux Kustomization)"

Key = tuple[str, str, str, str, str]  # owner, group, kind, namespace, name


@dataclass
class BuiltSide:
    objects: dict[Key, dict[str, Any]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # templates that failed, bad files


def build(root: Path, settings: Settings, *, helm: bool = True,
          kube_version: str | None = None,
          memo: dict[str, list[RenderedObject]] | None = None) -> BuiltSide:
    """`memo`: shared by the two sides, so a release whose inputs are the same on both is
    templated once. A repository with several clusters is built cluster by cluster, each
    owner named with its cluster: the clusters' copies of one object (a base every cluster
    applies, patched per cluster) are different objects, and one must not hide another's
    change."""
    clusters = repo_model.load(root).clusters
    if len(clusters) < 2:
        return _build(root, settings, helm, kube_version, memo, repo_model.Options(), "")
    out = BuiltSide()
    for cluster in clusters:
        side = _build(root, settings, helm, kube_version, memo,
                      repo_model.Options(path=str(root / cluster)), f"{cluster}: ")
        out.objects.update(side.objects)
        out.problems += [p for p in side.problems if p not in out.problems]
    return out


def _build(root: Path, settings: Settings, helm: bool, kube_version: str | None,
           memo: dict[str, list[RenderedObject]] | None, repo: repo_model.Options,
           prefix: str) -> BuiltSide:
    helm_pass: HelmPass[Where] = HelmPass(settings, kube_version, render=helm, check=False,
                                          memo=memo)
    # validate(), not a Validator's run: it reads the tree again without what the own
    # GitRepository's spec.ignore leaves out, as Flux's artifact does.
    report = validate(root, Options(checks=frozenset(), helm=helm_pass, repo=repo))
    out = BuiltSide()
    for finding in report.sorted():
        if finding.rule in INPUT_RULES or finding.rule in ("helm-template", "helm-chart",
                                                           "kustomize-build"):
            subject = f"{finding.subject}: " if finding.subject else ""
            out.problems.append(f"{finding.file}: {subject}{finding.message}")
    owners = _ks_paths(helm_pass.tree)
    for obj, where in helm_pass.tree:
        # The Flux Kustomization the build says applies it; else the one whose path holds
        # its file.
        owner = f"Kustomization {where.applied_by}" if where.applied_by \
            else _owner(where.file, owners)
        out.objects[_key(prefix + owner, obj)] = obj
    for obj, where in helm_pass.rendered:
        out.objects[_key(f"{prefix}HelmRelease {where.namespace}/{where.name}", obj)] = obj
    return out


def _key(owner: str, obj: dict[str, Any]) -> Key:
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    return (owner, str(obj.get("apiVersion", "")).rpartition("/")[0], str(obj.get("kind", "")),
            str((meta or {}).get("namespace") or ""), str((meta or {}).get("name") or ""))


def _ks_paths(tree: list[tuple[dict[str, Any], Where]]) -> list[tuple[str, str]]:
    """(folder relative to the root, "Kustomization ns/name"), longest folder first."""
    out = []
    for obj, where in tree:
        group = str(obj.get("apiVersion", "")).rpartition("/")[0]
        if (group, obj.get("kind")) != FLUX_KS:
            continue
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        folder = os.path.normpath(str((spec or {}).get("path") or ".")).lstrip("./")
        out.append((folder, f"Kustomization {where.namespace}/{where.name}"))
    return sorted(out, key=lambda item: (-len(item[0]), item[1]))


def _owner(file: str, owners: list[tuple[str, str]]) -> str:
    for folder, owner in owners:
        if not folder or file == folder or file.startswith(folder + "/"):
            return owner
    return OUTSIDE
