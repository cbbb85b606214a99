"""Fixtures for integration tests against a real (local, KWOK-noded) control plane."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from control_plane import install_upstream_crds, require_tools
from lightkube import Client

from outfitter.testcluster import ControlPlane, ControlPlaneError
from tool_needs import built_tool

_STARTUP_KEY = pytest.StashKey[float]()


@pytest.fixture(scope="session")
def control_plane(request: pytest.FixtureRequest) -> Iterator[ControlPlane]:
    """One control plane (3 fake nodes) shared by the whole session."""
    require_tools()
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
    return built_tool("kubectl-kyverno")


@pytest.fixture(scope="session")
def crds_installed(kube_client: Client) -> Iterator[int]:
    """The shared control plane with every upstream CRD installed; yields how many."""
    yield install_upstream_crds(kube_client)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    # Fixture output is captured; surface the start-up time in every run's summary.
    elapsed = terminalreporter.config.stash.get(_STARTUP_KEY, None)
    if elapsed is not None:
        terminalreporter.write_line(f"test control plane start-up: {elapsed:.1f}s")
