"""Charts kept in the repository itself, templated from the working tree.

A HelmRelease whose chart comes from the repository's own GitRepository (`chart:
./charts/app`, the chart folder a path in the source) is the chart as it stands in the
checkout: nothing is cloned. source-controller packs the chart from its artifact and
builds its dependencies; so is it done here, offline where the repository has what it
needs:
- a dependency already in the chart's `charts/` folder is used as it is;
- a `file://` dependency is taken from its folder in the repository;
- any other is asked of the chart store (--charts, the chart cache; a pull unless
  --offline), as a chart of its repository;
- `valuesFiles` (paths in the source) replace the chart's values.yaml by their merge, in
  order, as source-controller packs them.

The chart is copied into the chart cache, under a digest of what it holds, before helm
reads it: helm follows symlinks, and the copy holds only the files of the repository's
boundary (a symlink whose target leaves it is left out), so no read leaves the repository.
A copy of the same content is made once and shared by every run.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from outfitter import yamlio
from outfitter.helm.charts import ChartSource, ChartStore, ChartUnavailable
from outfitter.helm.values import merge

MAX_FILES = 5000  # a chart folder larger than this is not a chart a controller would pack
MAX_BYTES = 50 * 1024 * 1024

Inside = Callable[[str], bool]  # a path (absolute, normalised) stays in the repository


def local_chart(folder: str, inside: Inside, store: ChartStore,
                values_files: Sequence[tuple[str, str]] = (), shown: str = "",
                chain: tuple[str, ...] = ()) -> Path:
    """A copy of the chart in `folder` (named `shown` in messages) helm can template: its
    dependencies in charts/, values.yaml replaced by `values_files` ([(name as given,
    text)]) when there are any."""
    shown = shown or os.path.basename(folder.rstrip(os.sep))
    files = _files(folder, inside, shown)
    if "Chart.yaml" not in files:
        raise ChartUnavailable(f"{shown} holds no Chart.yaml")
    meta = _meta(files["Chart.yaml"], "Chart.yaml")
    name = _folder_name(str(meta.get("name") or ""), os.path.basename(folder))
    digest = hashlib.sha256()
    for rel in sorted(files):
        digest.update(rel.encode() + b"\0" + files[rel] + b"\0")
    for given, text in values_files:
        digest.update(b"values\0" + given.encode() + b"\0" + text.encode() + b"\0")
    entry = store.cache / f"repository-{name}-{digest.hexdigest()[:16]}"
    chart = entry / name
    if (chart / "Chart.yaml").is_file():
        return chart
    store.cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".local-", dir=store.cache))
    try:
        copy = staging / name
        for rel, content in files.items():
            target = copy / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        _dependencies(folder, shown, copy, meta, files, inside, store, (*chain, folder))
        if values_files:
            merged: dict[str, Any] = {}
            for given, text in values_files:
                merged = merge(merged, _values(text, given))
            (copy / "values.yaml").write_text(yamlio.dump(merged) if merged else "")
        try:
            staging.rename(entry)  # atomic: a half-made copy is never used
        except OSError:
            if not (chart / "Chart.yaml").is_file():
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return chart


def _files(folder: str, inside: Inside, shown: str) -> dict[str, bytes]:
    """The chart's files (relative name -> content, read once), regular files only, each
    inside the repository (symlinks followed only there), bounded."""
    found: dict[str, bytes] = {}
    total = 0
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        here = os.path.join(folder, rel_dir) if rel_dir else folder
        try:
            with os.scandir(here) as scan:
                entries = sorted(scan, key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            path = os.path.join(here, entry.name)
            if entry.name == ".git" or not inside(path):  # a link out of it included
                continue
            if os.path.isdir(path):
                if not entry.is_symlink():  # a linked folder is not walked (no cycles)
                    stack.append(rel)
                continue
            if not os.path.isfile(path):
                continue
            total += os.path.getsize(path)
            if len(found) >= MAX_FILES or total > MAX_BYTES:
                raise ChartUnavailable(f"{shown}: over {MAX_FILES} files or "
                                       f"{MAX_BYTES // 2 ** 20} MiB, not a chart to template")
            with open(path, "rb") as handle:
                found[rel] = handle.read()
    return found


def _dependencies(folder: str, shown: str, copy: Path, meta: dict[str, Any],
                  files: dict[str, bytes], inside: Inside, store: ChartStore,
                  chain: tuple[str, ...]) -> None:
    """Each dependency the chart lists, in charts/ of the copy unless already there."""
    listed = meta.get("dependencies")
    if listed is None and "requirements.yaml" in files:  # a chart of apiVersion v1
        listed = _meta(files["requirements.yaml"], "requirements.yaml").get("dependencies")
    present = {rel.split("/")[1] for rel in files if rel.startswith("charts/")}
    for dep in listed if isinstance(listed, list) else []:
        if not isinstance(dep, dict) or not dep.get("name"):
            continue
        name = str(dep["name"])
        version = str(dep.get("version") or "") or None
        if name in present or any(p.startswith(f"{name}-") and p.endswith(".tgz")
                                  for p in present):
            continue
        repository = str(dep.get("repository") or "")
        target = copy / "charts"
        target.mkdir(exist_ok=True)
        if repository.startswith("file://"):
            rel = repository[len("file://"):]
            source = os.path.normpath(os.path.join(folder, rel))
            if source in chain:
                raise ChartUnavailable(f"dependency {name} of {shown}: {repository} depends "
                                       f"on a chart that depends on it (a cycle)")
            if not inside(source):
                raise ChartUnavailable(f"dependency {name} of {shown}: {repository} "
                                       f"is outside the repository")
            if not os.path.isfile(os.path.join(source, "Chart.yaml")):
                raise ChartUnavailable(f"dependency {name} of {shown}: {repository} "
                                       f"holds no Chart.yaml")
            sub = local_chart(source, inside, store, shown=os.path.normpath(
                os.path.join(shown, rel)), chain=chain)
            shutil.copytree(sub, target / _folder_name(name, "dependency"), symlinks=False)
            continue
        if not repository:
            raise ChartUnavailable(f"dependency {name} of {shown} is not in its "
                                   f"charts/ folder and names no repository")
        kind = "OCIRepository" if repository.startswith("oci://") else "HelmRepository"
        url = f"{repository.rstrip('/')}/{name}" if kind == "OCIRepository" else repository
        try:
            found = store.get(ChartSource(name, version, kind, url))
        except ChartUnavailable as err:
            raise ChartUnavailable(f"dependency {name} of {shown}: {err}") from None
        if found.is_dir():
            shutil.copytree(found, target / _folder_name(name, "dependency"), symlinks=False)
        else:
            shutil.copyfile(found, target / found.name)


def _folder_name(name: str, fallback: str) -> str:
    """A chart's name as a folder name: one path segment whatever Chart.yaml says."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".")
    return safe or re.sub(r"[^A-Za-z0-9._-]", "_", fallback).lstrip(".") or "chart"


def _meta(content: bytes, name: str) -> dict[str, Any]:
    try:
        meta = yamlio.load_checked(content.decode("utf-8"), where=name)
    except (UnicodeDecodeError, yamlio.YamlInputError) as err:
        raise ChartUnavailable(f"{name}: {err}") from None
    if not isinstance(meta, dict):
        raise ChartUnavailable(f"{name}: not a map")
    return meta


def _values(text: str, given: str) -> dict[str, Any]:
    try:
        loaded = yamlio.load_checked(text, where=given) if text.strip() else {}
    except yamlio.YamlInputError as err:
        raise ChartUnavailable(f"values file {given}: {err}") from None
    if loaded is not None and not isinstance(loaded, dict):
        raise ChartUnavailable(f"values file {given} is not a map of values")
    return loaded or {}
