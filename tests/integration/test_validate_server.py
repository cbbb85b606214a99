"""`outfitter validate --kubeconfig … --server` against the real test control plane with the
upstream CRDs installed: schemas for custom resources come from the cluster's CRDs, references
are looked up on the cluster, and every object is dry-run applied — the server's verdict on
what the offline schemas cannot express is reported with its file and line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from lightkube import ApiError, Client, codecs
from lightkube.resources.apps_v1 import Deployment

from outfitter.cli import main
from outfitter.plan import build_plan
from outfitter.render.flux import render_tree
from outfitter.render.writer import write_tree
from outfitter.testcluster import ControlPlane
from profiles import variant

pytestmark = pytest.mark.integration

EXISTING = ["monitoring", "argocd"]


def apply(client: Client, obj: dict[str, Any]) -> None:
    client.apply(codecs.from_dict(obj), field_manager="outfitter-tests", force=True)


def namespace(client: Client, name: str) -> None:
    apply(client, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def validate_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["validate", *args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_the_rendered_tree_passes_the_api_server(
    control_plane: ControlPlane, kube_client: Client, crds_installed: int, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_tree(tmp_path, render_tree(build_plan(variant("default"))))
    # Flux creates the tree's namespaces before the objects in them; a dry run cannot, so
    # they are made for real first.
    for ns in ["velero", "cert-manager", "kyverno", "reloader", "object-storage", "cost",
               "descheduler", "falco", "keda", "longhorn-system", "observability", "security",
               "outfitter", "flux-system", *EXISTING]:
        namespace(kube_client, ns)
    known = [a for ns in EXISTING for a in ("--known-namespace", ns)]
    code, report = validate_json(capsys, str(tmp_path), "--kubeconfig",
                                 str(control_plane.kubeconfig), "--server", *known)
    assert [f"{f['file']}:{f['line']}: {f['rule']}: {f['message']}"
            for f in report["findings"]] == []
    assert code == 0
    summary = report["summary"]
    # No --schemas: the custom resources were checked against the cluster's CRDs.
    assert summary["objects"] == summary["validated_against_schema"] > 100
    assert summary["kubernetes_version"] == "1.36"


def test_what_only_the_server_knows_is_reported_with_file_and_line(
    control_plane: ControlPlane, kube_client: Client, crds_installed: int, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    namespace(kube_client, "server-checks")
    tree = tmp_path / "repo"
    (tree / "apps").mkdir(parents=True)
    # Schema-valid, but the API server refuses it: the selector does not match the labels.
    (tree / "apps" / "deploy.yaml").write_text("""\
apiVersion: v1
kind: ConfigMap
metadata: {name: fine, namespace: server-checks}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: mismatched
  namespace: server-checks
spec:
  selector:
    matchLabels: {app: one}
  template:
    metadata:
      labels: {app: two}
    spec:
      containers: [{name: c, image: "busybox:1.37"}]
""")
    # A namespace this tree creates: objects in it cannot be dry-run yet; said, not failed.
    (tree / "apps" / "later.yaml").write_text("""\
apiVersion: v1
kind: Namespace
metadata: {name: created-later}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: waits, namespace: created-later}
""")
    code, report = validate_json(capsys, str(tree), "--kubeconfig",
                                 str(control_plane.kubeconfig), "--server")
    rejected = [f for f in report["findings"] if f["rule"] == "server-dry-run"]
    assert [(f["file"], f["line"], f["object"]) for f in rejected] == [
        ("apps/deploy.yaml", 5, "Deployment server-checks/mismatched")]
    assert "selector" in rejected[0]["message"]
    skipped = [f for f in report["findings"] if f["rule"] == "server-skipped"]
    assert [(f["file"], f["object"]) for f in skipped] == [
        ("apps/later.yaml", "ConfigMap created-later/waits")]
    assert code == 1
    # A dry run leaves nothing behind.
    with pytest.raises(ApiError):
        kube_client.get(Deployment, "mismatched", namespace="server-checks")


def test_references_are_looked_up_on_the_cluster(
    control_plane: ControlPlane, kube_client: Client, crds_installed: int, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    namespace(kube_client, "refs-live")
    apply(kube_client, {"apiVersion": "v1", "kind": "Secret",
                        "metadata": {"name": "on-cluster", "namespace": "refs-live"},
                        "stringData": {"k": "v"}})
    tree = tmp_path / "repo"
    tree.mkdir()
    (tree / "pod.yaml").write_text("""\
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: refs-live}
spec:
  containers:
    - name: c
      image: busybox:1.37
      envFrom:
        - secretRef: {name: on-cluster}
        - secretRef: {name: nowhere}
""")
    code, report = validate_json(capsys, str(tree), "--kubeconfig",
                                 str(control_plane.kubeconfig))
    refs = [f for f in report["findings"] if f["rule"] == "secret-ref"]
    assert [(f["line"], f["message"]) for f in refs] == [
        (10, "container 'c' envFrom: Secret refs-live/nowhere is not in the tree or on the "
             "cluster: no Secret, ExternalSecret or Certificate provides it")]
    # The namespace exists on the cluster, though the tree does not create it.
    assert [f for f in report["findings"] if f["rule"] == "namespace"] == []
    assert code == 1
