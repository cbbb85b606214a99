"""The four stacks on the real control plane (server-side dry run, with the upstream CRDs and
the Gateway API, envoy-gateway and flux-operator CRDs tools/build.sh copies): External Secrets
+ Traefik, SOPS + Gateway API, SOPS + Traefik, External Secrets + Gateway API. SOPS Secrets
are applied as Flux would apply them: decrypted by the real sops with the test age key. And
status reads a FluxInstance's Ready condition."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from lightkube import Client, codecs
from lightkube.generic_resource import create_namespaced_resource
from lightkube.types import PatchType

import upstream_data
from outfitter import yamlio
from outfitter.cluster.apply import Located, apply_all
from outfitter.cluster.connect import open_reader
from outfitter.plan import build_plan
from outfitter.render.flux import render_tree
from outfitter.render.sops import render_repository
from outfitter.render.writer import write_tree
from outfitter.status.existing import flux_instance_check
from outfitter.testcluster import ControlPlane
from profiles import STACKS, variant
from sops_repo import make_repo

pytestmark = pytest.mark.integration


def ensure_namespaces(client: Client, items: list[Located]) -> None:
    """A dry run cannot place objects in a namespace that does not exist."""
    wanted = {"flux-system", "argocd", "monitoring"} | {
        i.obj["metadata"]["namespace"] for i in items if i.obj["metadata"].get("namespace")}
    for ns in sorted(wanted):
        client.apply(codecs.from_dict({"apiVersion": "v1", "kind": "Namespace",
                                       "metadata": {"name": ns}}),
                     field_manager="outfitter-tests", force=True)


@pytest.fixture(scope="module")
def tool_crds() -> None:
    if not upstream_data.tool_crds_available():
        pytest.fail(f"Gateway API / envoy-gateway / flux-operator CRDs missing in "
                    f"{upstream_data.TOOL_CRDS}; run tools/build.sh", pytrace=False)


@pytest.mark.parametrize("name", sorted(STACKS))
def test_every_object_of_each_stack_is_accepted(
    name: str, kube_client: Client, crds_installed: int, tool_crds: None, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secrets, ingress = STACKS[name]
    plan = build_plan(variant(name))
    assert (plan.profile.secrets.provider, plan.profile.ingress.provider) == (secrets, ingress)
    if secrets == "sops":
        repo = make_repo(tmp_path / "repo", tmp_path / "keys", monkeypatch)
        files = render_repository(plan, repo.root)
        write_tree(repo.root, files)
        # What kustomize-controller applies: the Secret after decryption.
        texts = {rel: yamlio.dump(repo.decrypt(rel)) if rel.endswith(".sops.yaml") else text
                 for rel, text in files.items()}
    else:
        texts = render_tree(plan)
    items = [Located(rel, obj) for rel, text in texts.items() if rel.endswith(".yaml")
             for obj in yamlio.load_all(text)
             if obj.get("apiVersion") != "kustomize.config.k8s.io/v1beta1"]
    kinds = [i.obj["kind"] for i in items]
    if ingress == "gateway-api":
        assert kinds.count("HTTPRoute") == kinds.count("SecurityPolicy") > 0
        assert "IngressRoute" not in kinds and "Middleware" not in kinds
    else:
        assert "IngressRoute" in kinds and "HTTPRoute" not in kinds
    if secrets == "sops":
        assert "ExternalSecret" not in kinds and kinds.count("Secret") > 3
        assert all("sops" not in i.obj for i in items)
    else:
        assert "Secret" not in kinds and "ExternalSecret" in kinds
    ensure_namespaces(kube_client, items)
    failures = apply_all(kube_client, items, dry_run=True)
    assert [str(f) for f in failures] == []


def test_status_recognises_a_ready_flux_instance(
    control_plane: ControlPlane, kube_client: Client, crds_installed: int, tool_crds: None
) -> None:
    instance = create_namespaced_resource("fluxcd.controlplane.io", "v1", "FluxInstance",
                                          "fluxinstances")
    ensure_namespaces(kube_client, [])
    kube_client.apply(instance.from_dict({
        "apiVersion": "fluxcd.controlplane.io/v1", "kind": "FluxInstance",
        "metadata": {"name": "flux", "namespace": "flux-system"},
        "spec": {"distribution": {"version": "2.x", "registry": "ghcr.io/fluxcd"}},
    }), field_manager="outfitter-tests", force=True)
    check = flux_instance_check("flux")

    def result() -> tuple[str, str]:
        with open_reader(control_plane.kubeconfig) as reader:
            r = check.run(reader)
        return r.state, r.evidence

    state, evidence = result()
    assert state == "fail" and "not Ready" in evidence
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    kube_client.patch(instance.Status, "flux", {"status": {
        "conditions": [{"type": "Ready", "status": "True", "reason": "ReconciliationSucceeded",
                        "message": "ok", "lastTransitionTime": now}],
        "lastAppliedRevision": "v2.7.0@sha256:0"}},
        namespace="flux-system", patch_type=PatchType.MERGE)
    assert result() == ("pass", "FluxInstance flux-system/flux Ready (v2.7.0@sha256:0)")
    with open_reader(control_plane.kubeconfig) as reader:
        assert flux_instance_check("other").run(reader).state == "fail"
