"""`outfitter drill backup` against the real control plane, with Velero's CRDs installed.

Velero's controllers cannot run here: a STAND-IN (velero_standin.py) moves Backups and
Restores through their phases and creates the restored objects as Velero would. Everything
else is real: the API server, the namespace, deployment, replica-set and PV-binder
controllers, and KWOK's nodes running the pods.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from lightkube import ApiError, Client, codecs
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import (
    ConfigMap,
    Namespace,
    PersistentVolume,
    PersistentVolumeClaim,
    Secret,
)
from lightkube.types import PatchType
from velero_standin import Outcome, VeleroStandIn

from outfitter.cli import main
from outfitter.ops.drill import RECORD_NAME, SCHEDULE_LABEL, Backup, BackupStorageLocation, Restore
from outfitter.testcluster import ControlPlane

pytestmark = pytest.mark.integration

SECRET_VALUE = "s3cr3t-do-not-print"
RECORD_KEYS = {"namespace", "backup", "restore", "startedAt", "finishedAt", "verdict",
               "differences", "summary"}
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def apply(client: Client, obj: dict[str, Any]) -> None:
    client.apply(codecs.from_dict(obj), field_manager="outfitter-tests", force=True)


def wait_for(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def velero(kube_client: Client, crds_installed: int) -> Iterator[VeleroStandIn]:
    apply(kube_client, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "velero"}})
    apply(kube_client, {
        "apiVersion": "velero.io/v1", "kind": "BackupStorageLocation",
        "metadata": {"name": "default", "namespace": "velero"},
        "spec": {"provider": "aws", "default": True, "objectStorage": {"bucket": "velero"}},
    })
    kube_client.patch(BackupStorageLocation, "default", {"status": {"phase": "Available"}},
                      namespace="velero", patch_type=PatchType.MERGE)
    standin = VeleroStandIn(kube_client).start()
    yield standin
    standin.stop()


@pytest.fixture
def standin(velero: VeleroStandIn) -> Iterator[VeleroStandIn]:
    yield velero
    assert velero.errors == [], "the Velero stand-in failed"
    velero.backup_outcome = Outcome()
    velero.restore_outcome = Outcome()
    velero.paused = False


_counter = iter(range(1, 1000))


@pytest.fixture
def source(kube_client: Client) -> str:
    """A namespace with config, a secret, a ready Deployment, a Service and a bound PVC;
    a spare PV of the same class lets the restored claim bind too."""
    ns = f"shop-{next(_counter)}"
    storage_class = f"manual-{ns}"
    apply(kube_client, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    apply(kube_client, {"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": "app-config", "namespace": ns},
                        "data": {"greeting": "hello", "mode": "production"}})
    apply(kube_client, {"apiVersion": "v1", "kind": "Secret",
                        "metadata": {"name": "db-credentials", "namespace": ns},
                        "data": {"password": base64.b64encode(SECRET_VALUE.encode()).decode()}})
    apply(kube_client, {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": ns},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}},
    })
    apply(kube_client, {"apiVersion": "v1", "kind": "Service",
                        "metadata": {"name": "web", "namespace": ns},
                        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})
    for pv in (f"{ns}-a", f"{ns}-b"):
        apply(kube_client, {
            "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": pv},
            "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                     "storageClassName": storage_class, "hostPath": {"path": f"/tmp/{pv}"}},
        })
    apply(kube_client, {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": ns},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": storage_class,
                 "resources": {"requests": {"storage": "1Gi"}}},
    })

    def ready() -> bool:
        dep = kube_client.get(Deployment, "web", namespace=ns)
        pvc = kube_client.get(PersistentVolumeClaim, "data", namespace=ns)
        return bool(dep.status and dep.status.readyReplicas == 2
                    and pvc.status and pvc.status.phase == "Bound")

    wait_for(ready, f"{ns} ready")
    return ns


def drill(control_plane: ControlPlane, capsys: pytest.CaptureFixture[str],
          *args: str) -> tuple[int, str, str]:
    code = main(["drill", "backup", "--kubeconfig", str(control_plane.kubeconfig), *args])
    out, err = capsys.readouterr()
    return code, out, err


def record(client: Client) -> dict[str, str]:
    return dict(client.get(ConfigMap, RECORD_NAME, namespace="velero").data or {})


def gone_or_terminating(client: Client, ns: str) -> bool:
    try:
        got = client.get(Namespace, ns)
    except ApiError as err:
        return err.status.code == 404
    return bool(got.status and got.status.phase == "Terminating")


def names(client: Client, kind: Any) -> set[str]:
    return {o["metadata"]["name"] for o in client.list(kind, namespace="velero")}


def versions(client: Client, ns: str) -> dict[str, str]:
    out = {}
    for kind in (ConfigMap, Secret, Deployment, PersistentVolumeClaim):
        for obj in client.list(kind, namespace=ns):
            assert obj.metadata is not None
            out[f"{kind.__name__}/{obj.metadata.name}"] = str(obj.metadata.resourceVersion)
    return out


def test_preview_says_what_it_will_do_and_does_nothing(
    kube_client: Client, standin: VeleroStandIn, source: str, control_plane: ControlPlane,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = names(kube_client, Backup)
    code, out, _ = drill(control_plane, capsys, "--namespace", source)
    assert code == 0
    assert f"into {source}-drill (namespaceMapping {source} -> {source}-drill" in out
    assert "Run again with --yes" in out
    assert names(kube_client, Backup) == before
    assert gone_or_terminating(kube_client, f"{source}-drill")


def test_a_good_restore_passes_is_recorded_and_cleaned_up(
    kube_client: Client, standin: VeleroStandIn, source: str, control_plane: ControlPlane,
    capsys: pytest.CaptureFixture[str],
) -> None:
    untouched = versions(kube_client, source)
    code, out, err = drill(control_plane, capsys, "--namespace", source, "--yes")
    assert code == 0, out + err
    assert out.startswith("PASS ")
    assert SECRET_VALUE not in out + err
    assert re.search(r"Deployment\.apps\s+│\s+1\s+│\s+1", out)

    rec = record(kube_client)
    assert set(rec) == RECORD_KEYS
    assert rec["namespace"] == source and rec["verdict"] == "pass"
    assert rec["differences"] == "0"
    assert RFC3339.match(rec["startedAt"]) and RFC3339.match(rec["finishedAt"])
    assert rec["startedAt"] <= rec["finishedAt"]
    assert "\n" not in rec["summary"]
    cm = kube_client.get(ConfigMap, RECORD_NAME, namespace="velero")
    assert cm.metadata and cm.metadata.labels
    assert cm.metadata.labels["app.kubernetes.io/managed-by"] == "outfitter"

    backup = kube_client.get(Backup, rec["backup"], namespace="velero")
    assert backup["spec"]["includedNamespaces"] == [source]
    assert backup["status"]["phase"] == "Completed"
    # The restored copy went to the drill namespace; the source was never written to.
    assert versions(kube_client, source) == untouched
    assert rec["restore"] not in names(kube_client, Restore)
    assert gone_or_terminating(kube_client, f"{source}-drill")


def test_from_schedule_restores_the_newest_scheduled_backup_and_shows_what_changed(
    kube_client: Client, standin: VeleroStandIn, source: str, control_plane: ControlPlane,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, delay in ((f"daily-{source}-old", 0.0), (f"daily-{source}-new", 1.1)):
        time.sleep(delay)  # completionTimestamp has one-second resolution
        apply(kube_client, {
            "apiVersion": "velero.io/v1", "kind": "Backup",
            "metadata": {"name": name, "namespace": "velero",
                         "labels": {SCHEDULE_LABEL: "daily"}},
            "spec": {"includedNamespaces": ["*"]},
        })
        wait_for(lambda n=name: (kube_client.get(Backup, n, namespace="velero").get("status")
                                 or {}).get("phase") == "Completed", f"backup {name}")
    # Changes after the scheduled backup: the restore cannot have them.
    kube_client.patch(ConfigMap, "app-config", {"data": {"greeting": "changed"}},
                      namespace=source)
    apply(kube_client, {"apiVersion": "v1", "kind": "Secret",
                        "metadata": {"name": "new-token", "namespace": source},
                        "stringData": {"token": SECRET_VALUE}})

    code, out, err = drill(control_plane, capsys, "-n", source, "--from-schedule", "--yes",
                           "--json")
    assert code == 1, out + err
    result = json.loads(out)
    assert result["backup"] == f"daily-{source}-new"
    assert result["differences"] == [
        "ConfigMap app-config: data differs (keys: greeting)",
        "Secret new-token: missing in the restore",
    ]
    assert SECRET_VALUE not in out + err and "changed" not in out
    assert result["verdict"] == "fail"
    rec = record(kube_client)
    assert (rec["verdict"], rec["differences"], rec["backup"]) == (
        "fail", "2", f"daily-{source}-new")


def test_a_partially_failed_backup_is_reported_with_velero_counts_and_reason(
    kube_client: Client, standin: VeleroStandIn, source: str, control_plane: ControlPlane,
    capsys: pytest.CaptureFixture[str],
) -> None:
    standin.backup_outcome = Outcome("PartiallyFailed", warnings=1, errors=2,
                                     failure_reason="volume data: kopia upload failed")
    restores = names(kube_client, Restore)
    code, out, _ = drill(control_plane, capsys, "-n", source, "--yes")
    assert code == 1
    assert re.search(r"FAIL .*Backup drill-\S+ PartiallyFailed", out)
    assert "1 warning(s), 2 error(s)" in out
    assert "failure reason: volume data: kopia upload failed" in out
    assert "velero backup describe" in out
    assert names(kube_client, Restore) == restores
    assert gone_or_terminating(kube_client, f"{source}-drill")
    assert record(kube_client)["verdict"] == "fail"


def test_a_failed_restore_is_reported_and_its_restore_removed(
    kube_client: Client, standin: VeleroStandIn, source: str, control_plane: ControlPlane,
    capsys: pytest.CaptureFixture[str],
) -> None:
    standin.restore_outcome = Outcome("Failed", errors=1,
                                      failure_reason="error getting backup from storage")
    code, out, _ = drill(control_plane, capsys, "-n", source, "--yes")
    assert code == 1
    assert re.search(r"Restore drill-\S+ Failed", out)
    assert "failure reason: error getting backup from storage" in out
    rec = record(kube_client)
    assert rec["verdict"] == "fail" and rec["restore"] not in names(kube_client, Restore)


def test_a_partially_failed_restore_is_still_compared(
    kube_client: Client, standin: VeleroStandIn, source: str, control_plane: ControlPlane,
    capsys: pytest.CaptureFixture[str],
) -> None:
    standin.restore_outcome = Outcome("PartiallyFailed", warnings=3, errors=1)
    code, out, _ = drill(control_plane, capsys, "-n", source, "--yes", "--json")
    assert code == 1
    result = json.loads(out)
    assert result["failure"] == f"Restore {result['restore']} PartiallyFailed"
    assert "3 warning(s), 1 error(s)" in result["velero"][0]
    assert {c["kind"]: c["restored"] for c in result["counts"]}["ConfigMap"] == 1
    assert record(kube_client)["verdict"] == "fail"


def test_a_backup_that_never_finishes_times_out(
    kube_client: Client, standin: VeleroStandIn, source: str, control_plane: ControlPlane,
    capsys: pytest.CaptureFixture[str],
) -> None:
    standin.paused = True
    code, out, _ = drill(control_plane, capsys, "-n", source, "--yes", "--timeout", "1")
    assert code == 1
    assert "did not finish within 1s (is Velero running?" in out
    assert record(kube_client)["verdict"] == "fail"


def test_an_existing_drill_namespace_is_refused_and_nothing_is_created(
    kube_client: Client, standin: VeleroStandIn, source: str, control_plane: ControlPlane,
    capsys: pytest.CaptureFixture[str],
) -> None:
    apply(kube_client, {"apiVersion": "v1", "kind": "Namespace",
                        "metadata": {"name": f"{source}-drill"}})
    apply(kube_client, {"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": "precious", "namespace": f"{source}-drill"}})
    backups = names(kube_client, Backup)
    code, _, err = drill(control_plane, capsys, "-n", source, "--yes")
    assert code == 2
    assert f"drill namespace {source}-drill already exists" in err
    assert names(kube_client, Backup) == backups
    kube_client.get(ConfigMap, "precious", namespace=f"{source}-drill")


def test_keep_leaves_the_restore_to_look_at_and_an_unbound_claim_is_a_difference(
    kube_client: Client, standin: VeleroStandIn, source: str, control_plane: ControlPlane,
    capsys: pytest.CaptureFixture[str],
) -> None:
    claim = kube_client.get(PersistentVolumeClaim, "data", namespace=source)
    assert claim.spec is not None
    spare = ({f"{source}-a", f"{source}-b"} - {claim.spec.volumeName}).pop()
    kube_client.delete(PersistentVolume, spare)  # no volume left for the restored claim
    code, out, _ = drill(control_plane, capsys, "-n", source, "--yes", "--keep",
                         "--settle-timeout", "1")
    assert code == 1
    assert "PersistentVolumeClaim data: not Bound in the restore (Pending)" in out
    rec = record(kube_client)
    assert rec["differences"] == "1"
    restored = kube_client.get(ConfigMap, "app-config", namespace=f"{source}-drill")
    assert restored.data == {"greeting": "hello", "mode": "production"}
    assert rec["restore"] in names(kube_client, Restore)
    assert f"kept namespace {source}-drill" in out


def test_the_drill_is_reachable_from_the_velero_addon() -> None:
    # Named from the add-on's room, not imported by it: loading a profile (which loads every
    # add-on) must not load a cluster client.
    import inspect

    from outfitter.addons import velero
    from outfitter.ops import drill
    assert "outfitter.ops.drill" in inspect.getsource(velero)
    assert drill.RECORD_NAME == velero.DRILL_RECORD
