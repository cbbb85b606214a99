"""The test control plane is a real Kubernetes: scheduling, controllers, RBAC, kubectl."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest
from lightkube import ApiError, Client, KubeConfig
from lightkube.models.apps_v1 import DeploymentSpec
from lightkube.models.authentication_v1 import TokenRequestSpec
from lightkube.models.core_v1 import Container, PodSpec, PodTemplateSpec
from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
from lightkube.models.rbac_v1 import PolicyRule, RoleRef, Subject
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import (
    ConfigMap,
    Namespace,
    Pod,
    Secret,
    ServiceAccount,
)
from lightkube.resources.rbac_authorization_v1 import Role, RoleBinding

from outfitter.testcluster import ControlPlane

pytestmark = pytest.mark.integration

T = TypeVar("T")
TIMEOUT = 60.0
PAUSE_IMAGE = "registry.k8s.io/pause:3.10"


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = TIMEOUT) -> T:
    """Poll ``probe`` until it returns something other than None (or fail after timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.25)


@pytest.fixture
def namespace(kube_client: Client) -> Iterator[str]:
    """A fresh namespace per test, deleted afterwards (not waited for)."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    kube_client.create(Namespace(metadata=ObjectMeta(name=name)))
    yield name
    try:
        kube_client.delete(Namespace, name)
    except ApiError as exc:
        if exc.status.code != 404:
            raise


def test_deployment_pods_run_on_fake_nodes(
    control_plane: ControlPlane, kube_client: Client, namespace: str
) -> None:
    labels = {"app": "web"}
    kube_client.create(Deployment(
        metadata=ObjectMeta(name="web", namespace=namespace),
        spec=DeploymentSpec(
            replicas=2,
            selector=LabelSelector(matchLabels=labels),
            template=PodTemplateSpec(
                metadata=ObjectMeta(labels=labels),
                # Never pulled: KWOK only pretends to run it.
                spec=PodSpec(containers=[Container(name="web", image=PAUSE_IMAGE)]),
            ),
        ),
    ))

    def running_pods() -> list[Pod] | None:
        pods = [p for p in kube_client.list(Pod, namespace=namespace, labels={"app": "web"})
                if p.status is not None and p.status.phase == "Running"]
        return pods if len(pods) == 2 else None

    pods = wait_for("2 Running pods of deployment web", running_pods)
    for pod in pods:
        assert pod.spec is not None
        assert pod.spec.nodeName in control_plane.nodes

    def deployment_available() -> Deployment | None:
        dep = kube_client.get(Deployment, "web", namespace=namespace)
        return dep if dep.status is not None and dep.status.availableReplicas == 2 else None

    wait_for("deployment web to report 2 available replicas", deployment_available)


def test_namespace_with_content_is_deleted(kube_client: Client) -> None:
    name = f"t-del-{uuid.uuid4().hex[:8]}"
    kube_client.create(Namespace(metadata=ObjectMeta(name=name)))
    kube_client.create(ConfigMap(metadata=ObjectMeta(name="data", namespace=name),
                                 data={"k": "v"}))
    kube_client.delete(Namespace, name)

    def gone() -> bool | None:
        # Only the namespace controller (kube-controller-manager) empties and finalizes it.
        try:
            kube_client.get(Namespace, name)
        except ApiError as exc:
            if exc.status.code == 404:
                return True
            raise
        return None

    wait_for(f"namespace {name} to be deleted", gone)


def _expect_forbidden(call: Callable[[], object]) -> None:
    with pytest.raises(ApiError) as info:
        call()
    assert info.value.status.code == 403, info.value.status


def test_rbac_is_enforced_for_service_account_tokens(
    control_plane: ControlPlane, kube_client: Client, namespace: str
) -> None:
    kube_client.create(ServiceAccount(metadata=ObjectMeta(name="reader", namespace=namespace)))
    kube_client.create(Role(
        metadata=ObjectMeta(name="configmap-reader", namespace=namespace),
        rules=[PolicyRule(apiGroups=[""], resources=["configmaps"], verbs=["get", "list"])],
    ))
    kube_client.create(RoleBinding(
        metadata=ObjectMeta(name="reader", namespace=namespace),
        roleRef=RoleRef(apiGroup="rbac.authorization.k8s.io", kind="Role",
                        name="configmap-reader"),
        subjects=[Subject(kind="ServiceAccount", name="reader", namespace=namespace)],
    ))
    kube_client.create(ConfigMap(metadata=ObjectMeta(name="visible", namespace=namespace),
                                 data={"k": "v"}))

    request = kube_client.create(
        # lightkube needs metadata on a POSTed object, even a subresource's; empty audiences
        # mean "the apiserver's own" (its issuer).
        ServiceAccount.Token(metadata=ObjectMeta(),
                             spec=TokenRequestSpec(audiences=[], expirationSeconds=600)),
        "reader", namespace=namespace,
    )
    assert request.status is not None and request.status.token
    config = KubeConfig.from_dict({
        "clusters": [{"name": "c", "cluster": {"server": control_plane.server,
                                               "certificate-authority": str(
                                                   control_plane.ca_file)}}],
        "users": [{"name": "reader", "user": {"token": request.status.token}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "reader",
                                               "namespace": namespace}}],
        "current-context": "c",
    })
    with Client(config) as sa_client:
        def can_list() -> list[str] | None:
            # The RBAC authorizer sees the new binding through an informer: allow it a moment.
            try:
                return [cm.metadata.name for cm in sa_client.list(ConfigMap, namespace=namespace)
                        if cm.metadata is not None and cm.metadata.name]
            except ApiError as exc:
                if exc.status.code == 403:
                    return None
                raise

        names = wait_for("the service account to be allowed to list configmaps", can_list,
                         timeout=20)
        assert "visible" in names

        _expect_forbidden(lambda: list(sa_client.list(Secret, namespace=namespace)))
        _expect_forbidden(lambda: sa_client.create(
            ConfigMap(metadata=ObjectMeta(name="nope", namespace=namespace), data={})))
        _expect_forbidden(lambda: list(sa_client.list(ConfigMap, namespace="default")))


def test_kubectl_lists_fake_nodes_ready(control_plane: ControlPlane) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl not on PATH")
    out = subprocess.run(
        [kubectl, "--kubeconfig", str(control_plane.kubeconfig), "get", "nodes",
         "--no-headers", "-o", "custom-columns=NAME:.metadata.name,"
         "READY:.status.conditions[?(@.type=='Ready')].status,TYPE:.metadata.labels.type"],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout
    rows = {cols[0]: cols[1:] for cols in (line.split() for line in out.splitlines()) if cols}
    assert set(control_plane.nodes) <= set(rows), out
    for node in control_plane.nodes:
        assert rows[node] == ["True", "kwok"], out

    # And the human view: plain `get nodes` says Ready too.
    plain = subprocess.run(
        [kubectl, "--kubeconfig", str(control_plane.kubeconfig), "get", "nodes"],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout
    status = {line.split()[0]: line.split()[1] for line in plain.splitlines()[1:] if line.strip()}
    for node in control_plane.nodes:
        assert status[node] == "Ready", plain
