"""The tree `outfitter render` writes, applied to the real control plane as a server-side dry
run, with the upstream CRDs installed: every object is accepted, and a failure names its file.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lightkube import Client, codecs

from outfitter import yamlio
from outfitter.cluster.apply import Located, apply_all
from outfitter.plan import build_plan
from outfitter.render.flux import render_tree
from profiles import VARIANTS, variant

pytestmark = pytest.mark.integration


def located(files: dict[str, str]) -> list[Located]:
    return [Located(path, obj) for path, text in files.items() if path.endswith(".yaml")
            for obj in yamlio.load_all(text)]


def ensure_namespaces(client: Client, items: list[Located]) -> None:
    """Namespaces are created for real (a dry run cannot place objects in a namespace that
    does not exist); flux-system and argocd exist on the user's cluster already."""
    wanted = {"flux-system", "argocd", "monitoring"} | {
        i.obj["metadata"]["name"] for i in items if i.obj["kind"] == "Namespace"}
    wanted |= {i.obj["metadata"]["namespace"] for i in items
               if i.obj.get("metadata", {}).get("namespace")}
    for ns in sorted(wanted):
        namespace = codecs.from_dict({"apiVersion": "v1", "kind": "Namespace",
                                      "metadata": {"name": ns}})
        client.apply(namespace, field_manager="outfitter-tests", force=True)


def kustomize_kinds(items: list[Located]) -> list[Located]:
    # kustomization.yaml files are build instructions for kustomize, not API objects.
    return [i for i in items if i.obj.get("apiVersion") != "kustomize.config.k8s.io/v1beta1"]


def test_upstream_crds_install(crds_installed: int) -> None:
    assert crds_installed > 150


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_rendered_object_is_accepted_by_the_api_server(
    name: str, kube_client: Client, crds_installed: int
) -> None:
    items = kustomize_kinds(located(render_tree(build_plan(variant(name)))))
    ensure_namespaces(kube_client, items)
    failures = apply_all(kube_client, items, dry_run=True)
    assert [str(f) for f in failures] == []
    assert len(items) > 30


def test_a_rejected_object_is_reported_with_its_file(
    kube_client: Client, crds_installed: int, tmp_path: Path
) -> None:
    bad = {"apiVersion": "velero.io/v1", "kind": "Schedule",
           "metadata": {"name": "broken", "namespace": "velero"},
           "spec": {"schedule": 7, "template": {"ttl": "720h0m0s"}}}
    ensure_namespaces(kube_client, [Located("x", bad)])
    [failure] = apply_all(kube_client, [Located("velero/config/schedule.yaml", bad)])
    assert str(failure).startswith("velero/config/schedule.yaml: Schedule velero/broken: ")
    assert "schedule" in failure.message
    # A dry run leaves nothing behind.
    assert apply_all(kube_client, [Located("x", bad)], dry_run=True)
