"""`outfitter status` against a real control plane of its own, seeded with objects.

Flux, Velero, cert-manager, Kyverno's controllers and Trivy cannot run here: the seed
writes the status fields they would write (the tests' stand-in for those controllers).
Deployments are real: the controller-manager and KWOK make them available.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from control_plane import install_upstream_crds, start_control_plane
from lightkube import Client, KubeConfig
from lightkube.models.authentication_v1 import TokenRequestSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ServiceAccount

from outfitter import yamlio
from outfitter.addons import registry
from outfitter.cli import main
from outfitter.config import parse_profile
from outfitter.plan import make_context
from outfitter.testcluster import ControlPlane

pytestmark = pytest.mark.integration

ENHANCEMENTS = Path(__file__).resolve().parents[3] / "shared" / "roadmap" / "ENHANCEMENTS.md"
ENABLED = ("object-storage", "velero", "cert-manager", "kyverno", "reloader", "trivy-operator",
           "descheduler", "outfitter")
PROFILE = {"addons": {a.name: {"enabled": a.name in ENABLED} for a in registry.all_addons()}}


def stamp(delta: timedelta = timedelta()) -> str:
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def ready(status: str = "True") -> dict[str, Any]:
    return {"conditions": [{"type": "Ready", "status": status, "reason": "Seeded",
                            "message": "stand-in", "lastTransitionTime": stamp()}]}


class Seeder:
    def __init__(self, cp: ControlPlane) -> None:
        self.kubeconfig = str(cp.kubeconfig)
        self.kubectl = shutil.which("kubectl") or "kubectl"

    def apply(self, objs: list[dict[str, Any]]) -> None:
        subprocess.run([self.kubectl, "--kubeconfig", self.kubeconfig, "apply",
                        "--server-side", "--field-manager=seed", "-f", "-"],
                       input=yamlio.dump_all(objs), text=True, check=True, capture_output=True)

    def set_status(self, obj: dict[str, Any], status: dict[str, Any]) -> None:
        """What the object's controller would write (the stand-in)."""
        meta = obj["metadata"]
        resource = f"{obj['kind'].lower()}.{obj['apiVersion'].split('/')[0]}" \
            if "/" in obj["apiVersion"] else obj["kind"].lower()
        cmd = [self.kubectl, "--kubeconfig", self.kubeconfig, "patch", resource, meta["name"],
               "--subresource=status", "--type=merge", "-p", json.dumps({"status": status})]
        if meta.get("namespace"):
            cmd += ["-n", meta["namespace"]]
        subprocess.run(cmd, check=True, capture_output=True, text=True)

    def with_status(self, obj: dict[str, Any], status: dict[str, Any]) -> None:
        self.apply([obj])
        try:
            self.set_status(obj, status)
        except subprocess.CalledProcessError:
            # Velero's CRDs have no status subresource: status is part of the object.
            self.apply([{**obj, "status": status}])


def obj(api: str, kind: str, name: str, ns: str | None = None, **rest: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if ns:
        meta["namespace"] = ns
    meta.update(rest.pop("meta", {}))
    return {"apiVersion": api, "kind": kind, "metadata": meta, **rest}


def deployment(name: str, ns: str, **pod: Any) -> dict[str, Any]:
    spec = {"containers": [{"name": "c", "image": "nginx:1.27", **pod.pop("container", {})}],
            **pod}
    return obj("apps/v1", "Deployment", name, ns,
               spec={"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": spec}})


@pytest.fixture(scope="module")
def cluster() -> Iterator[ControlPlane]:
    cp = start_control_plane()
    try:
        with cp.client() as client:
            install_upstream_crds(client)
        seed(Seeder(cp))
        yield cp
    finally:
        cp.stop()


def seed(s: Seeder) -> None:
    namespaces = ["flux-system", "velero", "cert-manager", "kyverno", "reloader",
                  "object-storage", "apps", "monitoring", "security", "outfitter", "traefik"]
    s.apply([obj("v1", "Namespace", n) for n in namespaces])
    s.apply([deployment("traefik", "traefik")])  # the existing stack: Traefik, nothing else
    s.apply([obj("v1", "Namespace", "descheduler")])
    # The CronJob controller would run it; the stand-in writes a last run that failed.
    s.with_status(obj("batch/v1", "CronJob", "descheduler", "descheduler", spec={
        "schedule": "*/30 * * * *", "suspend": True, "jobTemplate": {"spec": {"template": {
            "spec": {"restartPolicy": "Never",
                     "containers": [{"name": "d", "image": "descheduler:0.36.0"}]}}}}}),
        {"lastScheduleTime": stamp(-timedelta(minutes=10)),
         "lastSuccessfulTime": stamp(-timedelta(hours=3))})
    flux = "kustomize.toolkit.fluxcd.io/v1"
    for name, is_ready in (("velero", True), ("velero-config", True), ("cert-manager", True),
                           ("cert-manager-config", True), ("kyverno", True),
                           ("kyverno-config", True), ("object-storage", True),
                           ("reloader", False)):
        s.with_status(obj(flux, "Kustomization", name, "flux-system",
                          spec={"interval": "1h", "path": "./x", "prune": True,
                                "sourceRef": {"kind": "GitRepository", "name": "flux-system"}}),
                      ready("True" if is_ready else "False"))
    for name, ns in (("velero", "velero"), ("cert-manager", "cert-manager"),
                     ("kyverno", "kyverno"), ("object-storage", "object-storage"),
                     ("reloader", "reloader")):
        s.with_status(obj("helm.toolkit.fluxcd.io/v2", "HelmRelease", name, ns,
                          spec={"interval": "1h", "chart": {"spec": {
                              "chart": name, "sourceRef": {"kind": "HelmRepository",
                                                           "name": name}}}}), ready())
    s.apply([deployment("velero", "velero")])
    velero = "velero.io/v1"
    s.with_status(obj(velero, "BackupStorageLocation", "default", "velero",
                      spec={"provider": "aws", "objectStorage": {"bucket": "velero"}}),
                  {"phase": "Available"})
    s.apply([obj(velero, "Schedule", "daily", "velero",
                 spec={"schedule": "0 3 * * *", "template": {"ttl": "720h0m0s"}})])
    s.with_status(obj(velero, "Backup", "daily-20261126030000", "velero",
                      meta={"labels": {"velero.io/schedule-name": "daily"}}, spec={}),
                  {"phase": "Completed", "completionTimestamp": stamp(-timedelta(hours=2))})
    s.apply([obj("v1", "ConfigMap", "outfitter-restore-drill", "velero", data={
        "namespace": "apps", "backup": "drill-1", "restore": "drill-1",
        "startedAt": stamp(-timedelta(days=1, minutes=5)), "finishedAt": stamp(-timedelta(days=1)),
        "verdict": "pass", "differences": "0", "summary": "12 objects restored, no difference"})])
    cm = "cert-manager.io/v1"
    for issuer in ("letsencrypt-staging", "letsencrypt-production"):
        s.with_status(obj(cm, "ClusterIssuer", issuer, spec={"acme": {
            "server": "https://acme.invalid/directory", "email": "a@b.example",
            "privateKeySecretRef": {"name": issuer}, "solvers": [{"http01": {"ingress": {}}}]}}),
            ready())
    s.with_status(obj(cm, "Certificate", "web-tls", "apps", spec={
        "secretName": "web-tls", "dnsNames": ["web.example.com"],
        "issuerRef": {"kind": "ClusterIssuer", "name": "letsencrypt-production"}}),
        {**ready(), "notAfter": stamp(timedelta(days=60))})
    s.apply([obj("traefik.io/v1alpha1", "IngressRoute", "legacy", "apps", spec={
        "routes": [{"kind": "Rule", "match": "Host(`legacy.example.com`)",
                    "services": [{"name": "legacy", "port": 80}]}],
        "tls": {"certResolver": "letsencrypt"}})])
    kyverno = registry.get("kyverno")
    ctx = make_context(parse_profile(PROFILE))
    for policy in kyverno.resources(ctx).config:
        s.with_status(policy, {"conditionStatus": {"ready": True, "conditions": []}})
    # As Kyverno's reports controller writes them: one report per resource, named in scope.
    s.apply([obj("wgpolicyk8s.io/v1alpha2", "PolicyReport", "web", "apps",
                 scope={"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                        "namespace": "apps"},
                 results=[{"policy": "require-labels", "result": "fail",
                           "message": "label required", "source": "KyvernoValidatingPolicy",
                           "timestamp": {"seconds": 1, "nanos": 0}}])])
    s.apply([obj("v1", "ConfigMap", "web-config", "apps", data={"a": "1"}),
             deployment("web", "apps", volumes=[{"name": "c", "configMap": {"name": "web-config"}}],
                        container={"volumeMounts": [{"name": "c", "mountPath": "/c"}]})])


def status_json(cp: ControlPlane, capsys: pytest.CaptureFixture[str], tmp_path: Path,
                *extra: str, kubeconfig: Path | None = None) -> tuple[int, dict[str, Any]]:
    profile = tmp_path / "outfitter.yaml"
    profile.write_text(yaml.safe_dump(PROFILE))
    capsys.readouterr()
    code = main(["status", "--profile", str(profile), "--kubeconfig",
                 str(kubeconfig or cp.kubeconfig), "--json", *extra])
    out = capsys.readouterr().out
    return code, json.loads(out[out.index("{"):])


def states(data: dict[str, Any]) -> dict[str, str]:
    return {c["check"]: c["state"] for a in data["addons"] for c in a["checks"]}


def wait_available(cp: ControlPlane) -> None:
    # The real deployment controller and KWOK make the seeded Deployments available.
    kubectl = shutil.which("kubectl") or "kubectl"
    subprocess.run([kubectl, "--kubeconfig", str(cp.kubeconfig), "wait", "-A",
                    "--for=condition=Available", "deployment", "--all", "--timeout=60s"],
                   check=True, capture_output=True)


def test_each_check_reads_the_cluster(cluster: ControlPlane, capsys: pytest.CaptureFixture[str],
                                      tmp_path: Path) -> None:
    wait_available(cluster)
    code, data = status_json(cluster, capsys, tmp_path)
    got = states(data)
    assert got["velero.installed"] == "pass"
    assert got["velero.storage"] == "pass"
    assert got["velero.schedules"] == "pass"
    assert got["velero.drill"] == "pass"
    assert got["cert-manager.issuers"] == "pass"
    assert got["cert-manager.certificates"] == "pass"
    assert got["cert-manager.ingressroutes"] == "fail"
    assert got["kyverno.baseline"] == "pass" and got["kyverno.security"] == "pass"
    assert got["reloader.installed"] == "fail"
    assert got["reloader.annotations"] == "fail"
    assert got["trivy-operator.reports"] == "fail"
    assert got["descheduler.runs"] == "fail"
    evidence = {c["check"]: c["evidence"] for a in data["addons"] for c in a["checks"]}
    assert "require-labels Audit (1 open violations)" in evidence["kyverno.baseline"]
    assert "Deployment apps/web" in evidence["reloader.annotations"]
    assert "apps/legacy" in evidence["cert-manager.ingressroutes"]
    assert "soonest expiry apps/web-tls in 59d" in evidence["cert-manager.certificates"]
    assert evidence["descheduler.runs"] == (
        "last run 10m ago has not succeeded (last success 3h ago)")
    assert code == 1
    existing = {c["check"]: c for c in data["existing"]}
    assert existing["existing.traefik"]["state"] == "pass"
    assert existing["existing.traefik"]["evidence"] == "found Deployment traefik/traefik"
    assert existing["existing.linkerd"]["state"] == "fail"


def test_cost_grows_with_kinds_not_objects(cluster: ControlPlane,
                                           capsys: pytest.CaptureFixture[str],
                                           tmp_path: Path) -> None:
    _, before = status_json(cluster, capsys, tmp_path)
    Seeder(cluster).apply([obj("v1", "ConfigMap", f"extra-{i}", "apps", data={"i": str(i)})
                           for i in range(50)] +
                          [obj("cert-manager.io/v1", "Certificate", f"c{i}", "apps", spec={
                              "secretName": f"c{i}", "dnsNames": [f"c{i}.example.com"],
                              "issuerRef": {"name": "letsencrypt-production"}})
                           for i in range(50)])
    _, after = status_json(cluster, capsys, tmp_path)
    assert after["requests"] == before["requests"]


def test_a_missing_crd_means_not_installed(capsys: pytest.CaptureFixture[str],
                                           tmp_path: Path) -> None:
    cp = start_control_plane(nodes=1)
    try:
        _, data = status_json(cp, capsys, tmp_path)
        velero = next(a for a in data["addons"] if a["name"] == "velero")
        storage = next(c for c in velero["checks"] if c["check"] == "velero.storage")
        assert storage["state"] == "fail"
        assert storage["evidence"].startswith("not installed: backupstoragelocations.velero.io")
    finally:
        cp.stop()


def _token_kubeconfig(cp: ControlPlane, client: Client, sa: str, ns: str, path: Path) -> Path:
    request = client.create(
        ServiceAccount.Token(metadata=ObjectMeta(),
                             spec=TokenRequestSpec(audiences=[], expirationSeconds=600)),
        sa, namespace=ns)
    assert request.status is not None
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": cp.server,
                                               "certificate-authority": str(cp.ca_file)}}],
        "users": [{"name": sa, "user": {"token": request.status.token}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": sa}}],
        "current-context": "c"}))
    KubeConfig.from_file(path)
    return path


def test_no_permission_is_unknown_not_a_crash(cluster: ControlPlane,
                                              capsys: pytest.CaptureFixture[str],
                                              tmp_path: Path) -> None:
    Seeder(cluster).apply([obj("v1", "ServiceAccount", "nobody", "apps")])
    with cluster.client() as client:
        kubeconfig = _token_kubeconfig(cluster, client, "nobody", "apps", tmp_path / "kc")
    code, data = status_json(cluster, capsys, tmp_path, kubeconfig=kubeconfig)
    results = [c for a in data["addons"] for c in a["checks"]] + data["existing"]
    assert {c["state"] for c in results} == {"unknown"}
    assert any("no permission to list" in c["evidence"] for c in results)
    assert code == 0
    code, _ = status_json(cluster, capsys, tmp_path, "--strict", kubeconfig=kubeconfig)
    assert code == 1


def test_the_rendered_status_role_is_enough(cluster: ControlPlane,
                                            capsys: pytest.CaptureFixture[str],
                                            tmp_path: Path) -> None:
    ctx = make_context(parse_profile(PROFILE))
    Seeder(cluster).apply(registry.get("outfitter").resources(ctx).app)
    with cluster.client() as client:
        kubeconfig = _token_kubeconfig(cluster, client, "outfitter-status", "outfitter",
                                       tmp_path / "kc")
    deadline = time.monotonic() + 20
    while True:  # RBAC sees new bindings through an informer: allow it a moment
        _, data = status_json(cluster, capsys, tmp_path, kubeconfig=kubeconfig)
        results = [c for a in data["addons"] for c in a["checks"]] + data["existing"]
        denied = [c for c in results if "no permission" in c["evidence"]]
        if not denied or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert denied == []
    assert states(data)["velero.storage"] == "pass"


def test_update_roadmap_changes_only_checkboxes_and_status_lines(
    cluster: ControlPlane, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    if not ENHANCEMENTS.exists():
        pytest.skip("the user's roadmap is not beside this checkout")
    wait_available(cluster)
    doc = tmp_path / "ENHANCEMENTS.md"
    doc.write_bytes(ENHANCEMENTS.read_bytes())
    status_json(cluster, capsys, tmp_path, "--update-roadmap", str(doc), "--dry-run")
    assert doc.read_bytes() == ENHANCEMENTS.read_bytes()  # a dry run writes nothing
    status_json(cluster, capsys, tmp_path, "--update-roadmap", str(doc))
    old = ENHANCEMENTS.read_text().splitlines(keepends=True)
    new = doc.read_text().splitlines(keepends=True)
    assert len(old) == len(new)
    changed = {i: (a, b) for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b}
    for a, b in changed.values():
        assert a.startswith(("- [", "**Status:**")) and b.startswith(a[:3]), (a, b)
    text = doc.read_text()
    velero = text[text.index("### Velero"):text.index("### Kyverno")]
    assert "**Status:** Done" in velero and velero.count("- [x]") == 4
    cert = text[text.index("### cert-manager"):text.index("## Priority: Low")]
    assert "**Status:** In Progress (2 of 3)" in cert
    assert "- [ ] Migrate IngressRoutes to use cert-manager" in cert
    reloader = text[text.index("### Reloader"):text.index("### Loki")]
    assert "**Status:** Not Started" in reloader
    loki = text[text.index("### Loki"):text.index("### Trivy")]
    assert loki == ENHANCEMENTS.read_text()[ENHANCEMENTS.read_text().index("### Loki"):
                                            ENHANCEMENTS.read_text().index("### Trivy")]


def test_an_adopted_add_on_is_judged_where_the_user_installed_it(
    cluster: ControlPlane, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # The user's own Reloader, in `system` under their release name (bjw-s-labs/home-ops
    # style), with helm-controller's labels on what it made.
    s = Seeder(cluster)
    s.apply([obj("v1", "Namespace", "system")])
    s.with_status(obj("helm.toolkit.fluxcd.io/v2", "HelmRelease", "reloader", "system",
                      spec={"interval": "1h", "chart": {"spec": {
                          "chart": "reloader", "sourceRef": {"kind": "HelmRepository",
                                                             "name": "stakater"}}}}), ready())
    mine = deployment("reloader", "system")
    mine["metadata"]["labels"] = {"helm.toolkit.fluxcd.io/name": "reloader",
                                  "helm.toolkit.fluxcd.io/namespace": "system"}
    s.apply([mine])
    wait_available(cluster)
    profile = tmp_path / "adopted.yaml"
    data = json.loads(json.dumps(PROFILE))
    data["addons"]["reloader"]["installed"] = {"namespace": "system", "release": "reloader"}
    profile.write_text(yaml.safe_dump(data))
    capsys.readouterr()
    main(["status", "--profile", str(profile), "--kubeconfig", str(cluster.kubeconfig),
          "--json"])
    out = capsys.readouterr().out
    report = json.loads(out[out.index("{"):])
    [reloader] = [a for a in report["addons"] if a["name"] == "reloader"]
    # Only the installed check: the others read what outfitter would have rendered.
    assert [(c["check"], c["state"]) for c in reloader["checks"]] == [
        ("reloader.installed", "pass")]
    assert reloader["checks"][0]["evidence"] == (
        "adopted release system/reloader: HelmRelease system/reloader Ready; 1 workloads of "
        "HelmRelease system/reloader available")
