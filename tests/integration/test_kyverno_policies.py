"""outfitter's Kyverno policies evaluated by the real engine (the Kyverno CLI, built from its
Go module by tools/build.sh): each policy flags what it should and passes what it should."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from kyverno_reports import offline_report

from outfitter.addons.kyverno import ADDON as KYVERNO
from outfitter.addons.kyverno import POLICY_NAMES
from outfitter.config import parse_profile
from outfitter.plan import make_context

pytestmark = pytest.mark.integration

GOOD: dict[str, Any] = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "good", "namespace": "apps",
                 "labels": {"app.kubernetes.io/name": "good"}},
    "spec": {
        "securityContext": {"runAsNonRoot": True},
        "containers": [{
            "name": "app", "image": "nginx:1.27",
            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"},
                          "limits": {"memory": "32Mi"}},
        }],
    },
}


def variant(name: str, namespace: str = "apps", **changes: Any) -> dict[str, Any]:
    pod = copy.deepcopy(GOOD)
    pod["metadata"]["name"] = name
    pod["metadata"]["namespace"] = namespace
    for path, value in changes.items():
        node = pod
        keys = path.split("__")
        for key in keys[:-1]:
            node = node[int(key)] if key.isdigit() else node[key]
        if value is None:
            del node[keys[-1]]
        else:
            node[keys[-1]] = value
    return pod


BAD = {
    "privileged": (
        variant("privileged", spec__containers__0__securityContext={"privileged": True}),
        "disallow-privileged-containers"),
    "host-path": (
        variant("host-path", spec__volumes=[{"name": "etc", "hostPath": {"path": "/etc"}}]),
        "disallow-host-path"),
    "no-limits": (variant("no-limits", spec__containers__0__resources=None),
                  "require-requests-limits"),
    "no-labels": (variant("no-labels", metadata__labels=None), "require-labels"),
    "host-network": (variant("host-network", spec__hostNetwork=True), "disallow-host-namespaces"),
    "as-root": (variant("as-root", spec__securityContext=None), "require-run-as-non-root"),
}


def evaluate(kyverno: Path, tmp_path: Path, resources: list[dict[str, Any]],
             profile: dict[str, Any] | None = None) -> dict[tuple[str, str], str]:
    """(policy, resource name) -> pass/fail, from the CLI's policy report."""
    policies = KYVERNO.policies(make_context(parse_profile(profile or {})))
    report = offline_report(kyverno, tmp_path, policies, resources)
    return {(r["policy"], res["name"]): r["result"]
            for r in report["results"] for res in r["resources"]}


def test_good_workload_passes_every_policy(kyverno: Path, tmp_path: Path) -> None:
    results = evaluate(kyverno, tmp_path, [GOOD])
    assert {p: results[(p, "good")] for p in POLICY_NAMES} == dict.fromkeys(POLICY_NAMES, "pass")


@pytest.mark.parametrize("case", sorted(BAD))
def test_each_bad_workload_fails_exactly_its_policy(
    case: str, kyverno: Path, tmp_path: Path
) -> None:
    pod, policy = BAD[case]
    results = evaluate(kyverno, tmp_path, [pod])
    failing = sorted(p for (p, name), r in results.items() if name == pod["metadata"]["name"]
                     and r == "fail")
    assert failing == [policy]


def test_a_deployment_is_checked_through_autogen(kyverno: Path, tmp_path: Path) -> None:
    pod = BAD["privileged"][0]
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "apps"},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {**pod["metadata"]["labels"], "app": "web"}},
                              "spec": pod["spec"]}},
    }
    results = evaluate(kyverno, tmp_path, [deployment])
    assert results[("disallow-privileged-containers", "web")] == "fail"
    assert results[("require-labels", "web")] == "pass"


def test_system_and_node_agent_namespaces_are_left_alone(kyverno: Path, tmp_path: Path) -> None:
    in_kube_system = variant("sys", namespace="kube-system",
                             spec__containers__0__securityContext={"privileged": True})
    agent = variant("agent", namespace="velero",
                    spec__volumes=[{"name": "pods", "hostPath": {"path": "/var/lib/kubelet"}}])
    results = evaluate(kyverno, tmp_path, [in_kube_system, agent])
    assert not [k for k in results if k[1] == "sys"]
    assert ("disallow-host-path", "agent") not in results
    assert results[("require-labels", "agent")] == "pass"


def test_policies_switched_off_are_not_rendered(kyverno: Path, tmp_path: Path) -> None:
    pod, _ = BAD["host-path"]
    results = evaluate(kyverno, tmp_path, [pod],
                       {"addons": {"kyverno": {"policies": {"disallow-host-path": "off"}}}})
    assert ("disallow-host-path", "host-path") not in results
    assert results[("disallow-privileged-containers", "host-path")] == "pass"


def _operator_pod(name: str, namespace: str, labels: dict[str, str]) -> dict[str, Any]:
    """A pod as an add-on's controller creates it at run time: its own labels, no
    app.kubernetes.io/name, no resources (no chart value reaches it)."""
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {"securityContext": {"runAsNonRoot": True},
                     "containers": [{"name": "c", "image": "busybox:1.37"}]}}


def test_pods_add_ons_create_at_run_time_are_exempt_from_the_baseline(kyverno: Path,
                                                                      tmp_path: Path) -> None:
    # Longhorn's manager starts instance managers; cert-manager starts ACME HTTP-01 solvers;
    # Trivy Operator starts scan jobs in `security`. The same pod in `apps` fails both.
    created = [
        _operator_pod("instance-manager-a1", "longhorn-system",
                      {"longhorn.io/component": "instance-manager"}),
        _operator_pod("cm-acme-http-solver-x", "cert-manager",
                      {"acme.cert-manager.io/http01-solver": "true"}),
        _operator_pod("scan-vulnerabilityreport-x", "security",
                      {"app.kubernetes.io/managed-by": "trivy-operator"}),
    ]
    user = _operator_pod("user-pod", "apps", {"app": "x"})
    results = evaluate(kyverno, tmp_path, [*created, user])
    for policy in ("require-labels", "require-requests-limits"):
        assert results[(policy, "user-pod")] == "fail"
        for pod in created:
            assert (policy, pod["metadata"]["name"]) not in results
