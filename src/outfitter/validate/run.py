"""Putting a validation together from the command line's choices: which Kubernetes version's
schemas, which CRDs (the cluster's, the --schemas folders', the tree's — later ones win), which
charts, and the cluster to ask. Problems with these choices are input errors (exit 2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import yaml

from outfitter.errors import InputError
from outfitter.helm.template import HelmMissing
from outfitter.helm.validation import HelmPass, Settings
from outfitter.validate.chart_values import ChartLibrary
from outfitter.validate.crd_schema import CrdIndex
from outfitter.validate.engine import ALL_CHECKS, Cluster, Options, validate
from outfitter.validate.findings import Report
from outfitter.validate.k8s_schema import (
    VersionUnavailable,
    available_versions,
    schema_folder,
    schemas_for,
)


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


def build_options(request: Request, cluster: LiveLike | None = None) -> tuple[Options, str]:
    problems = []
    if not request.path.exists():
        problems.append(f"{request.path}: no such file or directory")
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
        builtin = schemas_for(version, request.strict)
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
        charts=ChartLibrary(request.charts) if request.charts is not None else None,
        known_namespaces=frozenset(request.known_namespaces), cluster=cluster,
        server=request.server, checks=request.checks)
    if request.helm is not None:
        try:
            options.helm = HelmPass(request.helm, version)
        except HelmMissing as err:
            raise ValidateInputError([str(err)]) from None
    return options, version


def run(request: Request, cluster: LiveLike | None = None) -> Report:
    options, version = build_options(request, cluster)
    report = validate(request.path, options)
    report.kubernetes_version = version
    assert options.builtin is not None
    report.schema_source = str(schema_folder(version, request.strict))
    return report
