"""The Flux tree: layout, ordering between Kustomizations, determinism, snapshot, kustomize."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from outfitter import yamlio
from outfitter.addons import registry
from outfitter.config import parse_profile
from outfitter.plan import build_plan
from outfitter.render.flux import render_tree
from profiles import VARIANTS, variant

ROOT = "kubernetes/apps"
SNAPSHOT = Path(__file__).parents[1] / "fixtures" / "default-tree"


def tree(data: dict[str, Any] | None = None) -> dict[str, str]:
    return render_tree(build_plan(parse_profile(data or {})))


def objects(files: dict[str, str], path: str) -> list[dict[str, Any]]:
    return yamlio.load_all(files[path])


def kustomizations(files: dict[str, str]) -> dict[str, dict[str, Any]]:
    out = {}
    for path, text in files.items():
        if path.endswith("/ks.yaml"):
            for obj in yamlio.load_all(text):
                out[obj["metadata"]["name"]] = obj
    return out


def test_community_layout() -> None:
    files = tree()
    assert f"{ROOT}/kustomization.yaml" in files
    for app in ("velero/velero", "kyverno/kyverno", "cert-manager/cert-manager"):
        assert f"{ROOT}/{app}/ks.yaml" in files
        assert f"{ROOT}/{app}/app/kustomization.yaml" in files
        assert f"{ROOT}/{app}/app/helmrelease.yaml" in files
    assert f"{ROOT}/cert-manager/cert-manager/app/ocirepository.yaml" in files
    assert f"{ROOT}/velero/velero/app/helmrepository.yaml" in files
    top = objects(files, f"{ROOT}/kustomization.yaml")[0]
    assert "./velero" in top["resources"] and "./cert-manager" in top["resources"]


def test_every_kustomization_lists_exactly_the_files_beside_it() -> None:
    files = tree()
    for path, text in files.items():
        if not path.endswith("/kustomization.yaml"):
            continue
        folder = path.rsplit("/", 1)[0]
        for entry in yamlio.load(text.split("---\n", 1)[-1])["resources"]:
            target = f"{folder}/{entry.removeprefix('./')}"
            assert target in files or any(f.startswith(target + "/") for f in files), target


def test_depends_on_carries_the_waves_and_config_waits_for_its_crds() -> None:
    plan = build_plan(parse_profile({}))
    ks = kustomizations(render_tree(plan))
    flux = {"namespace": "flux-system"}
    assert ks["velero"]["spec"]["dependsOn"] == [{"name": "object-storage", **flux}]
    assert ks["velero-config"]["spec"]["dependsOn"] == [{"name": "velero", **flux}]
    assert ks["cert-manager-config"]["spec"]["dependsOn"] == [{"name": "cert-manager", **flux}]
    for ap in plan.addons:
        own = ks.get(ap.addon.name)
        if own is None:
            continue
        deps = {d["name"] for d in own["spec"].get("dependsOn", [])}
        in_cluster = {d for d in ap.depends_on if plan.get(d).in_cluster}
        assert {d.removesuffix("-config") for d in deps} == in_cluster


def test_wait_only_where_depended_on_and_never_with_health_checks() -> None:
    ks = kustomizations(tree())
    depended = {d["name"] for k in ks.values() for d in k["spec"].get("dependsOn", [])}
    for name, k in ks.items():
        spec = k["spec"]
        assert spec.get("wait", False) == (name in depended), name
        assert not (spec.get("wait") and "healthChecks" in spec), name
    assert ks["reloader"]["spec"]["healthChecks"][0]["kind"] == "HelmRelease"


def test_helm_releases_are_pinned_with_remediation() -> None:
    files = tree()
    releases = [o for p, t in files.items() if p.endswith("helmrelease.yaml")
                for o in yamlio.load_all(t)]
    assert len(releases) >= 5
    stateful = {a.name for a in registry.all_addons() if a.stateful}
    assert stateful >= {"longhorn", "loki", "tempo", "object-storage"}
    for hr in releases:
        spec = hr["spec"]
        if hr["metadata"]["name"] in stateful:
            # Data first: retried in place, never uninstalled or rolled back.
            assert spec["install"]["strategy"]["name"] == "RetryOnFailure"
            assert "remediation" not in spec["install"]
            assert spec["upgrade"]["strategy"]["name"] == "RemediateOnFailure"
            assert spec["upgrade"]["remediation"] == {"retries": 0,
                                                      "remediateLastFailure": False}
        else:
            assert spec["install"]["remediation"]["retries"] > 0
            assert spec["upgrade"]["remediation"]["strategy"] == "rollback"
        assert spec["install"]["crds"] == "CreateReplace"
        if "chart" in spec:
            version = str(spec["chart"]["spec"].get("version", "git"))
            assert not any(c in version for c in "*^~><x "), version
    oci = objects(files, f"{ROOT}/cert-manager/cert-manager/app/ocirepository.yaml")[0]
    assert oci["spec"]["ref"] == {"tag": "v1.21.1"}


def test_argocd_owned_add_on_gets_applications_and_no_flux_objects() -> None:
    files = render_tree(build_plan(variant("argocd-owned")))
    base = f"{ROOT}/reloader/reloader"
    assert f"{base}/ks.yaml" not in files
    apps = objects(files, f"{base}/application.yaml")
    assert [a["kind"] for a in apps] == ["Application"] * len(apps)
    chart_app = apps[0]
    assert chart_app["spec"]["source"]["chart"] == "reloader"
    assert chart_app["spec"]["source"]["targetRevision"] == "2.2.16"
    assert not [p for p in files if p.startswith(f"{base}/app/")]  # no HelmRelease, no source
    ns = objects(files, f"{ROOT}/reloader/kustomization.yaml")[0]
    assert "./reloader/application.yaml" in ns["resources"]


def test_linkerd_injection_follows_the_add_ons() -> None:
    files = tree()
    velero_ns = objects(files, f"{ROOT}/velero/namespace.yaml")[0]
    assert velero_ns["metadata"]["annotations"] == {"linkerd.io/inject": "disabled"}
    without = tree({"existing": ["flux", "argocd", "kube-prometheus-stack", "traefik",
                                 "external-secrets"]})
    assert "annotations" not in objects(without, f"{ROOT}/velero/namespace.yaml")[0]["metadata"]


def test_no_secret_values_in_the_tree() -> None:
    for name in VARIANTS:
        sops = variant(name).secrets.provider == "sops"
        for path, text in render_tree(build_plan(variant(name))).items():
            for obj in yamlio.load_all(text) if path.endswith(".yaml") else []:
                if obj.get("kind") != "Secret":
                    continue
                # SOPS: a Secret of its own file, holding templates until render/sops.py
                # fills and encrypts it; never a value.
                assert sops and path.endswith(".sops.yaml"), path
                for key, value in obj["stringData"].items():
                    credential = re.search(r"password|secret|token|key|users|htpasswd", key,
                                           re.I)
                    assert "{{ ." in value or not credential, f"{path}: {key}"


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_same_input_same_bytes(name: str) -> None:
    assert render_tree(build_plan(variant(name))) == render_tree(build_plan(variant(name)))


def test_default_tree_matches_the_snapshot() -> None:
    files = tree()
    if os.environ.get("UPDATE_SNAPSHOTS"):
        shutil.rmtree(SNAPSHOT, ignore_errors=True)
        for rel, text in files.items():
            (SNAPSHOT / rel).parent.mkdir(parents=True, exist_ok=True)
            (SNAPSHOT / rel).write_text(text)
    on_disk = {str(p.relative_to(SNAPSHOT)): p.read_text()
               for p in sorted(SNAPSHOT.rglob("*")) if p.is_file()}
    assert sorted(on_disk) == sorted(files), "run with UPDATE_SNAPSHOTS=1 after a deliberate change"
    for rel, text in files.items():
        assert on_disk[rel] == text, rel


@pytest.mark.skipif(shutil.which("kubectl") is None and not os.environ.get("CI"),
                    reason="kubectl not installed")
@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_kubectl_kustomize_builds_every_kustomization(name: str, tmp_path: Path) -> None:
    files = render_tree(build_plan(variant(name)))
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    folders = sorted({rel.rsplit("/", 1)[0] for rel in files if rel.endswith("kustomization.yaml")})
    assert folders
    for folder in folders:
        result = subprocess.run(["kubectl", "kustomize", str(tmp_path / folder)],
                                capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"{folder}: {result.stderr}"
        assert yamlio.load_all(result.stdout), folder
