"""Descheduler: rebalance pods after nodes are added, or when they crowd onto one node.

It runs as a CronJob (a short run on a schedule, nothing resident between runs) with a
`descheduler/v1alpha2` DeschedulerPolicy: the old v1alpha1 `strategies` format is gone from
the descheduler (v0.36 has only v1alpha2 profiles with pluginConfig and plugins).

What it may evict is deliberately narrow for a homelab: never pods in system or GitOps
namespaces, never system-critical pods, DaemonSet pods, pods with local storage or with
PersistentVolumeClaims (moving those means moving their data), and only where another node
can take the pod (`nodeFit`). The DefaultEvictor's deprecated booleans
(`evictSystemCriticalPods`, `ignorePvcPods`, ...) are never written: `podProtections` replaces
them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from outfitter import stack
from outfitter.addons.base import (
    Addon,
    AddonOptions,
    Chart,
    Priority,
    ProfileProblem,
    Workload,
    options_of,
)
from outfitter.addons.context import Context
from outfitter.cluster.reader import ClusterReader
from outfitter.config import Profile
from outfitter.status import kinds
from outfitter.status.checks import Check, Read, Result, age, items, parse_time

Resource = Literal["cpu", "memory", "pods"]
Percent = Annotated[int, Field(ge=0, le=100)]
Thresholds = dict[Resource, Percent]

POLICY_API = "descheduler/v1alpha2"
# Namespaces whose pods are never evicted, whatever the profile says.
SYSTEM_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease", "flux-system")


def _thresholds(percent: int) -> Thresholds:
    return {"cpu": percent, "memory": percent, "pods": percent}


class DeschedulerOptions(AddonOptions):
    schedule: str = Field(
        "*/30 * * * *", description="cron schedule of the descheduler run (5 fields)")
    low_thresholds: Thresholds = Field(
        default_factory=lambda: _thresholds(20), alias="lowThresholds",
        description="LowNodeUtilization: a node below all of these (% of allocatable, by "
                    "requests) is underused and receives pods")
    high_thresholds: Thresholds = Field(
        default_factory=lambda: _thresholds(50), alias="highThresholds",
        description="LowNodeUtilization: a node above any of these is overused and gives pods")
    max_evictions_per_node: int | None = Field(
        5, alias="maxEvictionsPerNode", ge=1,
        description="evictions per node per run (none: unlimited)")
    excluded_namespaces: list[str] = Field(
        default_factory=list, alias="excludedNamespaces",
        description="namespaces whose pods are never evicted, besides the system ones")


def _options(profile: Profile) -> DeschedulerOptions:
    return options_of(profile, "descheduler", DeschedulerOptions)


def protected_namespaces(profile: Profile) -> list[str]:
    """Namespaces the descheduler leaves alone: system, GitOps, itself and the profile's."""
    names = set(SYSTEM_NAMESPACES) | {Descheduler.namespace}
    names |= set(_options(profile).excluded_namespaces)
    if profile.has("argocd"):
        names.add(profile.gitops.argocd_namespace)
    for component in stack.COMPONENTS:  # the existing stack's fixed namespaces (Linkerd's)
        if profile.has(component.key):
            names |= set(component.namespaces)
    return sorted(names)


class Descheduler(Addon):
    name = "descheduler"
    title = "Descheduler"
    namespace = "descheduler"
    # A Linkerd proxy never exits, so a meshed CronJob pod would never complete.
    mesh = "disabled"
    priority = Priority.LOW
    roadmap_names = ("descheduler",)
    roadmap_capabilities = ("pod rebalancing", "rebalance pods", "rebalancing pods",
                            "rebalance workloads", "workload rebalancing", "node rebalancing")
    Options = DeschedulerOptions
    chart = Chart("descheduler", "0.36.0", "https://kubernetes-sigs.github.io/descheduler/")
    workloads = (Workload("descheduler", "CronJob", "resources"),)
    documented_in_comments = {  # noqa: RUF012 (read-only class data)
        "descheduler": ("deschedulerPolicy.maxNoOfPodsToEvictPerNode",),
    }

    def check_profile(self, profile: Profile) -> list[ProfileProblem]:
        opts = _options(profile)
        problems = []
        if len(opts.schedule.split()) != 5:
            problems.append(ProfileProblem("schedule", "must be a 5-field cron expression"))
        low, high = opts.low_thresholds, opts.high_thresholds
        if not low:
            problems.append(ProfileProblem("lowThresholds", "needs at least one resource"))
        if sorted(low) != sorted(high):
            problems.append(ProfileProblem(
                "highThresholds",
                f"must name the same resources as lowThresholds ({', '.join(sorted(low))})"))
        for resource in sorted(set(low) & set(high)):
            if low[resource] >= high[resource]:
                problems.append(ProfileProblem(
                    f"lowThresholds.{resource}",
                    f"{low[resource]} must be below highThresholds.{resource} "
                    f"({high[resource]}): a node cannot be under- and overused at once"))
        return problems

    def policy(self, profile: Profile) -> dict[str, Any]:
        """The DeschedulerPolicy (the chart writes apiVersion and kind around it)."""
        opts = _options(profile)
        namespaces = {"exclude": protected_namespaces(profile)}
        policy: dict[str, Any] = {}
        if opts.max_evictions_per_node is not None:
            policy["maxNoOfPodsToEvictPerNode"] = opts.max_evictions_per_node
        policy["profiles"] = [{
            "name": "homelab",
            "pluginConfig": [
                {"name": "DefaultEvictor", "args": {
                    # Default protections stay on: local storage, DaemonSet pods,
                    # system-critical pods, failed bare pods. PVC pods are added.
                    "podProtections": {"extraEnabled": ["PodsWithPVC"]},
                    "nodeFit": True,
                }},
                {"name": "RemoveDuplicates", "args": {"namespaces": namespaces}},
                {"name": "RemovePodsViolatingTopologySpreadConstraint",
                 "args": {"namespaces": namespaces}},
                {"name": "LowNodeUtilization", "args": {
                    "thresholds": dict(sorted(opts.low_thresholds.items())),
                    "targetThresholds": dict(sorted(opts.high_thresholds.items())),
                    "evictableNamespaces": namespaces,
                }},
            ],
            "plugins": {
                "balance": {"enabled": [
                    "RemoveDuplicates",
                    "RemovePodsViolatingTopologySpreadConstraint",
                    "LowNodeUtilization",
                ]},
            },
        }]
        return policy

    def values(self, ctx: Context) -> dict[str, Any]:
        opts = _options(ctx.profile)
        return {
            "kind": "CronJob",
            "schedule": opts.schedule,
            "resources": {"requests": {"cpu": "50m", "memory": "128Mi"},
                          "limits": {"cpu": "500m", "memory": "256Mi"}},
            "deschedulerPolicyAPIVersion": POLICY_API,
            "deschedulerPolicy": self.policy(ctx.profile),
        }

    def checks(self, ctx: Context) -> list[Check]:
        cronjobs = Read(kinds.CRONJOBS, self.namespace)

        def runs(reader: ClusterReader) -> Result:
            found = items(reader, cronjobs)
            if not found:
                return Result("fail", "no descheduler CronJob", "commit the descheduler folder")
            status = found[0].get("status") or {}
            scheduled, succeeded = status.get("lastScheduleTime"), status.get(
                "lastSuccessfulTime")
            if not scheduled:
                return Result("pass", "CronJob present, not run yet")
            if status.get("active"):
                return Result("pass", f"running now (scheduled {age(scheduled)})")
            if succeeded and parse_time(succeeded) >= parse_time(scheduled):
                return Result("pass", f"last run succeeded {age(succeeded)}")
            return Result("fail", f"last run {age(scheduled)} has not succeeded"
                          + (f" (last success {age(succeeded)})" if succeeded else ""),
                          "kubectl -n descheduler logs job/<latest>")

        return [Check("descheduler.runs", "Descheduler runs succeed", (cronjobs,), runs)]

    def notes(self, ctx: Context) -> list[str]:
        opts = _options(ctx.profile)
        low = ", ".join(f"{k} {v}%" for k, v in sorted(opts.low_thresholds.items()))
        high = ", ".join(f"{k} {v}%" for k, v in sorted(opts.high_thresholds.items()))
        notes = [
            f"Runs '{opts.schedule}' as a CronJob: nodes under {low} (by requests) take pods "
            f"from nodes over {high}; duplicates and topology-spread violations are spread out.",
            "Never evicted: pods in " + ", ".join(protected_namespaces(ctx.profile))
            + "; system-critical, DaemonSet, local-storage and PVC pods; pods no other node "
            "fits.",
            "Policy API descheduler/v1alpha2 (profiles and plugins); the v1alpha1 strategies "
            "format no longer exists.",
        ]
        if ctx.profile.cluster.nodes.count == 1:
            notes.append("The cluster has one node: the descheduler has nowhere to move pods "
                         "until a second node joins.")
        return notes


ADDON = Descheduler()
