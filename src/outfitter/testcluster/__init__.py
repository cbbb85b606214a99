"""A local Kubernetes control plane (etcd + kube-apiserver + controller-manager + scheduler +
KWOK fake nodes) for outfitter's integration tests. See ``python -m outfitter.testcluster``."""

from outfitter.testcluster.controlplane import (
    CONTROL_PLANE_TOOLS,
    ControlPlane,
    ControlPlaneError,
    missing_tools,
)
from outfitter.tools_dir import tools_base_dir, tools_bin_dir

__all__ = [
    "CONTROL_PLANE_TOOLS",
    "ControlPlane",
    "ControlPlaneError",
    "missing_tools",
    "tools_base_dir",
    "tools_bin_dir",
]
