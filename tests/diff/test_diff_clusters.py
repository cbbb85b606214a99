"""`outfitter diff` on a repository with two clusters that apply one base, each through its
own overlay (fluxcd/flux2-kustomize-helm-example's clusters/{production,staging} and
apps/{base,production,staging}): a change to one cluster's overlay is that cluster's change,
never hidden behind the other cluster's copy of the same object."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from outfitter.cli import main

SYNC = """\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: flux-system, namespace: flux-system}}
spec: {{interval: 1m, url: ssh://git@example.com/fleet, ref: {{branch: main}}}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: flux-system, namespace: flux-system}}
spec:
  interval: 10m
  path: ./clusters/{cluster}
  prune: true
  sourceRef: {{kind: GitRepository, name: flux-system}}
"""
APPS = """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: apps, namespace: flux-system}}
spec:
  interval: 10m
  path: ./apps/{cluster}
  prune: true
  sourceRef: {{kind: GitRepository, name: flux-system}}
"""
OVERLAY = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [../base]
patches:
  - path: settings.yaml
"""
SETTINGS = """\
apiVersion: v1
kind: ConfigMap
metadata: {{name: podinfo, namespace: podinfo}}
data: {{host: {host}}}
"""


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@x",
                    *args], check=True, capture_output=True)


@pytest.fixture
def fleet(tmp_path: Path) -> Path:
    files = {
        "apps/base/kustomization.yaml": "resources: [configmap.yaml]\n",
        "apps/base/configmap.yaml": SETTINGS.format(host="podinfo.example.com"),
    }
    for cluster in ("production", "staging"):
        files[f"clusters/{cluster}/flux-system/gotk-sync.yaml"] = SYNC.format(cluster=cluster)
        files[f"clusters/{cluster}/apps.yaml"] = APPS.format(cluster=cluster)
        files[f"apps/{cluster}/kustomization.yaml"] = OVERLAY
        files[f"apps/{cluster}/settings.yaml"] = SETTINGS.format(host=f"podinfo.{cluster}")
    root = tmp_path / "fleet"
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "base")
    return root


@pytest.mark.parametrize("cluster", ["production", "staging"])
def test_a_change_in_one_cluster_is_that_clusters_change(
    fleet: Path, cluster: str, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = fleet / "apps" / cluster / "settings.yaml"
    settings.write_text(SETTINGS.format(host=f"podinfo2.{cluster}"))
    assert main(["diff", "main", "--repo", str(fleet), "--no-helm"]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[1:] == [
        "",
        f"clusters/{cluster}: Kustomization flux-system/apps (1 changed)",
        "  ~ ConfigMap podinfo/podinfo",
        f"      data.host: podinfo.{cluster} → podinfo2.{cluster}",
        "",
        "1 changed object(s) in 1 Kustomization(s)/HelmRelease(s)",
    ]
