"""Where the upstream reference data lives (charts, CRDs, schemas), for tests only.

It sits beside the repository in ../shared/upstream (OUTFITTER_UPSTREAM overrides). Tests that
need it skip when it is absent, e.g. outside this repository's CI.
"""

from __future__ import annotations

import os
import tarfile
from functools import cache
from pathlib import Path

from outfitter import yamlio
from outfitter.addons.base import Chart
from outfitter.testcluster import tools_base_dir
from outfitter.validate.chart_values import ChartFolder, merged
from outfitter.validate.crd_schema import CrdIndex

REPO = Path(__file__).resolve().parents[1]
UPSTREAM = Path(os.environ.get("OUTFITTER_UPSTREAM", REPO.parent / "shared" / "upstream"))

# Chart name -> folder in upstream/charts, where they differ.
CHART_FOLDERS = {
    ("loki", "oci://ghcr.io/grafana-community/helm-charts/loki"): "loki-community",
    ("tempo", "oci://ghcr.io/grafana-community/helm-charts/tempo"): "tempo-community",
}
# cert-manager's Chart.yaml in git says v0.0.0; the release tool sets the version. The copy is
# of tag v1.21.1 (SOURCES.md note CM), so that is the published version it stands for.
PUBLISHED_VERSION = {"cert-manager": "v1.21.1"}
# Parent folder -> {values key: folder} for subcharts copied beside their parent: Helm reads a
# subchart's values under its name in the parent's values, so its keys are known there too.
SUBCHARTS = {"falco": {"falcosidekick": "falcosidekick"}}
# Subcharts only in a packed chart (../shared/upstream/helm-charts): parent folder -> {values
# key: (package, values.yaml inside it)}.
PACKED_SUBCHARTS = {"kubecost": {"finopsagent": (
    "kubecost-3.2.1.tgz", "kubecost/charts/finops-agent/values.yaml")}}


def available() -> bool:
    return (UPSTREAM / "charts").is_dir() and (UPSTREAM / "crds").is_dir()


def chart_folder(chart: Chart) -> ChartFolder:
    name = CHART_FOLDERS.get((chart.name, chart.repository), chart.name)
    return _folder(name)


@cache
def _folder(name: str) -> ChartFolder:
    folder = ChartFolder(UPSTREAM / "charts" / name)
    for key, sub in SUBCHARTS.get(name, {}).items():
        folder.defaults[key] = merged(_folder(sub).defaults, folder.defaults.get(key) or {})
    for key, (package, member) in PACKED_SUBCHARTS.get(name, {}).items():
        with tarfile.open(UPSTREAM / "helm-charts" / package) as archive:
            handle = archive.extractfile(member)
            assert handle is not None, member
            defaults = yamlio.load(handle.read().decode()) or {}
        folder.defaults[key] = merged(defaults, folder.defaults.get(key) or {})
    return folder


def published_version(chart: Chart) -> str:
    folder = chart_folder(chart)
    return PUBLISHED_VERSION.get(folder.folder.name, folder.version)


# CRDs the shared data lacks (Gateway API, envoy-gateway, flux-operator): tools/build.sh
# copies them from their Go modules (tools/crds/go.mod pins the versions).
TOOL_CRDS = tools_base_dir() / "crds"
TOOL_CRD_GROUPS = ("gateway.networking.k8s.io", "gateway.envoyproxy.io", "fluxcd.controlplane.io")


def tool_crds_available() -> bool:
    return all((TOOL_CRDS / d).is_dir() for d in ("gateway-api", "envoy-gateway",
                                                  "flux-operator"))


def crd_paths() -> list[Path]:
    """Every CRD file the tests know: the shared upstream copies, and the tools' when built."""
    paths = sorted((UPSTREAM / "crds").rglob("*.yaml"))
    if tool_crds_available():
        paths += sorted(TOOL_CRDS.rglob("*.yaml"))
    return paths


@cache
def crd_index() -> CrdIndex:
    index = CrdIndex(strict=True)
    index.add_path(UPSTREAM / "crds")
    if tool_crds_available():
        index.add_path(TOOL_CRDS)
    return index
