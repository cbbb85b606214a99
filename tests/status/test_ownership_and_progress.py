"""Which add-on a workload belongs to (release labels, not namespaces), and Flux's
Ready=Unknown while reconciling."""

from __future__ import annotations

from typing import Any

from outfitter.status.checks import readiness
from outfitter.status.ownership import workloads_of


def workload(name: str, release: str | None = None, ns: str = "observability") -> dict[str, Any]:
    labels = {"helm.toolkit.fluxcd.io/name": release,
              "helm.toolkit.fluxcd.io/namespace": ns} if release else {}
    return {"kind": "Deployment", "metadata": {"name": name, "namespace": ns, "labels": labels}}


def test_add_ons_sharing_a_namespace_each_get_their_own_workloads() -> None:
    shared = [workload("loki-0", "loki"), workload("tempo-0", "tempo"),
              workload("collector", "otel-collector"), workload("user-app")]
    mine, how = workloads_of("loki", "observability", shared)
    assert [w["metadata"]["name"] for w in mine] == ["loki-0"]
    assert how == "of HelmRelease observability/loki"


def test_without_release_labels_the_declared_names_are_used() -> None:
    mine, how = workloads_of("reloader", "reloader", [workload("reloader", ns="reloader"),
                                                     workload("other", ns="reloader")],
                             declared=["reloader"])
    assert [w["metadata"]["name"] for w in mine] == ["reloader"] and "by name" in how


def cond(status: str, reason: str) -> dict[str, Any]:
    return {"status": {"conditions": [{"type": "Ready", "status": status, "reason": reason}]}}


def test_ready_unknown_while_reconciling_is_progressing() -> None:
    assert readiness(cond("Unknown", "Progressing")) == "progressing"
    assert readiness(cond("True", "ReconciliationSucceeded")) == "ready"
    assert readiness(cond("False", "InstallFailed")) == "not ready"
    assert readiness(cond("Unknown", "SomethingElse")) == "not ready"
