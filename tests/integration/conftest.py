"""Fixtures for integration tests against a real (local, KWOK-noded) control plane."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from lightkube import Client

from outfitter.testcluster import ControlPlane, ControlPlaneError, missing_tools, tools_base_dir

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
    client = control_plane.client()
    try:
        yield client
    finally:
        client.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    # Fixture output is captured; surface the start-up time in every run's summary.
    elapsed = terminalreporter.config.stash.get(_STARTUP_KEY, None)
    if elapsed is not None:
        terminalreporter.write_line(f"test control plane start-up: {elapsed:.1f}s")
