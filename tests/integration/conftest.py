"""Fixtures for integration tests against a real (local, KWOK-noded) control plane."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from lightkube import Client, codecs
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition

import upstream_data
from outfitter import yamlio
from outfitter.cluster.apply import load_cluster_kinds
from outfitter.testcluster import (
    ControlPlane,
    ControlPlaneError,
    missing_tools,
    tools_base_dir,
    tools_bin_dir,
)

_STARTUP_KEY = pytest.StashKey[float]()


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def control_plane(request: pytest.FixtureRequest) -> Iterator[ControlPlane]:
    """One control plane (3 fake nodes) shared by the whole session."""
    missing = missing_tools()
    if missing:
        msg = (f"control-plane binaries missing in {tools_base_dir()}: {', '.join(missing)}; "
               "run tools/build.sh")
        if _in_ci():
            # CI must not go green by silently skipping the integration suite.
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    began = time.monotonic()
    cp = ControlPlane(nodes=3)
    try:
        cp.start()
    except ControlPlaneError as exc:
        pytest.fail(f"control plane failed to start: {exc}", pytrace=False)
    elapsed = time.monotonic() - began
    request.config.stash[_STARTUP_KEY] = elapsed
    print(f"\ncontrol plane up in {elapsed:.1f}s at {cp.server} (workdir {cp.workdir})")
    try:
        yield cp
    finally:
        cp.stop()


@pytest.fixture(scope="session")
def kube_client(control_plane: ControlPlane) -> Iterator[Client]:
    """A lightkube Client acting as cluster admin (system:masters)."""
    # Large CRDs take the API server more than the default 10 s to store on a busy machine.
    client = control_plane.client(timeout=httpx2.Timeout(60.0))
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="session")
def kyverno() -> Path:
    """The Kyverno CLI built by tools/build.sh (fails in CI, skips elsewhere, when missing)."""
    binary = tools_bin_dir() / "kubectl-kyverno"
    if not binary.exists():
        msg = f"{binary} missing; run tools/build.sh"
        if _in_ci():
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    return binary


def install_upstream_crds(client: Client) -> int:
    """Every upstream CRD (../shared/upstream/crds, and the Gateway API, envoy-gateway and
    flux-operator ones tools/build.sh copies) installed and Established; how many."""
    if not upstream_data.available():
        pytest.skip(f"upstream reference data not found at {upstream_data.UPSTREAM}")
    names = []
    for path in upstream_data.crd_paths():
        # outfitter's loader: PyYAML's own would misread a bare `=` in the Kyverno CRDs.
        for doc in yamlio.load_all(path.read_text()):
            crd = codecs.from_dict(doc)
            if isinstance(crd, CustomResourceDefinition):
                client.apply(crd, field_manager="outfitter-tests", force=True)
                assert crd.metadata is not None and crd.metadata.name
                names.append(crd.metadata.name)
    deadline = time.monotonic() + 60
    for name in names:
        while True:
            got = client.get(CustomResourceDefinition, name)
            conditions = (got.status.conditions or []) if got.status else []
            if any(c.type == "Established" and c.status == "True" for c in conditions):
                break
            assert time.monotonic() < deadline, f"CRD {name} not Established"
            time.sleep(0.2)
    load_cluster_kinds(client)
    return len(names)


@pytest.fixture(scope="session")
def crds_installed(kube_client: Client) -> Iterator[int]:
    """The shared control plane with every upstream CRD installed; yields how many."""
    yield install_upstream_crds(kube_client)


def start_control_plane(nodes: int = 3) -> ControlPlane:
    """A control plane of a test module's own (fails in CI, skips elsewhere, when the tools
    are missing), for tests whose cluster-wide reads must not see other tests' objects."""
    missing = missing_tools()
    if missing:
        msg = (f"control-plane binaries missing in {tools_base_dir()}: {', '.join(missing)}; "
               "run tools/build.sh")
        if _in_ci():
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    cp = ControlPlane(nodes=nodes)
    try:
        cp.start()
    except ControlPlaneError as exc:
        pytest.fail(f"control plane failed to start: {exc}", pytrace=False)
    return cp


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    # Fixture output is captured; surface the start-up time in every run's summary.
    elapsed = terminalreporter.config.stash.get(_STARTUP_KEY, None)
    if elapsed is not None:
        terminalreporter.write_line(f"test control plane start-up: {elapsed:.1f}s")
