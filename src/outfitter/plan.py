"""The plan: which add-ons, in which dependency waves, what they need from each other, and
what they cost against the cluster's allocatable resources.

Everything here is computed from the add-on contract and the values outfitter will render,
so the plan and the rendered tree cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from typing import Any

from outfitter.addons import registry
from outfitter.addons.base import Addon, Rendered, Workload, deep_merge
from outfitter.addons.context import Context
from outfitter.addons.storage_contract import ObjectStore
from outfitter.config import Profile, ProfileError
from outfitter.quantity import cpu_millis, memory_mib

# API groups the existing stack serves, so add-ons may use them from the first wave.
EXISTING_GROUPS = {
    "monitoring.coreos.com": "kube-prometheus-stack",
    "external-secrets.io": "external-secrets",
    "traefik.io": "traefik",
    "argoproj.io": "argocd",
}
BUILT_IN_GROUPS = {"", "apps", "batch", "policy", "rbac.authorization.k8s.io",
                   "networking.k8s.io", "autoscaling", "scheduling.k8s.io", "storage.k8s.io"}


@dataclass(frozen=True)
class Cost:
    cpu_request: int = 0  # millicores
    memory_request: int = 0  # MiB
    cpu_limit: int = 0
    memory_limit: int = 0

    def __add__(self, other: Cost) -> Cost:
        return Cost(self.cpu_request + other.cpu_request,
                    self.memory_request + other.memory_request,
                    self.cpu_limit + other.cpu_limit,
                    self.memory_limit + other.memory_limit)

    def times(self, n: int) -> Cost:
        return Cost(self.cpu_request * n, self.memory_request * n,
                    self.cpu_limit * n, self.memory_limit * n)


@dataclass(frozen=True)
class WorkloadCost:
    workload: Workload
    pods: int
    cost: Cost
    """Total for all pods of the workload."""
    unset: tuple[str, ...] = ()
    """Resource fields the values leave unset (the budget cannot count them)."""


@dataclass
class AddonPlan:
    addon: Addon
    wave: int
    depends_on: list[str]
    rendered: Rendered
    values: dict[str, Any]
    workloads: list[WorkloadCost]
    buckets: tuple[str, ...]
    notes: list[str]
    in_cluster: bool = True
    """Whether it puts anything in the cluster (Renovate and an external S3 do not)."""

    @property
    def cost(self) -> Cost:
        total = Cost()
        for w in self.workloads:
            total += w.cost
        return total


@dataclass
class Plan:
    profile: Profile
    context: Context
    addons: list[AddonPlan]
    dependents: dict[str, list[str]] = field(default_factory=dict)

    @property
    def waves(self) -> list[list[AddonPlan]]:
        out: list[list[AddonPlan]] = []
        for ap in self.addons:
            while len(out) <= ap.wave:
                out.append([])
            out[ap.wave].append(ap)
        return out

    @property
    def total(self) -> Cost:
        total = Cost()
        for ap in self.addons:
            total += ap.cost
        return total

    @property
    def allocatable(self) -> Cost:
        nodes = self.profile.cluster.nodes
        return Cost(nodes.cpu_millis * nodes.count, nodes.memory_mib * nodes.count,
                    nodes.cpu_millis * nodes.count, nodes.memory_mib * nodes.count)

    def warnings(self) -> list[str]:
        out = []
        limit = self.profile.cluster.budget_warn_percent
        total, alloc = self.total, self.allocatable
        for label, used, have in (("CPU", total.cpu_request, alloc.cpu_request),
                                  ("memory", total.memory_request, alloc.memory_request)):
            share = 100 * used / have if have else 100.0
            if share > limit:
                out.append(f"add-ons request {share:.0f}% of the cluster's allocatable {label}, "
                           f"above the {limit}% threshold (cluster.budgetWarnPercent); the "
                           f"existing stack needs room too")
        for ap in self.addons:
            for w in ap.workloads:
                if w.unset:
                    out.append(f"{ap.addon.name}: {w.workload.name} sets no "
                               f"{', '.join(w.unset)}; the budget cannot count it")
        return out

    def get(self, name: str) -> AddonPlan:
        for ap in self.addons:
            if ap.addon.name == name:
                return ap
        raise KeyError(name)


def dig(values: dict[str, Any], path: str) -> Any:
    node: Any = values
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def workload_cost(w: Workload, values: dict[str, Any], nodes: int) -> WorkloadCost | None:
    if w.enabled_path is not None and dig(values, w.enabled_path) is False:
        return None
    if w.kind == "DaemonSet":
        pods = nodes
    else:
        replicas = dig(values, w.replicas_path) if w.replicas_path else None
        pods = int(replicas) if replicas is not None else 1
    res = dig(values, w.resources_path) or {}
    requests, limits = res.get("requests") or {}, res.get("limits") or {}
    unset = tuple(f"{kind}.{r}" for kind, block in (("requests", requests), ("limits", limits))
                  for r in ("cpu", "memory") if r not in block and not (
                      kind == "limits" and r == "cpu"))  # a CPU limit is optional by design
    one = Cost(
        cpu_millis(requests.get("cpu", 0)), memory_mib(requests.get("memory", 0)),
        cpu_millis(limits.get("cpu", 0)),
        memory_mib(limits.get("memory", requests.get("memory", 0))),
    )
    return WorkloadCost(w, pods, one.times(pods * w.containers), unset)


def enabled_addons(profile: Profile) -> list[Addon]:
    return [a for a in registry.all_addons() if a.enabled(profile)]


def object_storage_provider(profile: Profile) -> tuple[str, ObjectStore] | None:
    """The enabled add-on that provides the S3 contract, and the contract."""
    for addon in enabled_addons(profile):
        store = addon.object_store(profile)
        if store is not None:
            return addon.name, store
    return None


def make_context(profile: Profile) -> Context:
    addons = enabled_addons(profile)
    provider = object_storage_provider(profile)
    base = Context(profile, provider[1] if provider else None)
    buckets = sorted({b for a in addons for b in a.buckets(base)})
    return Context(profile, base.object_store, tuple(buckets))


def api_groups(rendered: Rendered) -> set[str]:
    return {str(o.get("apiVersion", "")).rpartition("/")[0] for o in rendered.app + rendered.config}


def crd_needs(
    addon: Addon, rendered: Rendered, providers: dict[str, str], profile: Profile
) -> tuple[set[str], list[str]]:
    """(add-ons whose CRDs this one's objects use, problems for groups nobody serves)."""
    needs, problems = set(), []
    for group in sorted(api_groups(rendered) - BUILT_IN_GROUPS):
        if group in addon.crds:
            continue
        if group in providers:
            needs.add(providers[group])
        elif group in EXISTING_GROUPS:
            if not profile.has(EXISTING_GROUPS[group]):
                problems.append(f"addons.{addon.name}: renders {group} objects, but "
                                f"{EXISTING_GROUPS[group]} is not in existing")
        else:
            problems.append(f"addons.{addon.name}: renders {group} objects, and no enabled "
                            f"add-on or existing component serves that API group")
    return needs, problems


def build_plan(profile: Profile) -> Plan:
    """Order the enabled add-ons into waves and cost them. The profile is already valid.

    Dependencies are the add-ons' declared ones plus what their objects show: an add-on that
    renders a Certificate comes after cert-manager, one that needs buckets after object
    storage. An object whose API group nobody serves is a problem, raised as ProfileError.
    """
    addons = enabled_addons(profile)
    enabled = {a.name for a in addons}
    ctx = make_context(profile)
    providers = {g: a.name for a in addons for g in a.crds}
    storage = (object_storage_provider(profile) or (None,))[0]
    rendered = {a.name: a.resources(ctx) for a in addons}
    edges: dict[str, list[str]] = {}
    problems: list[str] = []
    for a in addons:
        deps = set(a.requires(profile)) | {d for d in a.after if d in enabled}
        if a.buckets(ctx) and storage is not None and a.name != storage:
            deps.add(storage)
        needs, unserved = crd_needs(a, rendered[a.name], providers, profile)
        problems += unserved
        edges[a.name] = sorted((deps | needs) & enabled - {a.name})
    if problems:
        raise ProfileError(problems)
    sorter = TopologicalSorter(edges)
    wave_of: dict[str, int] = {}
    for name in sorter.static_order():  # raises CycleError on a cycle: a bug in an add-on
        wave_of[name] = 1 + max((wave_of[d] for d in edges[name]), default=-1)
    nodes = profile.cluster.nodes.count
    plans = []
    for a in addons:
        # The profile's own values for the chart, deep-merged over outfitter's.
        values = deep_merge(a.values(ctx), a.options(profile).values)
        costs = [c for w in a.workloads_for(profile)
                 if (c := workload_cost(w, values, nodes)) is not None]
        plans.append(AddonPlan(a, wave_of[a.name], edges[a.name], rendered[a.name], values,
                               costs, a.buckets(ctx), a.notes(ctx), a.in_cluster(ctx)))
    plans.sort(key=lambda p: (p.wave, p.addon.priority_for(profile), p.addon.name))
    dependents: dict[str, list[str]] = {a.name: [] for a in addons}
    for name, upstream in edges.items():
        for d in upstream:
            dependents[d].append(name)
    return Plan(profile, ctx, plans, {k: sorted(v) for k, v in dependents.items()})


def plan_json(plan: Plan) -> dict[str, Any]:
    def cost(c: Cost) -> dict[str, int]:
        return {"cpuRequestMillis": c.cpu_request, "memoryRequestMiB": c.memory_request,
                "cpuLimitMillis": c.cpu_limit, "memoryLimitMiB": c.memory_limit}

    return {
        "cluster": {"name": plan.profile.cluster.name,
                    "nodes": plan.profile.cluster.nodes.count,
                    "allocatable": cost(plan.allocatable)},
        "waves": [[ap.addon.name for ap in wave] for wave in plan.waves],
        "addons": [{
            "name": ap.addon.name,
            "wave": ap.wave,
            "priority": ap.addon.priority_for(plan.profile).name.lower(),
            "namespace": ap.addon.namespace,
            "owner": plan.profile.addon_options(ap.addon.name).owner,
            "chart": (None if (ch := ap.addon.pinned_chart(plan.context)) is None else
                      {"name": ch.name, "version": ch.version, "repository": ch.repository}),
            "dependsOn": ap.depends_on,
            "crds": list(ap.addon.crds),
            "buckets": list(ap.buckets),
            "workloads": [{"name": w.workload.name, "kind": w.workload.kind, "pods": w.pods,
                           **cost(w.cost)} for w in ap.workloads],
            "total": cost(ap.cost),
            "notes": ap.notes,
        } for ap in plan.addons],
        "total": cost(plan.total),
        "warnings": plan.warnings(),
    }
