"""Fit a render into the repository that is already there.

`render_tree` renders as if into an empty repository. A homelab repository is years old:
Flux may generate the apps folder's kustomization itself, the user owns the parent
kustomizations and the namespace folders outfitter shares, Renovate already has a
configuration, and some add-ons already run. This module reads the repository and turns the
render into files outfitter owns plus minimal edits of files the user owns:

- a `kustomization.yaml` at the tree's root or a namespace folder that exists and is not
  outfitter's gets only outfitter's entries added; where none exists but the folder holds the
  user's things (Flux generates one), outfitter writes none. Outfitter never writes a
  kustomization that lists fewer siblings than exist beside it.
- a namespace folder the user owns keeps its own Namespace object: outfitter adds only its
  apps there (and says when the namespace should carry the prune guard).
- with the user's Renovate configuration present, outfitter's rules go to a preset file that
  the configuration extends; there is never a second configuration.
- a HelmRelease of a chart outfitter would install again is refused, with the profile lines
  that adopt it instead.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from outfitter import yamlio
from outfitter.config import EXAMPLE_REPO_URL
from outfitter.errors import InputError
from outfitter.files import outside_root
from outfitter.git_remote import origin_url
from outfitter.plan import Plan
from outfitter.render.flux import FLUX_NAMESPACE, PRUNE_DISABLED
from outfitter.render.flux import doc as flux_doc
from outfitter.render.shared import (
    PRESET_FILE,
    RENOVATE_FILES,
    KustomizationResources,
    RenovateExtends,
)
from outfitter.render.writer import SharedEdit, load_record
from outfitter.repo.model import kustomization_reader
from outfitter.repo.reach import Reader

KUSTOMIZE_API = "kustomize.config.k8s.io/"
FLUX_KS_API = "kustomize.toolkit.fluxcd.io/"
HELM_API = "helm.toolkit.fluxcd.io/"
RENOVATE_OUT = "renovate.json"
_REPO_REF = re.compile(r"^(github|gitlab|gitea|local|bitbucket|forgejo)>([^/]+/[^/:#]+)//")


class DuplicateAddon(InputError):
    """The repository already installs a chart outfitter would install again."""


@dataclass
class Placement:
    files: dict[str, str]
    edits: tuple[SharedEdit, ...]
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FoundRelease:
    rel: str
    namespace: str
    name: str
    chart: str


@dataclass
class RepoScan:
    flux_paths: dict[str, str] = field(default_factory=dict)
    """Normalized spec.path of each Flux Kustomization -> its name."""
    releases: list[FoundRelease] = field(default_factory=list)


def _yaml_files(root: Path, skip: set[str]) -> list[tuple[str, Path]]:
    found = []
    for here, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and not (Path(here) / d).is_symlink())
        for name in sorted(names):
            if name.endswith((".yaml", ".yml")):
                path = Path(here) / name
                rel = path.relative_to(root).as_posix()
                if rel not in skip and not path.is_symlink():
                    found.append((rel, path))
    return found


def norm_path(path: str) -> str:
    return PurePosixPath(path.strip().removeprefix("./").strip("/") or ".").as_posix()


def scan(root: Path, skip: set[str]) -> RepoScan:
    """The Flux Kustomizations and HelmReleases of the repository (outfitter's own aside)."""
    out = RepoScan()
    reader = kustomization_reader(root)
    sources: dict[tuple[str, str], str] = {}  # (namespace, OCIRepository name) -> chart
    pending: list[tuple[str, dict[str, Any]]] = []
    for rel, path in _yaml_files(root, skip):
        try:
            docs = yamlio.load_all(path.read_text())
        except Exception:  # a template or a broken file: not ours to judge here
            continue
        for doc in docs:
            if not isinstance(doc, dict):
                continue
            api, kind = str(doc.get("apiVersion", "")), doc.get("kind")
            meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
            spec = doc.get("spec") if isinstance(doc.get("spec"), dict) else {}
            assert isinstance(meta, dict) and isinstance(spec, dict)
            ns = str(meta.get("namespace", ""))
            if api.startswith(FLUX_KS_API) and kind == "Kustomization" and spec.get("path"):
                out.flux_paths.setdefault(norm_path(str(spec["path"])), str(meta.get("name")))
            elif kind == "OCIRepository" and spec.get("url"):
                sources[(ns, str(meta.get("name")))] = str(spec["url"]).rstrip("/").rsplit(
                    "/", 1)[-1]
            elif api.startswith(HELM_API) and kind == "HelmRelease":
                pending.append((rel, doc))
    for rel, doc in pending:
        meta, spec = doc.get("metadata") or {}, doc.get("spec") or {}
        ns = str(meta.get("namespace", "")) or _kustomize_namespace(root / rel, root, reader)
        chart = None
        chart_spec = (spec.get("chart") or {}).get("spec") or {}
        if chart_spec.get("chart"):
            chart = str(chart_spec["chart"]).rstrip("/").rsplit("/", 1)[-1]
        elif isinstance(spec.get("chartRef"), dict):
            ref = spec["chartRef"]
            ref_ns = str(ref.get("namespace") or meta.get("namespace", ""))
            chart = sources.get((ref_ns, str(ref.get("name")))) or next(
                (c for (_, n), c in sources.items() if n == ref.get("name")), None)
        if chart:
            name = str(spec.get("releaseName") or meta.get("name"))
            out.releases.append(FoundRelease(rel, ns, name, chart))
    return out


def _kustomize_namespace(path: Path, root: Path, reader: Reader) -> str:
    """The namespace a kustomization above the file sets (community layouts leave
    metadata.namespace out and set it in the namespace folder's kustomization), read as the
    repository model reads kustomizations; none above the repository is read."""
    for folder in path.parents:
        spec = reader.kustomization(os.path.realpath(folder))
        if spec and spec.get("namespace"):
            return str(spec["namespace"])
        if folder == root:
            break
    return ""


def duplicates(plan: Plan, found: RepoScan) -> list[str]:
    problems = []
    profile = plan.profile
    for ap in plan.addons:
        addon = ap.addon
        chart = addon.pinned_chart(plan.context)
        if chart is None or addon.adopted(profile) is not None:
            continue
        for release in found.releases:
            if release.chart != chart.name:
                continue
            problems.append(
                f"{release.rel}: HelmRelease {release.namespace or '?'}/{release.name} already "
                f"installs chart {chart.name}; outfitter would install a second copy. Adopt it "
                f"in the profile: addons: {{{addon.name}: {{installed: {{namespace: "
                f"{release.namespace or '<namespace>'}, release: {release.name}}}}}}}")
    return problems


def _foreign_entries(folder: Path, ours: set[str], record: set[str], root: Path) -> list[str]:
    """Entries of a folder that are the user's: neither rendered nor recorded by outfitter."""
    if not folder.is_dir():
        return []
    out = []
    for child in sorted(folder.iterdir()):
        if child.name.startswith("."):
            continue
        rel = child.relative_to(root).as_posix()
        if rel in ours or rel in record:
            continue
        if child.is_dir() and any(r.startswith(rel + "/") for r in (*ours, *record)):
            continue
        out.append(rel)
    return out


def _kustomization_entries(text: str) -> list[str]:
    return [str(r) for r in yamlio.load(text).get("resources", [])]


def place(plan: Plan, files: dict[str, str], repo: Path) -> Placement:
    """Owned files and shared edits for rendering `files` into the repository at `repo`.
    Raises InputError (nothing written) for a duplicate add-on."""
    record = load_record(repo)
    recorded = set(record.files)
    found = scan(repo, recorded)
    problems = duplicates(plan, found)
    if problems:
        raise DuplicateAddon(problems)
    notes: list[str] = []
    for ap in plan.addons:
        adopted = ap.addon.adopted(plan.profile)
        if adopted is None:
            continue
        release = adopted.release or ap.addon.release_for(plan.profile)
        chart = ap.addon.chart_for(plan.context)
        if chart is not None and not any(r.chart == chart.name for r in found.releases):
            notes.append(f"addons.{ap.addon.name}.installed: no HelmRelease of chart "
                         f"{chart.name} in the repository; taken as running in "
                         f"{adopted.namespace}/{release} outside Git")

    root = plan.profile.gitops.path.strip("/")
    out = dict(files)
    edits: list[SharedEdit] = []
    ours = {p for f in files for p in _prefixes(f)}
    stateful_ns = {ap.addon.namespace for ap in plan.addons if ap.addon.stateful}
    moves: dict[str, str] = {}  # user's namespace folder -> the namespace it sets

    # Namespace folders first (their entries feed the root's), then the root.
    levels = sorted((f for f in files if f.endswith("/kustomization.yaml")
                     and f.startswith(root + "/") and f.count("/") <= root.count("/") + 2),
                    key=lambda f: -f.count("/"))
    for rel in levels:
        folder = rel.rsplit("/", 1)[0]
        path = repo / rel
        wanted = _kustomization_entries(files[rel])
        if rel in recorded:
            continue
        if path.exists():
            # The user's kustomization: outfitter adds its own entries only. In a namespace
            # folder the user's own Namespace stays (theirs may come from a component).
            del out[rel]
            if folder != root:
                ns_file = f"{folder}/namespace.yaml"
                if ns_file in out and ns_file not in recorded:
                    del out[ns_file]
                    wanted = [w for w in wanted if w != "./namespace.yaml"]
                    ns = folder.rsplit("/", 1)[-1]
                    if ns in stateful_ns and not _guarded(repo / folder):
                        notes.append(
                            f"{folder}: namespace {ns} is yours and holds data; give it the "
                            f"annotation {_annotation()} so Flux never prunes it")
            edits.append(SharedEdit(rel, tuple(wanted), KustomizationResources()))
            moved_to = _namespace_transform(path)
            if folder != root and moved_to:
                moves[folder] = moved_to
            continue
        foreign = _foreign_entries(repo / folder, ours, recorded, repo)
        if foreign:
            del out[rel]
            flux = found.flux_paths.get(norm_path(folder))
            if flux is not None:
                notes.append(f"{folder}: no kustomization.yaml; Flux Kustomization {flux} "
                             f"generates one with every folder, outfitter's too")
            else:
                notes.append(f"{folder}: holds your {', '.join(foreign[:3])}"
                             f"{' …' if len(foreign) > 3 else ''} and no kustomization.yaml; "
                             f"outfitter writes none there. Add {', '.join(wanted)} to "
                             f"whatever applies this folder")
    if found.flux_paths and not _applied_by_flux(root or ".", found.flux_paths):
        notes.append(
            f"{root or '.'} (gitops.path): no Flux Kustomization of the repository has that "
            f"path or one above it; Flux applies none of the add-ons until one does: add a "
            f"Flux Kustomization with `path: ./{root}` beside yours, or set gitops.path to a "
            f"folder one applies")
    if moves:
        _follow_moves(out, moves)
    for rel in sorted(set(record.edits) - {e.rel for e in edits}):
        if (repo / rel).exists() and PurePosixPath(rel).name == "kustomization.yaml":
            edits.append(SharedEdit(rel, (), KustomizationResources()))

    renovate_edit, renovate_notes = _renovate(plan, out, repo, recorded, record.edits)
    notes += renovate_notes
    if renovate_edit is not None:
        edits.append(renovate_edit)
    for rel in sorted(set(record.edits) - {e.rel for e in edits}):
        if (repo / rel).exists() and rel in RENOVATE_FILES:
            edits.append(SharedEdit(rel, (), RenovateExtends(*_strictness(rel))))
    return Placement(dict(sorted(out.items())), tuple(edits), notes)


def _applied_by_flux(root: str, flux_paths: dict[str, str]) -> bool:
    """A Flux Kustomization's path is the tree's root or above it. Above it, either Flux
    generates the kustomization (no kustomization.yaml: every folder below is applied) or the
    user's kustomization.yaml chain decides, which is not judged here (taken as applied)."""
    return any(path in (root, ".") or root.startswith(path + "/") for path in flux_paths)


def _namespace_transform(path: Path) -> str | None:
    try:
        data = yamlio.load(path.read_text())
    except Exception:
        return None
    ns = data.get("namespace") if isinstance(data, dict) else None
    return str(ns) if ns else None


def _follow_moves(out: dict[str, str], moves: dict[str, str]) -> None:
    """The user's namespace folder sets `namespace:`, which moves outfitter's Flux
    Kustomizations there out of flux-system: say so in them and in every dependsOn that
    names them, so Flux finds them where kustomize puts them."""
    where: dict[str, str] = {}
    for folder, ns in moves.items():
        for rel, text in out.items():
            if rel.startswith(folder + "/") and rel.endswith("/ks.yaml"):
                for obj in yamlio.load_all(text):
                    where[obj["metadata"]["name"]] = ns
    for rel, text in list(out.items()):
        if not rel.endswith("/ks.yaml"):
            continue
        objs = yamlio.load_all(text)
        for obj in objs:
            obj["metadata"]["namespace"] = where.get(obj["metadata"]["name"], FLUX_NAMESPACE)
            for dep in obj["spec"].get("dependsOn", []):
                dep["namespace"] = where.get(dep["name"], FLUX_NAMESPACE)
        new = flux_doc(objs)
        if new != text:
            out[rel] = new


def _guarded(folder: Path) -> bool:
    """The user's namespace folder already carries the prune guard (in its namespace.yaml,
    or in the component its kustomization uses)."""
    key = next(iter(PRUNE_DISABLED))
    texts = [p.read_text() for p in folder.glob("namespace.y*ml") if p.is_file()]
    return any(key in t and "disabled" in t for t in texts)


def _annotation() -> str:
    key, value = next(iter(PRUNE_DISABLED.items()))
    return f"{key}: {value}"


def _prefixes(rel: str) -> list[str]:
    parts = rel.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _strictness(rel: str) -> tuple[bool, bool]:
    return rel == "package.json", not rel.endswith(".json5")


def user_renovate_config(repo: Path, recorded: set[str]) -> str | None:
    """The configuration file Renovate would read, when the user has one."""
    for rel in RENOVATE_FILES:
        path = repo / rel
        if rel in recorded or not path.is_file():
            continue
        if rel == "package.json":
            try:
                data = json.loads(path.read_text())
            except (ValueError, OSError):
                continue
            if not isinstance(data, dict) or "renovate" not in data:
                continue
        return rel
    return None


def _renovate(
    plan: Plan, out: dict[str, str], repo: Path, recorded: set[str],
    recorded_edits: dict[str, list[str]],
) -> tuple[SharedEdit | None, list[str]]:
    if RENOVATE_OUT not in out:
        return None, []
    config_rel = user_renovate_config(repo, recorded)
    if config_rel is None:
        return None, []
    # The user's configuration stays the only one: outfitter's rules become a preset it
    # extends.
    config = json.loads(out.pop(RENOVATE_OUT))
    config.pop("extends", None)
    out[PRESET_FILE] = json.dumps(config, indent=2) + "\n"
    kind = RenovateExtends(*_strictness(config_rel))
    try:
        existing = kind.entries((repo / config_rel).read_text())
    except Exception:
        existing = []
    prefix, example = _preset_prefix(plan, existing, repo)
    ref = f"{prefix}//{PRESET_FILE}"
    notes = [f"{config_rel}: your Renovate configuration stays the only one; outfitter's "
             f"rules are in {PRESET_FILE}, which it extends as {ref}"]
    if example:
        notes.append(f"{config_rel}: that name comes from the profile's example gitops.repoURL "
                     f"(no Git origin here): set gitops.repoURL to this repository's address "
                     f"and render again")
    return SharedEdit(config_rel, (ref,), kind), notes


def _preset_prefix(plan: Plan, existing: list[str], repo: Path) -> tuple[str, bool]:
    """How this repository names itself in presets: as the user's own presets do — an entry
    (`local>owner/repo//.renovate/groups.json5`) whose file is in this repository; shared
    presets of other repositories (`github>home-operations/renovate-presets//…`) are not
    it — else `local>` with the path of its Git origin or gitops.repoURL. And whether that
    is the profile's example address (nothing better was found)."""
    for entry in existing:
        m = _REPO_REF.match(entry)
        if not m:
            continue
        path = entry[m.end():].split("#", 1)[0]
        candidates = [path] if path.endswith((".json", ".json5")) else [
            f"{path}.json", f"{path}.json5", path]
        if any(outside_root(repo / c, repo) is None and (repo / c).is_file()
               for c in candidates):
            return f"{m.group(1)}>{m.group(2)}", False
    url = origin_url(repo) or plan.profile.gitops.repo_url
    path = re.sub(r"^[a-z+]+://[^/]+/|^[^@]+@[^:]+:", "", url).removesuffix(".git").strip("/")
    return f"local>{path}", url == EXAMPLE_REPO_URL
