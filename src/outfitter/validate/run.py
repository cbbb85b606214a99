"""Putting a validation together from the command line's choices: which Kubernetes version's
schemas, which CRDs (the cluster's, the --schemas folders', the tree's — later ones win), which
charts, and the cluster to ask. Problems with these choices are input errors (exit 2)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import yaml

from outfitter.errors import InputError
from outfitter.repo import model as repo_model
from outfitter.repo.fs import find_git_root
from outfitter.validate import profile_cache
from outfitter.validate.crd_schema import CrdIndex
from outfitter.validate.engine import ALL_CHECKS, Cluster, Options, validate
from outfitter.validate.findings import Report
from outfitter.validate.k8s_schema import (
    VersionUnavailable,
    available_versions,
    schema_folder,
    schemas_for,
)
from outfitter.validate.parse_cache import cache_dir as parse_cache_dir

if TYPE_CHECKING:
    # Imported where used: the profile's models (pydantic), the chart values' JSON Schema
    # library and the Helm pass cost more start-up than validating a small tree, and most
    # runs need none of them.
    from outfitter.config import Profile
    from outfitter.helm.validation import Settings
    from outfitter.validate.chart_values import ChartLibrary


class ValidateInputError(InputError):
    """A choice validate cannot work with (exit 2)."""


class LiveLike(Cluster, Protocol):
    def version(self) -> str | None: ...

    def crds(self) -> list[dict[str, object]]: ...


@dataclass
class Request:
    path: Path
    strict: bool = True
    schemas: list[Path] = field(default_factory=list)
    charts: Path | None = None
    kubernetes_version: str | None = None
    known_namespaces: list[str] = field(default_factory=list)
    server: bool = False
    checks: frozenset[str] = ALL_CHECKS
    helm: Settings | None = None  # --helm
    profile: Path | None = None  # outfitter.yaml; found beside the tree when not given
    source: str | None = None  # the repository's own Flux source (--source)
    start: Path | None = None  # start from this folder (--path), as flate does
    source_dirs: dict[str, Path] = field(default_factory=dict)  # --source-dir NAME=DIR
    # Unchanged files' documents kept between runs (validate.parse_cache); None: not kept.
    parse_cache: Path | None = field(default_factory=parse_cache_dir)


def pick_version(wanted: str | None, cluster: LiveLike | None) -> str:
    """The version asked for; else the cluster's; else the newest with schemas here."""
    have = available_versions()
    if wanted:
        return wanted.lstrip("v")
    if cluster is not None:
        live = cluster.version()
        if live:
            minor = ".".join(live.lstrip("v").split(".")[:2])
            if minor in have:
                return minor
    if not have:
        raise ValidateInputError(["no Kubernetes schemas installed (the kubernetes-validate "
                                  "package ships them)"])
    return have[-1]


PROFILE_NAME = "outfitter.yaml"
RECORD_NAME = ".outfitter.json"


def profile_file(request: Request) -> tuple[Path | None, str]:
    """Where the profile the tree was made from is, without reading it: (--profile, its
    name), else (outfitter.yaml in the tree's folder or above it, up to the repository),
    else (None, the render record) when outfitter's record says outfitter rendered the tree
    from the built-in profile; (None, "") for any other tree."""
    if request.profile is not None:
        return request.profile, str(request.profile)
    here = os.path.realpath(request.path)
    here = here if os.path.isdir(here) else os.path.dirname(here)
    top = find_git_root(here) or here
    while True:
        candidate = os.path.join(here, PROFILE_NAME)
        if os.path.isfile(candidate):
            return Path(candidate), candidate
        if os.path.isfile(os.path.join(here, RECORD_NAME)):
            return None, os.path.join(here, RECORD_NAME)
        if here == top or os.path.dirname(here) == here:
            return None, ""
        here = os.path.dirname(here)


def _namespaces_in(path: Path | None) -> set[str]:
    from outfitter.config import load_profile

    return profile_namespaces(load_profile(path))  # None: the built-in profile


def profile_namespaces(profile: Profile) -> set[str]:
    """Namespaces the profile names (the existing stack's: monitoring, Argo CD, the apps
    add-ons wire into): every string under a key that names a namespace."""
    found: set[str] = set()

    def walk(value: object, key: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, str(k))
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and value and "amespace" in key:
            found.add(value)

    walk(profile.model_dump(by_alias=True), "")
    return found


def _start_folder(request: Request) -> tuple[Path | None, str | None]:
    """--path as a folder of the repository validated: taken from the current folder, else
    from the folder validated (`validate REPO --path clusters/main`); (None, why) when it
    is no folder there."""
    if request.start is None or not request.path.exists():
        return None, None
    base = request.path if request.path.is_dir() else request.path.parent
    found = next((p for p in (request.start, base / request.start) if p.is_dir()), None)
    if found is None:
        return None, f"--path {request.start}: not a directory"
    repo = Path(find_git_root(os.path.realpath(base)) or os.path.realpath(base))
    if not Path(os.path.realpath(found)).is_relative_to(repo):
        return None, f"--path {request.start}: not in the repository validated ({repo})"
    return found, None


def build_options(request: Request, cluster: LiveLike | None = None) -> tuple[Options, str]:
    problems = []
    if not request.path.exists():
        problems.append(f"{request.path}: no such file or directory")
    elif not (request.path.is_dir() or request.path.is_file()):
        problems.append(f"{request.path}: not a file or a folder (a device, a FIFO or a "
                        f"socket is never read)")
    start, why = _start_folder(request)
    if why is not None:
        problems.append(why)
    for name, folder in request.source_dirs.items():
        if not folder.is_dir():
            problems.append(f"--source-dir {name}={folder}: not a directory")
    known = set(request.known_namespaces)
    path, where = profile_file(request) if not problems else (None, "")
    if where:
        # Kept between runs: reading the profile imports pydantic and every add-on.
        try:
            known |= profile_cache.namespaces(path, lambda: _namespaces_in(path),
                                              request.parse_cache)
        except InputError as err:
            from outfitter.config import ProfileError  # imported: the profile was just read

            if not isinstance(err, ProfileError):
                raise
            problems += err.problems
    for folder in request.schemas:
        if not folder.exists():
            problems.append(f"--schemas {folder}: no such file or directory")
    if request.charts is not None and not request.charts.is_dir():
        problems.append(f"--charts {request.charts}: not a directory")
    if request.server and cluster is None:
        problems.append("--server needs a cluster: give --kubeconfig (or set KUBECONFIG)")
    if problems:
        raise ValidateInputError(problems)
    try:
        version = pick_version(request.kubernetes_version, cluster)
        cluster_crds = cluster.crds() if cluster is not None else []
    except ValidateInputError:
        raise
    except Exception as err:  # unreachable, refused, forbidden: one line, exit 2
        raise ValidateInputError([f"cannot read the cluster: {err}"]) from None
    try:
        # The parse cache's folder also keeps the schema definitions, parsed once.
        builtin = schemas_for(version, request.strict, cache=request.parse_cache)
    except VersionUnavailable as err:
        raise ValidateInputError([str(err)]) from None
    crds = CrdIndex(strict=request.strict)
    for crd in cluster_crds:
        crds.add_crd(crd)
    for folder in request.schemas:
        try:
            crds.add_path(folder)
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
            raise ValidateInputError([f"--schemas {folder}: {err}"]) from None
    options = Options(
        strict=request.strict, builtin=builtin, crds=crds,
        charts=_charts(request.charts),
        known_namespaces=frozenset(known), cluster=cluster,
        server=request.server, checks=request.checks, parse_cache=request.parse_cache,
        repo=repo_model.Options(
            source=request.source,
            path=str(start) if start is not None else None,
            source_dirs={k: str(v) for k, v in request.source_dirs.items()}))
    if request.helm is not None:
        from outfitter.helm.template import HelmMissing
        from outfitter.helm.validation import HelmPass

        try:
            options.helm = HelmPass(request.helm, version)
        except HelmMissing as err:
            raise ValidateInputError([str(err)]) from None
    return options, version


def _charts(folder: Path | None) -> ChartLibrary | None:
    if folder is None:
        return None
    from outfitter.validate.chart_values import ChartLibrary

    return ChartLibrary(folder)


def run(request: Request, cluster: LiveLike | None = None,
        progress: Callable[[str], None] | None = None) -> Report:
    options, version = build_options(request, cluster)
    options.progress = progress
    report = validate(request.path, options)
    report.kubernetes_version = version
    assert options.builtin is not None
    report.schema_source = str(schema_folder(version, request.strict))
    return report
