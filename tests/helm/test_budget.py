"""The budget from rendered objects: replicas, DaemonSets on every node, init containers as
the scheduler counts them, hooks left out."""

from __future__ import annotations

from typing import Any

from outfitter.helm.budget import workload_costs
from outfitter.helm.template import RenderedObject
from outfitter.plan import Cost


def container(name: str, cpu: str, memory: str, limit: str | None = None) -> dict[str, Any]:
    resources: dict[str, Any] = {"requests": {"cpu": cpu, "memory": memory}}
    if limit:
        resources["limits"] = {"memory": limit}
    return {"name": name, "resources": resources}


def workload(kind: str, name: str, spec: dict[str, Any], replicas: int | None = None,
             hook: bool = False) -> RenderedObject:
    meta: dict[str, Any] = {"name": name}
    if hook:
        meta["annotations"] = {"helm.sh/hook": "post-install"}
    body: dict[str, Any] = {"template": {"spec": spec}}
    if replicas is not None:
        body["replicas"] = replicas
    api = "batch/v1" if kind == "Job" else "apps/v1"
    return RenderedObject({"apiVersion": api, "kind": kind, "metadata": meta, "spec": body},
                          "chart/templates/x.yaml")


def test_replicas_daemonsets_init_containers_and_hooks() -> None:
    objects = [
        workload("Deployment", "web", {"containers": [container("a", "100m", "64Mi", "128Mi"),
                                                      container("b", "50m", "32Mi", "64Mi")],
                                       "initContainers": [container("i", "500m", "16Mi",
                                                                    "16Mi")]}, replicas=2),
        workload("DaemonSet", "agent", {"containers": [container("c", "10m", "20Mi")]}),
        workload("Job", "hook", {"containers": [container("h", "1", "1Gi", "1Gi")]},
                 hook=True),
    ]
    costs = {w.workload.name: w for w in workload_costs(objects, nodes=3)}
    assert set(costs) == {"web", "agent"}
    # Per pod: the larger of the containers' sum (150m) and the init container (500m).
    assert costs["web"].pods == 2
    assert costs["web"].cost == Cost(1000, 192, 0, 384)
    assert costs["agent"].pods == 3
    assert costs["agent"].cost == Cost(30, 60, 0, 60)
    assert costs["agent"].unset == ("c: limits.memory",)
