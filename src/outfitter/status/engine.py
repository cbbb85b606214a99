"""Run every check on the live cluster: for each enabled add-on "installed and healthy" plus
its own checks, and the existing stack the roadmap lists as already there."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from outfitter.addons.base import Addon
from outfitter.cluster.reader import ClusterReader
from outfitter.config import Profile
from outfitter.plan import enabled_addons, make_context
from outfitter.status import kinds
from outfitter.status.checks import (
    Check,
    Read,
    Result,
    items,
    name_of,
    readiness,
    summarize,
    workload_available,
)
from outfitter.status.existing import existing_checks
from outfitter.status.ownership import workloads_of


@dataclass
class AddonStatus:
    addon: str
    title: str
    results: list[tuple[Check, Result]] = field(default_factory=list)

    @property
    def installed(self) -> bool:
        return any(c.key.endswith(".installed") and r.state == "pass" for c, r in self.results)


@dataclass
class StatusReport:
    addons: list[AddonStatus]
    existing: list[tuple[Check, Result]]
    requests: int = 0

    def all_results(self) -> list[tuple[Check, Result]]:
        return [cr for a in self.addons for cr in a.results] + self.existing

    @property
    def failed(self) -> bool:
        return any(r.state == "fail" for _, r in self.all_results())

    @property
    def unknown(self) -> bool:
        return any(r.state == "unknown" for _, r in self.all_results())

    read_errors: list[str] = field(default_factory=list)
    """Listings that failed (timeouts, 5xx after retries): the report is incomplete, so the
    roadmap must not lose a tick because of it."""


def installed_check(addon: Addon, profile: Profile) -> Check:
    """Flux Kustomization(s) and HelmRelease Ready and the namespace's workloads available
    (for an Argo CD-owned add-on: its Applications Healthy and Synced)."""
    adopted = addon.adopted(profile) is not None
    where = addon.placement(profile)
    ns = where.namespace
    # An adopted add-on is the user's release, found wherever they installed it.
    release = where.release if adopted else addon.name
    owner = profile.addon_options(addon.name).owner
    workloads = tuple(Read(k, ns) for k in kinds.WORKLOADS)
    if adopted:
        reads = (Read(kinds.HELMRELEASES, ns), *workloads)
    elif owner == "argocd":
        argo_ns = profile.gitops.argocd_namespace
        reads = (Read(kinds.APPLICATIONS, argo_ns), *workloads)
    else:
        reads = (Read(kinds.KUSTOMIZATIONS, "flux-system"), Read(kinds.HELMRELEASES, ns),
                 *workloads)

    def flux_states(objects: list[tuple[str, dict[str, Any]]], seen: list[str],
                    moving: list[str], problems: list[str]) -> None:
        for label, o in objects:
            seen.append(label)
            state = readiness(o)
            if state == "progressing":
                moving.append(f"{label} reconciling")
            elif state != "ready":
                problems.append(f"{label} not Ready")

    def decide(reader: ClusterReader) -> Result:
        problems: list[str] = []
        seen: list[str] = []
        moving: list[str] = []
        if adopted:
            # Installed by the user (Flux, helm or otherwise): its HelmRelease when there is
            # one, and its workloads.
            flux_states([(f"HelmRelease {name_of(hr)}", hr) for hr in items(reader, reads[0])
                         if hr["metadata"]["name"] == release], seen, moving, problems)
        elif owner == "argocd":
            apps = [a for a in items(reader, reads[0])
                    if a["metadata"]["name"] in (addon.name, f"{addon.name}-config")]
            for app in apps:
                status = app.get("status") or {}
                health = (status.get("health") or {}).get("status")
                sync = (status.get("sync") or {}).get("status")
                seen.append(f"Application {app['metadata']['name']} {health}/{sync}")
                if health != "Healthy" or sync != "Synced":
                    problems.append(f"Application {app['metadata']['name']} is {health}/{sync}")
            if not apps:
                return Result("fail", f"no Argo CD Application {addon.name}",
                              "sync the rendered application.yaml")
        else:
            kss = [k for k in items(reader, reads[0])
                   if k["metadata"]["name"] in (addon.name, f"{addon.name}-config")]
            if not kss:
                return Result("fail", f"no Flux Kustomization {addon.name} in flux-system",
                              "commit the rendered tree and let Flux reconcile")
            flux = [(f"Kustomization {ks['metadata']['name']}", ks) for ks in kss]
            flux += [(f"HelmRelease {name_of(hr)}", hr) for hr in items(reader, reads[1])
                     if hr["metadata"]["name"] == addon.name]
            flux_states(flux, seen, moving, problems)
        in_namespace = [w for read in workloads for w in items(reader, read)]
        mine, how = workloads_of(release, ns, in_namespace,
                                 argo=owner == "argocd" and not adopted,
                                 declared=[w.name for w in addon.workloads])
        if adopted and not mine:
            return Result("fail", f"adopted release {ns}/{release}: no workloads of it in "
                                  f"{ns}", f"check addons.{addon.name}.installed in the "
                                           f"profile")
        problems += [f"{w['kind']} {name_of(w)} unavailable" for w in mine
                     if not workload_available(w)]
        if problems:
            return Result("fail", summarize(problems), "kubectl describe the objects named")
        if moving:
            return Result("progressing", summarize(moving),
                          "Flux is reconciling; run status again when it is done")
        ready = f"{', '.join(seen)} Ready; " if seen else ""
        yours = f"adopted release {ns}/{release}: " if adopted else ""
        return Result("pass", f"{yours}{ready}{len(mine)} workloads {how} available")

    return Check(f"{addon.name}.installed", f"{addon.title} installed and healthy", reads,
                 decide, roadmap=("install",))


def all_checks(profile: Profile) -> list[tuple[str, str, list[Check]]]:
    """(add-on name, title, checks) for every enabled add-on; "installed" only for those
    that put something in the cluster."""
    ctx = make_context(profile)
    # An adopted add-on's own checks read what outfitter renders for it, which it does not.
    return [(a.name, a.title, [installed_check(a, profile)] * a.in_cluster(ctx)
             + (a.checks(ctx) if a.adopted(profile) is None else []))
            for a in enabled_addons(profile)]


def run_status(profile: Profile, reader: ClusterReader) -> StatusReport:
    checks = all_checks(profile)
    existing = existing_checks(profile)
    reader.cluster_wide |= {r.kind for r in needed_reads(checks, existing) if r.namespace is None}
    statuses = []
    for name, title, addon_checks in checks:
        status = AddonStatus(name, title)
        status.results = [(check, check.run(reader)) for check in addon_checks]
        statuses.append(status)
    existing_results = [(c, c.run(reader)) for c in existing]
    return StatusReport(statuses, existing_results, reader.requests, reader.errors())


def needed_reads(checks: list[tuple[str, str, list[Check]]], existing: list[Check]) -> list[Read]:
    """Every listing the checks make: a kind read cluster-wide covers its namespaced reads."""
    reads = {r for _, _, cs in checks for c in cs for r in c.reads}
    reads |= {r for c in existing for r in c.reads}
    cluster_wide = {r.kind for r in reads if r.namespace is None}
    kept = {r for r in reads if r.namespace is None or r.kind not in cluster_wide}
    return sorted(kept, key=lambda r: (str(r.kind), r.namespace or ""))


def all_reads(profile: Profile) -> list[Read]:
    """Every listing status makes for this profile (what its ClusterRole must grant)."""
    return needed_reads(all_checks(profile), existing_checks(profile))
