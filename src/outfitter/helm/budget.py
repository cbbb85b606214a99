"""The budget read from what a chart really renders: every pod-running object, its replicas
(a DaemonSet runs on every node) and its containers' requests and limits.

A pod's effective request is what the scheduler reserves: the larger of its containers' sum
and its largest init container. Hooks (install/upgrade Jobs) run once and are not counted;
CronJobs and plain Jobs count one pod, as when they run.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from outfitter.addons.base import Workload, WorkloadKind
from outfitter.helm.template import RenderedObject
from outfitter.plan import Cost, WorkloadCost
from outfitter.quantity import cpu_millis, memory_mib
from outfitter.validate.lint import pod_spec

_KINDS: dict[str, WorkloadKind] = {"Deployment": "Deployment", "StatefulSet": "StatefulSet",
                                   "DaemonSet": "DaemonSet", "CronJob": "CronJob",
                                   "Job": "Job"}


def _container_cost(container: dict[str, Any]) -> tuple[Cost, list[str]]:
    resources = container.get("resources") if isinstance(container.get("resources"),
                                                         dict) else {}
    requests = (resources or {}).get("requests") or {}
    limits = (resources or {}).get("limits") or {}
    unset = [f"{container.get('name')}: {kind}.{r}" for kind, block in
             (("requests", requests), ("limits", limits)) for r in ("cpu", "memory")
             if r not in block and not (kind == "limits" and r == "cpu")]
    return Cost(cpu_millis(requests.get("cpu", 0)), memory_mib(requests.get("memory", 0)),
                cpu_millis(limits.get("cpu", 0)),
                memory_mib(limits.get("memory", requests.get("memory", 0)))), unset


def pod_cost(spec: dict[str, Any]) -> tuple[Cost, list[str]]:
    total = Cost()
    unset: list[str] = []
    for container in spec.get("containers") or []:
        cost, missing = _container_cost(container)
        total, unset = total + cost, unset + missing
    init = Cost()
    for container in spec.get("initContainers") or []:
        cost, missing = _container_cost(container)
        unset += missing
        init = Cost(max(init.cpu_request, cost.cpu_request),
                    max(init.memory_request, cost.memory_request),
                    max(init.cpu_limit, cost.cpu_limit), max(init.memory_limit, cost.memory_limit))
    return Cost(max(total.cpu_request, init.cpu_request),
                max(total.memory_request, init.memory_request),
                max(total.cpu_limit, init.cpu_limit),
                max(total.memory_limit, init.memory_limit)), unset


def workload_costs(objects: Iterable[RenderedObject], nodes: int) -> list[WorkloadCost]:
    out = []
    for item in objects:
        obj = item.obj
        kind = _KINDS.get(str(obj.get("kind")))
        found = pod_spec(obj)
        if kind is None or found is None or item.is_hook:
            continue
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        if kind == "DaemonSet":
            pods = nodes
        elif kind in ("Deployment", "StatefulSet"):
            replicas = (spec or {}).get("replicas")
            pods = int(replicas) if isinstance(replicas, int) else 1
        else:
            pods = 1
        cost, unset = pod_cost(found[0])
        name = str((obj.get("metadata") or {}).get("name"))
        out.append(WorkloadCost(Workload(name, kind, resources_path=f"({item.source})"),
                                pods, cost.times(pods), tuple(unset)))
    return sorted(out, key=lambda w: (w.workload.kind, w.workload.name))
