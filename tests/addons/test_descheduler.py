"""Descheduler: a CronJob with a v1alpha2 policy that leaves system and storage-bound pods alone."""

from __future__ import annotations

from typing import Any

import pytest

from outfitter.addons.descheduler import ADDON
from outfitter.config import EXISTING_STACK, ProfileError, parse_profile
from outfitter.plan import build_plan


def values(addons: dict[str, Any] | None = None, **profile: Any) -> dict[str, Any]:
    data = {**profile, "addons": {"descheduler": addons or {}}}
    return build_plan(parse_profile(data)).get("descheduler").values


def plugin_args(vals: dict[str, Any], name: str) -> dict[str, Any]:
    [profile] = vals["deschedulerPolicy"]["profiles"]
    [config] = [c for c in profile["pluginConfig"] if c["name"] == name]
    args: dict[str, Any] = config["args"]
    return args


def problems(addons: dict[str, Any]) -> list[str]:
    with pytest.raises(ProfileError) as err:
        parse_profile({"addons": {"descheduler": addons}})
    return err.value.problems


def test_runs_as_a_cronjob_with_the_v1alpha2_policy() -> None:
    vals = values()
    assert vals["kind"] == "CronJob"
    assert vals["schedule"] == "*/30 * * * *"
    assert vals["deschedulerPolicyAPIVersion"] == "descheduler/v1alpha2"
    assert "strategies" not in vals["deschedulerPolicy"]
    [profile] = vals["deschedulerPolicy"]["profiles"]
    assert profile["plugins"] == {"balance": {"enabled": [
        "RemoveDuplicates", "RemovePodsViolatingTopologySpreadConstraint", "LowNodeUtilization"]}}
    assert vals["deschedulerPolicy"]["maxNoOfPodsToEvictPerNode"] == 5


def test_cronjob_resources_are_counted_in_the_budget() -> None:
    [w] = build_plan(parse_profile({})).get("descheduler").workloads
    assert w.workload.kind == "CronJob"
    assert w.cost.cpu_request == 50 and w.cost.memory_limit == 256
    assert w.unset == ()


def test_thresholds_come_from_the_profile() -> None:
    vals = values({"lowThresholds": {"cpu": 30, "memory": 25},
                   "highThresholds": {"memory": 60, "cpu": 70}, "schedule": "0 * * * *"})
    args = plugin_args(vals, "LowNodeUtilization")
    assert args["thresholds"] == {"cpu": 30, "memory": 25}
    assert args["targetThresholds"] == {"cpu": 70, "memory": 60}
    assert vals["schedule"] == "0 * * * *"


def test_storage_bound_and_system_pods_are_protected() -> None:
    vals = values()
    evictor = plugin_args(vals, "DefaultEvictor")
    assert evictor["podProtections"] == {"extraEnabled": ["PodsWithPVC"]}  # nothing disabled
    assert evictor["nodeFit"] is True
    for deprecated in ("evictSystemCriticalPods", "evictLocalStoragePods", "ignorePvcPods"):
        assert deprecated not in evictor
    for plugin, key in (("RemoveDuplicates", "namespaces"),
                        ("RemovePodsViolatingTopologySpreadConstraint", "namespaces"),
                        ("LowNodeUtilization", "evictableNamespaces")):
        excluded = plugin_args(vals, plugin)[key]["exclude"]
        assert {"kube-system", "flux-system", "descheduler", "argocd", "linkerd"} <= set(excluded)
        assert excluded == sorted(excluded)
        assert "include" not in plugin_args(vals, plugin)[key]


def test_profile_namespaces_are_added_and_missing_components_left_out() -> None:
    existing = [e for e in EXISTING_STACK if e not in ("argocd", "linkerd")]
    vals = values({"excludedNamespaces": ["home-assistant"]}, existing=existing)
    excluded = plugin_args(vals, "LowNodeUtilization")["evictableNamespaces"]["exclude"]
    assert "home-assistant" in excluded
    assert "argocd" not in excluded and "linkerd" not in excluded


def test_unlimited_evictions_leave_the_key_out() -> None:
    assert "maxNoOfPodsToEvictPerNode" not in values(
        {"maxEvictionsPerNode": None})["deschedulerPolicy"]


def test_low_threshold_must_be_below_high() -> None:
    assert problems({"lowThresholds": {"cpu": 60, "memory": 20, "pods": 20}}) == [
        "addons.descheduler.lowThresholds.cpu: 60 must be below highThresholds.cpu (50): "
        "a node cannot be under- and overused at once"]


def test_thresholds_must_name_the_same_resources() -> None:
    lines = problems({"lowThresholds": {"cpu": 20}})
    assert lines == ["addons.descheduler.highThresholds: must name the same resources as "
                     "lowThresholds (cpu)"]


def test_bad_schedule_and_percentages_are_refused() -> None:
    assert problems({"schedule": "every hour"}) == [
        "addons.descheduler.schedule: must be a 5-field cron expression"]
    [line] = problems({"highThresholds": {"cpu": 150, "memory": 50, "pods": 50}})
    assert line.startswith("addons.descheduler.highThresholds.cpu:")


def test_single_node_cluster_is_told_there_is_nowhere_to_go() -> None:
    plan = build_plan(parse_profile({"cluster": {"nodes": {"count": 1}}}))
    assert any("one node" in n for n in plan.get("descheduler").notes)
    assert ADDON.mesh == "disabled"  # a meshed Job never completes
