"""The restore drill's comparison, record and waiting, without a cluster (the whole drill
runs against the real control plane in tests/integration/test_restore_drill.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from outfitter.ops.drill import (
    DrillPlan,
    DrillResult,
    Timeout,
    Waiter,
    record_data,
    restore_object,
)
from outfitter.ops.drill_compare import Item, compare, count_by_kind, item_of, settled


def cm(name: str, **data: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "data": data}


def test_data_is_compared_by_hash_and_only_key_names_are_told() -> None:
    source = {("ConfigMap", "app"): item_of("ConfigMap", cm("app", a="1", b="secret-value"))}
    restored = {("ConfigMap", "app"): item_of("ConfigMap", cm("app", a="1", b="other"))}
    item = source[("ConfigMap", "app")]
    assert item is not None and item.data is not None
    assert "secret-value" not in repr(item)
    assert compare(source, restored) == ["ConfigMap app: data differs (keys: b)"]


def test_missing_extra_unbound_and_unready_are_differences_in_a_stable_order() -> None:
    source = {
        ("Secret", "db"): Item("Secret", "db", data={}),
        ("PersistentVolumeClaim", "data"): Item("PersistentVolumeClaim", "data", phase="Bound"),
        ("Deployment.apps", "web"): Item("Deployment.apps", "web", ready=(2, 2)),
        ("Deployment.apps", "broken"): Item("Deployment.apps", "broken", ready=(0, 1)),
    }
    restored = {
        ("PersistentVolumeClaim", "data"): Item("PersistentVolumeClaim", "data",
                                                phase="Pending"),
        ("Deployment.apps", "web"): Item("Deployment.apps", "web", ready=(1, 2)),
        ("Deployment.apps", "broken"): Item("Deployment.apps", "broken", ready=(0, 1)),
        ("Service", "extra"): Item("Service", "extra"),
    }
    assert compare(source, restored) == [
        "Deployment.apps web: 1/2 ready in the restore",
        "PersistentVolumeClaim data: not Bound in the restore (Pending)",
        "Secret db: missing in the restore",
        "Service extra: only in the restore",
    ]
    # A workload broken in the source is no fault of the restore, and not waited for.
    assert not settled(source, restored)
    restored[("Deployment.apps", "web")] = Item("Deployment.apps", "web", ready=(2, 2))
    restored[("PersistentVolumeClaim", "data")] = Item("PersistentVolumeClaim", "data",
                                                       phase="Bound")
    assert settled(source, restored)
    counts = {c.kind: (c.source, c.restored) for c in count_by_kind(source, restored)}
    assert counts == {"Deployment.apps": (2, 2), "PersistentVolumeClaim": (1, 1),
                      "Secret": (1, 0), "Service": (0, 1)}


@pytest.mark.parametrize(("kind", "obj"), [
    ("ConfigMap", cm("kube-root-ca.crt", **{"ca.crt": "x"})),
    ("ServiceAccount", {"metadata": {"name": "default"}}),
    ("Secret", {"metadata": {"name": "t"}, "type": "kubernetes.io/service-account-token"}),
    ("Pod", {"metadata": {"name": "web-1", "ownerReferences": [{"kind": "ReplicaSet"}]}}),
])
def test_what_the_cluster_or_a_controller_makes_is_not_compared(
    kind: str, obj: dict[str, Any]
) -> None:
    assert item_of(kind, obj) is None


def test_a_daemonset_is_ready_by_its_scheduled_count() -> None:
    item = item_of("DaemonSet.apps", {"metadata": {"name": "agent"},
                                    "status": {"numberReady": 2, "desiredNumberScheduled": 3}})
    assert item is not None and item.ready == (2, 3)


PLAN = DrillPlan(namespace="shop", drill_namespace="shop-drill", backup="b1",
                 create_backup=True, restore="r1")


def test_the_restore_maps_the_namespace_and_never_targets_it() -> None:
    spec = restore_object(PLAN)["spec"]
    assert spec["namespaceMapping"] == {"shop": "shop-drill"}
    assert spec["includedNamespaces"] == ["shop"]
    assert "namespaceMapping shop -> shop-drill" in PLAN.steps()[1]


def test_the_record_has_exactly_the_keys_status_reads() -> None:
    result = DrillResult(plan=PLAN, started=datetime(2026, 11, 2, 3, 4, 5, tzinfo=UTC),
                         finished=datetime(2026, 11, 2, 3, 6, 0, tzinfo=UTC),
                         verdict="fail", differences=["a", "b"])
    data = record_data(result)
    assert data == {
        "namespace": "shop", "backup": "b1", "restore": "r1",
        "startedAt": "2026-11-02T03:04:05Z", "finishedAt": "2026-11-02T03:06:00Z",
        "verdict": "fail", "differences": "2",
        "summary": "shop: 2 difference(s) between shop and its restore in shop-drill",
    }
    result.failure = "Backup b1 PartiallyFailed"
    assert record_data(result)["summary"] == "shop: Backup b1 PartiallyFailed"


def test_the_waiter_times_out_on_its_clock() -> None:
    now = [0.0]
    waiter = Waiter(poll=5, clock=lambda: now[0],
                    sleep=lambda s: now.__setitem__(0, now[0] + s))
    with pytest.raises(Timeout):
        waiter.until(lambda: None, timeout=12)
    assert now[0] == 15
    assert waiter.until(lambda: "done", timeout=1) == "done"
