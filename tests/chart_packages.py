"""The packed upstream charts at the pinned versions (../shared/upstream/helm-charts), as a
`--charts` folder for tests.

One package cannot be templated as shipped: kyverno-3.9.0.tgz lacks two dependencies
(`kyverno-api`, `openreports`; ORIGINS.md note K). For it the folder holds the chart
unpacked with EMPTY STAND-IN subcharts of those names and versions — a fake, named here: the
CRDs those subcharts carry are installed from ../shared/upstream/crds instead.
"""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path

import pytest

import upstream_data
from outfitter import yamlio

PACKAGES = upstream_data.UPSTREAM / "helm-charts"
STAND_INS = {"kyverno": ("kyverno-api", "openreports")}


def available() -> bool:
    return PACKAGES.is_dir() and any(PACKAGES.glob("*.tgz"))


def require() -> None:
    if not available():
        pytest.skip(f"packed charts not found at {PACKAGES}")


def charts_folder(into: Path) -> Path:
    """A --charts folder: every package, and the ones that need stand-ins unpacked."""
    into.mkdir(parents=True, exist_ok=True)
    for package in sorted(PACKAGES.glob("*.tgz")):
        name = package.name.rsplit("-", 1)[0]
        if name not in STAND_INS:
            (into / package.name).symlink_to(package)
            continue
        with tarfile.open(package) as archive:
            archive.extractall(into / "unpacked", filter="data")
        folder = into / "unpacked" / name
        meta = yamlio.load((folder / "Chart.yaml").read_text())
        for dep in meta.get("dependencies") or []:
            if dep["name"] in STAND_INS[name]:
                stand_in = folder / "charts" / dep["name"]
                (stand_in / "templates").mkdir(parents=True, exist_ok=True)
                (stand_in / "Chart.yaml").write_text(
                    f"apiVersion: v2\nname: {dep['name']}\nversion: {dep['version']}\n"
                    f"description: empty stand-in (tests/chart_packages.py)\n")
        shutil.move(folder, into / name)
    shutil.rmtree(into / "unpacked", ignore_errors=True)
    return into


def upstream_crds() -> list[dict[str, object]]:
    """The CRDs of ../shared/upstream/crds (what the test control plane serves)."""
    out = []
    for path in sorted((upstream_data.UPSTREAM / "crds").rglob("*.yaml")):
        out += [d for d in yamlio.load_all(path.read_text())
                if isinstance(d, dict) and d.get("kind") == "CustomResourceDefinition"]
    return out
