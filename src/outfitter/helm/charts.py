"""Where a HelmRelease's chart comes from.

In order: a `--charts DIR` (packed `.tgz` files or chart folders, found by the name and
version in their Chart.yaml), the chart cache under the user's cache directory, or a pull
from the source the tree declares (HelmRepository, OCIRepository, GitRepository) into that
cache. `--offline` refuses pulls: the chart that is missing is named instead.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from outfitter import yamlio


class ChartUnavailable(Exception):
    """The chart cannot be had (not local, not cached, and pulling failed or is refused)."""


@dataclass(frozen=True)
class ChartSource:
    """The chart a HelmRelease asks for, and where Flux would fetch it."""

    name: str
    version: str | None  # None: whatever the source serves (a GitRepository's revision)
    # HelmRepository | OCIRepository | GitRepository | Local | Repository (a folder of the
    # repository validated, git_path: helm.local_charts)
    kind: str
    url: str = ""
    git_ref: str | None = None
    git_path: str | None = None

    @property
    def label(self) -> str:
        version = f" {self.version}" if self.version else ""
        where = f" from {self.url}" if self.url else ""
        return f"chart {self.name}{version}{where}"


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(os.environ.get("OUTFITTER_CHART_CACHE") or Path(base) / "outfitter" / "charts")


def _meta_of_tgz(path: Path) -> dict[str, Any] | None:
    try:
        with tarfile.open(path, "r:gz") as archive:
            for member in archive:
                parts = member.name.split("/")
                if len(parts) == 2 and parts[1] == "Chart.yaml" and member.isfile():
                    handle = archive.extractfile(member)
                    if handle is None:
                        return None
                    meta = yamlio.load(handle.read().decode())
                    return meta if isinstance(meta, dict) else None
    except (OSError, tarfile.TarError, UnicodeDecodeError):
        return None
    return None


def _meta_of_folder(path: Path) -> dict[str, Any] | None:
    try:
        meta = yamlio.load((path / "Chart.yaml").read_text())
    except (OSError, UnicodeDecodeError):
        return None
    except Exception:  # a broken Chart.yaml: not a chart
        return None
    return meta if isinstance(meta, dict) else None


def _same_version(a: str, b: str) -> bool:
    return a.lstrip("v") == b.lstrip("v")


class ChartStore:
    """Finds, and if allowed pulls, the chart for a ChartSource; a path helm can template."""

    def __init__(self, local: Path | None = None, cache: Path | None = None,
                 offline: bool = False, helm: str = "helm", git: str | None = None) -> None:
        self.local = local
        self.cache = cache or cache_dir()
        self.offline = offline
        self.helm = helm
        self.git = git or shutil.which("git") or "git"
        self._index: list[tuple[str, str, Path]] | None = None
        self.pulled: list[str] = []  # labels of the charts pulled in this run

    def _local_index(self) -> list[tuple[str, str, Path]]:
        if self._index is None:
            self._index = []
            if self.local is not None and self.local.is_dir():
                for child in sorted(self.local.iterdir()):
                    meta = _meta_of_tgz(child) if child.name.endswith(".tgz") else \
                        _meta_of_folder(child) if child.is_dir() else None
                    if meta and meta.get("name"):
                        self._index.append((str(meta["name"]), str(meta.get("version", "")),
                                            child))
        return self._index

    def find_local(self, source: ChartSource) -> Path | None:
        named = [(v, p) for n, v, p in self._local_index() if n == source.name]
        if source.version is None:
            return named[0][1] if named else None
        for version, path in named:
            if _same_version(version, source.version):
                return path
        return None

    def _cache_entry(self, source: ChartSource) -> Path:
        key = "\0".join((source.kind, source.url, source.name, source.version or "",
                         source.git_ref or "", source.git_path or ""))
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        version = source.version or source.git_ref or "head"
        return self.cache / f"{source.name}-{version}-{digest}"

    def get(self, source: ChartSource) -> Path:
        found = self.find_local(source)
        if found is not None:
            return found
        entry = self._cache_entry(source)
        chart = self._cached(entry)
        if chart is not None:
            return chart
        if self.offline:
            where = f"--charts {self.local} or " if self.local is not None else ""
            raise ChartUnavailable(f"{source.label} is not in {where}the chart cache "
                                   f"({self.cache}) and --offline forbids pulling it")
        if source.kind == "Local":
            raise ChartUnavailable(f"{source.label}: not found in --charts")
        self._pull(source, entry)
        chart = self._cached(entry)
        if chart is None:
            raise ChartUnavailable(f"{source.label}: pulled, but no chart came out")
        self.pulled.append(source.label)
        return chart

    @staticmethod
    def _cached(entry: Path) -> Path | None:
        if not entry.is_dir():
            return None
        for child in sorted(entry.iterdir()):
            if child.name.endswith(".tgz") or (child / "Chart.yaml").is_file():
                return child
        return None

    def _pull(self, source: ChartSource, entry: Path) -> None:
        self.cache.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".pull-", dir=self.cache))
        try:
            if source.kind == "GitRepository":
                self._pull_git(source, staging)
            else:
                self._pull_helm(source, staging)
            try:
                staging.rename(entry)  # atomic: a half-pulled chart is never in the cache
            except OSError:
                if not entry.is_dir():
                    raise
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)

    def _pull_helm(self, source: ChartSource, into: Path) -> None:
        if source.kind == "OCIRepository":
            args = [self.helm, "pull", source.url]
        else:
            args = [self.helm, "pull", source.name, "--repo", source.url]
        if source.version:
            args += ["--version", source.version]
        args += ["--destination", str(into)]
        done = subprocess.run(args, capture_output=True, text=True, check=False,
                              env={**os.environ, **_helm_home(self.cache)})
        if done.returncode != 0:
            raise ChartUnavailable(f"{source.label}: helm pull failed: "
                                   f"{_last_line(done.stderr)}")

    def _pull_git(self, source: ChartSource, into: Path) -> None:
        clone = into / ".git-clone"
        args = [self.git, "clone", "--quiet", "--depth", "1"]
        if source.git_ref:
            args += ["--branch", source.git_ref]
        done = subprocess.run([*args, source.url, str(clone)], capture_output=True, text=True,
                              check=False, env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
        if done.returncode != 0:
            raise ChartUnavailable(f"{source.label}: git clone failed: "
                                   f"{_last_line(done.stderr)}")
        folder = (clone / (source.git_path or ".")).resolve()
        if not folder.is_relative_to(clone.resolve()) or \
                not (folder / "Chart.yaml").is_file():
            raise ChartUnavailable(f"{source.label}: {source.git_path or '.'} holds no "
                                   f"Chart.yaml at {source.git_ref or 'the default branch'}")
        shutil.copytree(folder, into / source.name, symlinks=False)
        shutil.rmtree(clone, ignore_errors=True)


def _helm_home(cache: Path) -> dict[str, str]:
    """helm's own state (repository index cache, registry config) kept beside the charts,
    never in the user's helm configuration."""
    home = cache / ".helm"
    return {"HELM_CACHE_HOME": str(home / "cache"), "HELM_CONFIG_HOME": str(home / "config"),
            "HELM_DATA_HOME": str(home / "data")}


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no message"
