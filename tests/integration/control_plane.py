"""The test control plane and CRDs for integration tests: shared by conftest's fixtures and
by tests that need a control plane of their own. (A module of its own name: several test
folders have a conftest, and `from conftest import` would find whichever came first.)"""

from __future__ import annotations

import time

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
)
from tool_needs import unavailable


def require_tools() -> None:
    """The control plane's binaries (unavailable() when one is missing)."""
    missing = missing_tools()
    if missing:
        unavailable(f"control-plane binaries missing in {tools_base_dir()}: "
                    f"{', '.join(missing)}; run tools/build.sh")


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


def start_control_plane(nodes: int = 3) -> ControlPlane:
    """A control plane of a test module's own (fails in CI, skips elsewhere, when the tools
    are missing), for tests whose cluster-wide reads must not see other tests' objects."""
    require_tools()
    cp = ControlPlane(nodes=nodes)
    try:
        cp.start()
    except ControlPlaneError as exc:
        pytest.fail(f"control plane failed to start: {exc}", pytrace=False)
    return cp
