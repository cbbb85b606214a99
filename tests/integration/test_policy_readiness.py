"""`outfitter policy readiness` and `policy enforce` on real reports from the real engine.

outfitter's ValidatingPolicies are applied to the test control plane, workloads run on its
KWOK nodes, and the Kyverno CLI (the real engine) evaluates the policies against them.
Kyverno's reports controller cannot run here: kyverno_reports.py writes the CLI's results
as the per-resource PolicyReports that controller would write. Readiness is then computed
from the cluster, as on a real one.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kyverno_reports import cli_report, controller_reports, publish
from lightkube import Client, codecs
from lightkube.resources.apps_v1 import Deployment

from outfitter import yamlio
from outfitter.addons.kyverno import ADDON as KYVERNO
from outfitter.cli import main
from outfitter.config import parse_profile
from outfitter.ops import policy as ops
from outfitter.ops.policy import ClusterPolicy, ValidatingPolicy
from outfitter.plan import build_plan, make_context
from outfitter.render.flux import render_tree
from outfitter.render.writer import write_tree
from outfitter.testcluster import ControlPlane

pytestmark = pytest.mark.integration

TEAM_A, TEAM_B = "team-a", "team-b"
GOOD_POD: dict[str, Any] = {
    "metadata": {"labels": {"app.kubernetes.io/name": "x"}},
    "spec": {
        "securityContext": {"runAsNonRoot": True},
        "containers": [{"name": "app", "image": "nginx:1.27", "resources": {
            "requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "32Mi"}}}],
    },
}
PROFILE_TEXT = """\
# my cluster
cluster:
  name: lab   # the homelab
addons:
  kyverno:
    mode: audit
    # ready for deny after this many clean days
    readyAfterDays: 0
"""


def apply(client: Client, obj: dict[str, Any]) -> None:
    client.apply(codecs.from_dict(obj), field_manager="outfitter-tests", force=True)


def deployment(ns: str, name: str, pod: dict[str, Any]) -> dict[str, Any]:
    template = copy.deepcopy(pod)
    template["metadata"]["labels"]["app"] = name
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                     "template": template}}


@dataclass
class Scene:
    scanned: datetime
    """When the CLI evaluated the policies (its results' timestamp)."""
    kubeconfig: Path


@pytest.fixture(scope="module")
def scene(kube_client: Client, crds_installed: int, control_plane: ControlPlane,
          kyverno: Path, tmp_path_factory: pytest.TempPathFactory) -> Scene:
    policies = KYVERNO.policies(make_context(parse_profile({})))
    for policy in policies:
        apply(kube_client, policy)
    for ns in (TEAM_A, TEAM_B):
        apply(kube_client, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    no_limits = copy.deepcopy(GOOD_POD)
    del no_limits["spec"]["containers"][0]["resources"]
    apply(kube_client, deployment(TEAM_A, "web", no_limits))
    host_net = copy.deepcopy(GOOD_POD)
    host_net["spec"]["hostNetwork"] = True
    apply(kube_client, {"apiVersion": "v1", "kind": "Pod",
                        "metadata": {"name": "debug", "namespace": TEAM_A, **host_net["metadata"]},
                        "spec": host_net["spec"]})
    apply(kube_client, deployment(TEAM_B, "api", GOOD_POD))
    deadline = time.monotonic() + 60
    for ns, name in ((TEAM_A, "web"), (TEAM_B, "api")):
        while (kube_client.get(Deployment, name, namespace=ns).status.readyReplicas or 0) < 2:
            assert time.monotonic() < deadline, f"{ns}/{name} not ready"
            time.sleep(0.2)
    folder = tmp_path_factory.mktemp("kyverno")
    (folder / "policies.yaml").write_text(yamlio.dump_all(policies))
    scanned = datetime.now(UTC).replace(microsecond=0)
    for ns in (TEAM_A, TEAM_B):
        publish(kube_client, controller_reports(
            cli_report(kyverno, folder / "policies.yaml", control_plane.kubeconfig, ns)))
    return Scene(scanned, control_plane.kubeconfig)


def by_name(results: list[ops.Readiness]) -> dict[str, ops.Readiness]:
    return {r.policy: r for r in results}


def test_violations_by_namespace_and_workload_with_their_age(
    kube_client: Client, scene: Scene
) -> None:
    later = scene.scanned + timedelta(days=3, hours=2)
    results, reports, _ = ops.readiness(kube_client, ready_after_days=7, now=later)
    got = by_name(results)
    assert "wgpolicyk8s.io/v1alpha2" in reports.apis
    limits = got["require-requests-limits"]
    assert limits.state == "violations"
    # Two pods of one Deployment are one workload to fix.
    [web] = [v for v in limits.violations if v.namespace == TEAM_A]
    assert (web.workload, web.resources) == ("Deployment/web", 2)
    assert abs((web.since or later) - scene.scanned) <= timedelta(seconds=5)
    assert ops.age(web.since, later).startswith("3d 2h") or ops.age(web.since, later) == "3d 1h"
    assert "requests and a memory limit" in web.message
    hostns = got["disallow-host-namespaces"]
    assert [(v.namespace, v.workload) for v in hostns.violations
            if v.namespace in (TEAM_A, TEAM_B)] == [(TEAM_A, "Pod/debug")]
    assert not [v for r in results for v in r.violations if v.namespace == TEAM_B]


def test_a_clean_policy_soaks_then_is_ready(kube_client: Client, scene: Scene) -> None:
    soon = by_name(ops.readiness(kube_client, 7, scene.scanned + timedelta(days=3))[0])
    later = by_name(ops.readiness(kube_client, 7, scene.scanned + timedelta(days=8))[0])
    for name in ("disallow-host-path", "require-labels"):
        assert soon[name].state == "soaking" and soon[name].results > 0
        assert later[name].state == "ready"
    assert later["require-requests-limits"].state == "violations"


def test_readiness_command_json_and_table(
    scene: Scene, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "outfitter.yaml").write_text(PROFILE_TEXT)
    args = ["policy", "readiness", "--kubeconfig", str(scene.kubeconfig),
            "-p", str(tmp_path / "outfitter.yaml")]
    assert main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["readyAfterDays"] == 0
    states = {p["name"]: p["state"] for p in data["policies"]}
    assert states["require-requests-limits"] == "violations"
    assert states["disallow-host-path"] == "ready"
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Open violations" in out and "Deployment/web" in out
    assert "Ready for Deny:" in out and "disallow-host-path" in out


def test_traps_are_named(kube_client: Client, scene: Scene,
                         capsys: pytest.CaptureFixture[str]) -> None:
    privileged = next(p for p in KYVERNO.policies(make_context(parse_profile({})))
                      if p["metadata"]["name"] == "disallow-privileged-containers")
    strict = copy.deepcopy(privileged)
    strict["metadata"] = {"name": "strict-privileged"}
    strict["spec"]["validationActions"] = ["Deny"]
    wrong_group = copy.deepcopy(strict)
    wrong_group["metadata"] = {"name": "pods-in-apps"}
    wrong_group["spec"]["matchConstraints"]["resourceRules"][0]["apiGroups"] = ["apps"]
    legacy = {
        "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
        "metadata": {"name": "require-team-label"},
        "spec": {"validationFailureAction": "Enforce", "background": True, "rules": [{
            "name": "team", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
            "validate": {"failureAction": "Audit", "message": "team label",
                         "pattern": {"metadata": {"labels": {"team": "?*"}}}}}]},
    }
    for obj in (strict, wrong_group, legacy):
        apply(kube_client, obj)
    try:
        assert main(["policy", "readiness", "--kubeconfig", str(scene.kubeconfig),
                     "--json"]) == 0
        traps = {(t["policy"], t["message"].split(":")[0].split(" (")[0])
                 for t in json.loads(capsys.readouterr().out)["traps"]}
    finally:
        kube_client.delete(ValidatingPolicy, "strict-privileged")
        kube_client.delete(ValidatingPolicy, "pods-in-apps")
        kube_client.delete(ClusterPolicy, "require-team-label")
    assert ("pods-in-apps", "is in Deny but its match selects nothing on the cluster") in traps
    assert ("disallow-privileged-containers", "audits what strict-privileged already enforces"
            ) in traps
    assert ("ClusterPolicy require-team-label", "spec.validationFailureAction") in traps
    assert not [t for t in traps if t[0] == "strict-privileged"]  # it selects pods


# -- enforce -------------------------------------------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Path]:
    """A GitOps repository outfitter rendered, with its profile at the root."""
    (tmp_path / "outfitter.yaml").write_text(PROFILE_TEXT)
    profile = parse_profile(yamlio.load(PROFILE_TEXT))
    write_tree(tmp_path, render_tree(build_plan(profile)))
    yield tmp_path


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def enforce(scene: Scene, repo: Path, *args: str) -> int:
    return main(["policy", "enforce", "--repo", str(repo), "-p", str(repo / "outfitter.yaml"),
                 "--kubeconfig", str(scene.kubeconfig), *args])


POLICY_FILE = "kubernetes/apps/kyverno/kyverno/config/validatingpolicy.yaml"


def test_enforce_refuses_a_policy_with_violations(
    scene: Scene, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(repo)
    assert enforce(scene, repo, "require-requests-limits") == 2
    err = capsys.readouterr().err
    assert "require-requests-limits: " in err and "open violation(s)" in err
    assert "team-a/Deployment/web" in err and "--force" in err
    assert snapshot(repo) == before


def test_enforce_ready_switches_only_ready_policies_and_render_agrees(
    scene: Scene, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(repo)
    assert enforce(scene, repo, "--ready", "--dry-run") == 0
    preview = capsys.readouterr()
    assert "+    - Deny" in preview.out and "dry run: nothing written" in preview.err
    assert snapshot(repo) == before

    assert enforce(scene, repo, "--ready") == 0
    diff = capsys.readouterr().out
    after = snapshot(repo)
    changed = {k for k in after if after[k] != before.get(k)}
    bases = {k for k in changed if k.startswith(".outfitter/base/")}
    assert changed - bases == {POLICY_FILE, "outfitter.yaml", ".outfitter.json"}
    assert len(bases) == 1  # the edited policy file's merge base, kept beside the record
    removed = [line for line in diff.splitlines() if line.startswith("-")
               and not line.startswith("---")]
    added = [line for line in diff.splitlines() if line.startswith("+")
             and not line.startswith("+++")]
    assert set(removed) == {"-    - Audit", "-  failurePolicy: Ignore"}
    assert set(added) == {"+    - Deny", "+  failurePolicy: Fail", "+    policies:",
                          "+      disallow-host-path: deny",
                          "+      disallow-privileged-containers: deny",
                          "+      require-labels: deny", "+      require-run-as-non-root: deny"}
    assert "# ready for deny after this many clean days" in after["outfitter.yaml"].decode()
    tree = yamlio.load_all(after[POLICY_FILE].decode())
    modes = {d["metadata"]["name"]: d["spec"]["validationActions"] for d in tree}
    assert modes["require-requests-limits"] == ["Audit"]
    assert modes["disallow-host-namespaces"] == ["Audit"]
    assert modes["require-labels"] == ["Deny"]

    # The profile and the tree agree: a render writes nothing new and refuses nothing.
    assert main(["render", "--out", str(repo), "-p", str(repo / "outfitter.yaml")]) == 0
    assert snapshot(repo)[POLICY_FILE] == after[POLICY_FILE]
    assert "0 written" in capsys.readouterr().err


def test_enforce_force_switches_a_policy_with_violations(
    scene: Scene, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert enforce(scene, repo, "require-requests-limits", "--force") == 0
    err = capsys.readouterr().err
    assert "forced" in err and "require-requests-limits" in err
    profile = yamlio.load((repo / "outfitter.yaml").read_text())
    assert profile["addons"]["kyverno"]["policies"] == {"require-requests-limits": "deny"}


def test_enforce_in_a_hand_written_repo_edits_only_the_file(
    scene: Scene, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "policies" / "host-path.yaml"
    path.parent.mkdir()
    text = ("# my own policy\n"
            "apiVersion: policies.kyverno.io/v1\n"
            "kind: ValidatingPolicy\n"
            "metadata:\n"
            "  name: disallow-host-path\n"
            "spec:\n"
            "  validationActions: [Audit, Warn]   # TODO deny after the trial\n"
            "  failurePolicy: Ignore\n"
            "  matchConstraints:\n"
            "    resourceRules:\n"
            "    - {apiGroups: [''], apiVersions: [v1], operations: [CREATE], "
            "resources: [pods]}\n"
            "  validations:\n"
            "  - expression: \"!has(object.spec.volumes) || "
            "object.spec.volumes.all(v, !has(v.hostPath))\"\n")
    path.write_text(text)
    args = ["policy", "enforce", "disallow-host-path", "--repo", str(tmp_path),
            "--kubeconfig", str(scene.kubeconfig)]
    # No profile: readyAfterDays is the default 7, and the policy was applied moments ago.
    assert main(args) == 2
    assert "clean for 0m only; readyAfterDays is 7" in capsys.readouterr().err
    assert path.read_text() == text
    assert main([*args, "--force"]) == 0, capsys.readouterr().err
    assert path.read_text() == text.replace("[Audit, Warn]", "[Deny]")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["host-path.yaml", "policies"]
