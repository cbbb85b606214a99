"""The plan: which add-ons, in which dependency waves, what they need from each other, and
what they cost against the cluster's allocatable resources.

Everything here is computed from the add-on contract and the values outfitter will render,
so the plan and the rendered tree cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from graphlib import TopologicalSorter
from typing import Any

from outfitter.addons import registry
from outfitter.addons.base import Addon, Rendered, Workload
from outfitter.addons.context import Context
from outfitter.addons.credentials import SopsSecret, sops_path
from outfitter.addons.storage_contract import ObjectStore
from outfitter.config import Profile, ProfileError
from outfitter.helm.values import merge as deep_merge
from outfitter.quantity import cpu_millis, memory_mib

# API groups the existing stack serves, so add-ons may use them from the first wave.
EXISTING_GROUPS = {
    "monitoring.coreos.com": "kube-prometheus-stack",
    "external-secrets.io": "external-secrets",
    "traefik.io": "traefik",
    "argoproj.io": "argocd",
    "gateway.networking.k8s.io": "envoy-gateway",
    "gateway.envoyproxy.io": "envoy-gateway",
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
    adopted: str | None = None
    """`namespace/release` of the user's own install the profile adopts: nothing is added."""

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

    def stack_notes(self) -> list[str]:
        """What the profile's secrets, ingress, Flux and node choices add or drop."""
        return stack_notes(self)

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
    endpoints = {a.name: served for a in addons if (served := a.endpoints(profile))}
    issuer = next((i for a in addons if (i := a.cluster_issuer(profile)) is not None), None)
    base = Context(profile, provider[1] if provider else None, endpoints=endpoints)
    if issuer is not None:
        base = replace(base, issuer=issuer)
    buckets = sorted({b for a in addons for b in a.buckets(base)})
    return replace(base, buckets=tuple(buckets))


def api_groups(rendered: Rendered) -> set[str]:
    return {str(o.get("apiVersion", "")).rpartition("/")[0] for o in rendered.app + rendered.config}


def _adopted_plan(a: Addon, ctx: Context, wave: int, depends_on: list[str],
                  values: dict[str, Any], rendered: Rendered, is_storage: bool) -> AddonPlan:
    """An add-on the user installed: it costs nothing new and nothing of it is rendered;
    the others are wired to where it runs."""
    where = a.placement(ctx.profile)
    label = f"{where.namespace}/{where.release}"
    notes = [f"adopted: your release {label}; outfitter installs nothing for it and points "
             f"the add-ons that use it there."]
    if is_storage and ctx.buckets:
        notes.append(f"create buckets {', '.join(ctx.buckets)} in it: outfitter creates "
                     f"buckets only on an object store it installs.")
    return AddonPlan(a, wave, depends_on, rendered, values, [], (), notes, False, label)


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
        if profile.addon_options(a.name).owner == "argocd" and _sops_secrets(rendered[a.name]):
            problems.append(f"addons.{a.name}.owner: argocd cannot decrypt the SOPS Secrets it "
                            f"renders (secrets.provider: sops); let Flux own it")
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
        if a.adopted(profile) is not None:
            plans.append(_adopted_plan(a, ctx, wave_of[a.name], edges[a.name], values,
                                       rendered[a.name], is_storage=a.name == storage))
            continue
        costs = [c for w in a.workloads_for(profile)
                 if (c := workload_cost(w, values, nodes)) is not None]
        notes = a.notes(ctx) + sops_fill_notes(profile, a, rendered[a.name])
        plans.append(AddonPlan(a, wave_of[a.name], edges[a.name], rendered[a.name], values,
                               costs, a.buckets(ctx), notes, a.in_cluster(ctx)))
    plans.sort(key=lambda p: (p.wave, p.addon.priority_for(profile), p.addon.name))
    dependents: dict[str, list[str]] = {a.name: [] for a in addons}
    for name, upstream in edges.items():
        for d in upstream:
            dependents[d].append(name)
    return Plan(profile, ctx, plans, {k: sorted(v) for k, v in dependents.items()})


def _sops_secrets(rendered: Rendered) -> list[tuple[str, SopsSecret]]:
    return [(folder, o) for folder, objs in (("app", rendered.app), ("config", rendered.config))
            for o in objs if isinstance(o, SopsSecret)]


def sops_fill_notes(profile: Profile, addon: Addon, rendered: Rendered) -> list[str]:
    """The `sops edit` command for each encrypted Secret that holds a placeholder."""
    notes = []
    for folder, secret in _sops_secrets(rendered):
        if secret.user_owned:
            owned = ", ".join(f"{s.item}/{s.prop}" for s in secret.user_owned)
            path = sops_path(profile.gitops.path, addon.namespace, addon.name, folder, secret)
            notes.append(f"Fill {owned} (a placeholder until you do): sops edit {path}")
    return notes


def stack_notes(plan: Plan) -> list[str]:
    profile = plan.profile
    secrets = [s for ap in plan.addons for _, s in _sops_secrets(ap.rendered)]
    external = [o for ap in plan.addons for o in ap.rendered.app + ap.rendered.config
                if o.get("kind") == "ExternalSecret"]
    notes = []
    if profile.secrets.provider == "sops":
        owned = sum(1 for s in secrets if s.user_owned)
        notes.append(
            f"secrets: SOPS — {len(secrets)} Secrets encrypted by `sops` under the repository's "
            f".sops.yaml when rendering ({len(secrets) - owned} generated once by outfitter, "
            f"{owned} holding placeholders you fill with `sops edit`); no ExternalSecret, so no "
            f"External Secrets Operator or store items. Flux decrypts with Secret "
            f"flux-system/{profile.secrets.sops_secret} (age key), set on each Kustomization "
            f"unless a parent Kustomization patches decryption in.")
    else:
        store = profile.secret_store
        notes.append(f"secrets: External Secrets — {len(external)} ExternalSecrets from "
                     f"{store.kind} {store.name}; each item they name must exist in the store.")
    ui = [o for ap in plan.addons for o in ap.rendered.app
          if o.get("kind") in ("HTTPRoute", "IngressRoute")]
    if profile.ingress.provider == "gateway-api":
        gw = profile.ingress.gateway
        notes.append(
            f"ingress: Gateway API — {len(ui)} UI HTTPRoutes on Gateway {gw.namespace}/{gw.name} "
            f"(listener {gw.section_name}, which must allow routes from other namespaces), each "
            f"behind an envoy-gateway SecurityPolicy with basic auth; no Traefik Middleware, no "
            f"per-UI Certificate (TLS is the gateway's)."
            + ("" if profile.secrets.provider == "sops" else
               " envoy-gateway reads only {SHA} htpasswd lines: store them in the items as "
               "`htpasswd -nbs USER PASSWORD` prints them."))
    else:
        notes.append(f"ingress: Traefik — {len(ui)} UI IngressRoutes behind basic-auth "
                     f"Middlewares on entrypoint {profile.traefik.entrypoint}.")
    if profile.flux.install == "flux-operator":
        notes.append(f"flux: installed by flux-operator (FluxInstance flux-system/"
                     f"{profile.flux.instance}); Renovate groups flux-operator with flux-instance "
                     f"and status checks the FluxInstance Ready.")
    if profile.cluster.nodes.os == "talos":
        notes.append("nodes: Talos — no shell or package manager on the nodes; what node agents "
                     "need comes from system extensions and the machine config (see the "
                     "add-ons' notes).")
    return notes


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
            "namespace": ap.adopted.split("/")[0] if ap.adopted else ap.addon.namespace,
            "owner": plan.profile.addon_options(ap.addon.name).owner,
            "chart": (None if ap.adopted or (ch := ap.addon.pinned_chart(plan.context)) is None
                      else {"name": ch.name, "version": ch.version,
                            "repository": ch.repository}),
            "adopted": ap.adopted,
            "dependsOn": ap.depends_on,
            "crds": list(ap.addon.crds),
            "buckets": list(ap.buckets),
            "workloads": [{"name": w.workload.name, "kind": w.workload.kind, "pods": w.pods,
                           **cost(w.cost)} for w in ap.workloads],
            "total": cost(ap.cost),
            "notes": ap.notes,
        } for ap in plan.addons],
        "total": cost(plan.total),
        "stack": plan.stack_notes(),
        "warnings": plan.warnings(),
    }
