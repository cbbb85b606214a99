"""The commands that edit a repository act only on what Flux applies (repo.model), and say
which files they left alone."""

from __future__ import annotations

import shutil
from pathlib import Path

from helm_fixtures import write
from outfitter.ops import reloader
from outfitter.repo import model

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "repos" / "validate-cluster-template"


def copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURE, tmp_path / "repo"))


def test_reloader_plan_skips_what_flux_does_not_apply(tmp_path: Path) -> None:
    root = copy(tmp_path)
    deploy = root / "kubernetes/apps/default/whoami/app/deployment.yaml"
    # A custom tag in an applied file: read as its value, not "not valid YAML".
    deploy.write_text(deploy.read_text().replace(
        "      containers:\n", "      # tagged\n      containers:\n").replace(
        "image: ghcr.io/traefik/whoami:v1.11.0", "image: !Find ghcr.io/traefik/whoami:v1.11.0"))
    plan = reloader.plan_repository(root)
    assert [(f.kind, f.name) for f in plan.findings] == [
        ("Deployment", "echo (controller echo)"), ("Deployment", "whoami")]
    assert plan.skipped == []
    [note] = [n for n in plan.notes if "not-applied" in n]
    assert note == ("3 file(s) no Flux Kustomization applies were left alone (not-applied: "
                    "Flux never reads them): kubernetes/apps/default/old-app/app/deployment.yaml, "
                    "kubernetes/apps/default/old-app/app/kustomization.yaml, "
                    "kubernetes/apps/default/old-app/ks.yaml")
    # Edits are prepared for the applied files only (old-app's Deployment reads a Secret
    # too, and is left as it is).
    assert sorted(p.relative_to(root).as_posix() for p in plan.files) == [
        "kubernetes/apps/default/echo/app/helmrelease.yaml",
        "kubernetes/apps/default/whoami/app/deployment.yaml"]


def test_the_model_tells_who_applies_a_file_and_where_it_lands(tmp_path: Path) -> None:
    root = copy(tmp_path)
    repo = model.load(root)
    pvc = str(root / "kubernetes/components/volsync/pvc.yaml")
    applied = sorted((a.ks.key.ref, a.effective_namespace(""), a.variables.get("APP", ""))
                     for a in repo.applications[pvc])
    assert applied == [("flux-system/echo", "default", "echo"),
                       ("flux-system/whoami", "default", "whoami")]
    echo = next(a.ks for a in repo.applications[pvc] if a.ks.key.name == "echo")
    # The parent's patch is in force: decryption and substituteFrom added to the child.
    assert echo.decryption and [r.name for r in echo.substitute_from] == [
        "cluster-settings", "cluster-secrets"]
    assert echo.parent is not None and echo.parent.name == "cluster-apps"
    assert [k.key.ref for k in repo.external] == ["flux-system/prometheus-operator-crds"]
    assert [repo.rel(p) for p in repo.unapplied] == ["kubernetes/apps/default/old-app"]
    assert repo.mode == "flux" and repo.own_source.name == "flux-system"


def test_the_variables_in_force_for_a_kustomization(tmp_path: Path) -> None:
    repo = model.load(copy(tmp_path))
    echo = next(ks for ks in repo.kustomizations.values() if ks.key.name == "echo")
    assert repo.variables(echo) == {
        "TIMEZONE": "Europe/Paris", "CLUSTER_ISSUER": "letsencrypt-production",
        "SECRET_DOMAIN": None,  # SOPS-encrypted: unknown, never guessed
        "APP": "echo", "VOLSYNC_CAPACITY": "5Gi"}


def test_reloader_plan_reads_what_argo_cd_applications_apply(tmp_path: Path) -> None:
    """Flux applies Argo CD's Applications (tests/argocd_trees.py): the workloads of their
    paths are planned, in the namespace Argo CD puts them in; what neither applies is left."""
    from argocd_trees import MIXED

    root = tmp_path / "repo"
    for rel, text in MIXED.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text.lstrip("\n"))
    plan = reloader.plan_repository(root)
    assert [(f.kind, f.namespace, f.name) for f in plan.findings] == [
        ("Deployment", "echo", "echo"), ("Deployment", "lab", "whoami")]
    [note] = [n for n in plan.notes if "not-applied" in n]
    assert note == ("2 file(s) no Flux Kustomization or Argo CD Application applies were left "
                    "alone (not-applied: neither Flux nor Argo CD reads them): "
                    "argocd/echo/old/deployment.yaml, argocd/tools/b/tool-values.yaml")


def test_with_argo_cd_only_what_no_application_builds_is_left_alone(tmp_path: Path) -> None:
    from argocd_trees import ARGO_ONLY

    root = tmp_path / "repo"
    for rel, text in ARGO_ONLY.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text.lstrip("\n"))
    plan = reloader.plan_repository(root)
    [note] = [n for n in plan.notes if "not-applied" in n]
    assert note == ("2 file(s) no Argo CD Application applies were left alone (not-applied: "
                    "Argo CD never reads them): manifests/prd/bootstrap.yaml, "
                    "manifests/prd/miroir/Deployment-miroir.yaml")


DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata: {name: NAME, namespace: apps}
spec:
  selector: {matchLabels: {app: NAME}}
  template:
    metadata: {labels: {app: NAME}}
    spec:
      containers:
        - name: main
          image: ghcr.io/example/NAME:1.0.0
          envFrom: [{configMapRef: {name: NAME}}]
"""


def test_with_no_entry_point_a_file_its_kustomize_folder_leaves_out_is_left_alone(
        tmp_path: Path) -> None:
    """A tree with no Flux entry point is applied as it stands, but a file below a kustomize
    folder that its build does not read is left out of it (JJGadgets/Biohazard's
    kube/templates scaffold: before, reloader plan edited its unlisted app/hr.yaml while
    validate called it not-included). A kustomize folder no other one includes is built on
    its own, and a plain manifest outside any is still applied."""
    files = {
        "templates/test/kustomization.yaml": "resources: [ns.yaml]\n",
        "templates/test/ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: apps}\n",
        "templates/test/app/deployment.yaml": DEPLOYMENT.replace("NAME", "scaffold"),
        "apps/web/kustomization.yaml": "resources: [deployment.yaml]\n",
        "apps/web/deployment.yaml": DEPLOYMENT.replace("NAME", "web"),
        "plain/deployment.yaml": DEPLOYMENT.replace("NAME", "plain"),
    }
    write(tmp_path, files)
    repo = model.load(tmp_path)
    assert repo.mode == "loose"
    assert [repo.rel(p) for p in repo.not_included] == ["templates/test/app/deployment.yaml"]
    plan = reloader.plan_repository(tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in plan.files) == [
        "apps/web/deployment.yaml", "plain/deployment.yaml"]
    [note] = [n for n in plan.notes if "not-applied" in n]
    assert note.endswith(": templates/test/app/deployment.yaml")
