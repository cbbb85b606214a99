"""flux-operator ResourceSets: the objects one makes are checked as applied. They are rendered
by kustomize-batch (Go's text/template with sprig, as the operator does) and compared, object
for object, with flate's rendering (a reference implementation that renders ResourceSets
offline); then the findings on them, exactly, on a home-ops style tree: a CloudNativePG
Cluster a ResourceSet makes provides its Secret, a Deployment one makes is schema-checked,
a template that fails is an error, and inputs that come from the cluster are said to be
left out."""

from __future__ import annotations

import os
import subprocess
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from validate_trees import run

from outfitter import yamlio
from outfitter.validate.engine import Options, validate
from tool_needs import built_tool

Tree = Callable[[dict[str, str]], Path]

FLUX = {
    "kubernetes/flux/cluster/gotk-sync.yaml": """
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: flux-system, namespace: flux-system}
spec: {interval: 1h, url: 'ssh://git@example.invalid/home/ops', ref: {branch: main}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: cluster-apps, namespace: flux-system}
spec:
  interval: 1h
  path: ./kubernetes/apps
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
  postBuild:
    substitute: {DB_SIZE: 5Gi, DOMAIN: example.org}
""",
    "kubernetes/apps/namespaces.yaml": """
apiVersion: v1
kind: Namespace
metadata: {name: databases}
---
apiVersion: v1
kind: Namespace
metadata: {name: web}
""",
}

# A Postgres cluster and a ConfigMap per app (range, get, default, if/else, slugify, toYaml,
# a Flux variable; the ConfigMap names no namespace: the ResourceSet's), as
# angelnu/k8s-gitops and billimek/k8s-gitops write them.
DATABASES = """
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSet
metadata: {name: postgres, namespace: databases}
spec:
  inputs:
    - apps:
        - {app: gitea}
        - {app: Paperless NGX, storage: 10Gi, restore: true}
  resourcesTemplate: |
    <<- range $db := inputs.apps >>
    <<- $size := get $db "storage" | default "${DB_SIZE}" >>
    ---
    apiVersion: postgresql.cnpg.io/v1
    kind: Cluster
    metadata:
      name: << slugify $db.app >>-db
      namespace: << inputs.provider.namespace >>
    spec:
      instances: 1
      storage:
        size: << $size >>
      bootstrap:
      <<- if get $db "restore" >>
        recovery: {source: backup}
      <<- else >>
        initdb: {database: app}
      <<- end >>
    ---
    apiVersion: v1
    kind: ConfigMap
    metadata:
      name: << slugify $db.app >>-settings
    data:
      << "" >><<- toYaml (dict "APP" $db.app "SIZE" $size) | nindent 2 >>
    <<- end >>
"""

# A Deployment per site, from spec.resources (quote, printf, a `$${VAR}` Flux leaves as
# `${VAR}` for the app), common labels;
# one site disabled; the blog's replicas are a string: a schema error in what it makes.
SITES = """
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSet
metadata: {name: sites, namespace: web}
spec:
  commonMetadata:
    labels: {app.kubernetes.io/part-of: sites}
  inputs:
    - {name: blog, replicas: '"two"'}
    - {name: wiki, replicas: 1}
    - {name: old, replicas: 1, reconcile: disabled}
  resources:
    - apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: << inputs.name >>
        annotations:
          fluxcd.controlplane.io/reconcile: << get inputs "reconcile" | default "enabled" >>
      spec:
        replicas: << inputs.replicas >>
        selector: {matchLabels: {app: << inputs.name | quote >>}}
        template:
          metadata: {labels: {app: << inputs.name | quote >>}}
          spec:
            containers:
              - name: app
                image: ghcr.io/example/<< inputs.name >>:1.0.0
                env:
                  - name: HOST
                    value: << printf "%s.${DOMAIN}" inputs.name | quote >>
                  # Escaped from Flux: the app reads it literally, nothing substitutes it.
                  - {name: GREETING, value: 'hello $${USER}'}
                  - name: DATABASE_URL
                    valueFrom: {secretKeyRef: {name: gitea-db-app, key: uri}}
"""

# A volume per app from Static input providers chosen by label, in name order (as
# billimek/k8s-gitops feeds its backup ResourceSets); one provider is not chosen.
BACKUPS = """
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSet
metadata: {name: backups, namespace: databases}
spec:
  inputsFrom:
    - kind: ResourceSetInputProvider
      selector: {matchLabels: {backup.example.org/set: nightly}}
  resourcesTemplate: |
    <<- range $app := inputs.apps >>
    ---
    apiVersion: v1
    kind: PersistentVolumeClaim
    metadata:
      name: << $app >>-backup
      labels: {backup.example.org/from: << inputs.provider.name >>}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: << inputs.defaults.capacity >>}}
    <<- end >>
---
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSetInputProvider
metadata:
  name: small-apps
  namespace: databases
  labels: {backup.example.org/set: nightly}
spec:
  type: Static
  defaultValues:
    defaults: {capacity: 1Gi}
    apps: [gitea]
---
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSetInputProvider
metadata:
  name: large-apps
  namespace: databases
  labels: {backup.example.org/set: nightly}
spec:
  type: Static
  defaultValues:
    defaults: {capacity: 20Gi}
    apps: [paperless, immich, gitea]
---
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSetInputProvider
metadata: {name: weekly, namespace: databases}
spec:
  type: Static
  defaultValues:
    defaults: {capacity: 1Gi}
    apps: [grafana]
"""

# Every environment in every region (the Permute strategy): each input set under its
# provider's name, with the operator's id for the combination.
MATRIX = """
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSet
metadata: {name: cluster-apps, namespace: databases}
spec:
  inputStrategy: {name: Permute}
  inputs: [{env: staging}, {env: production}]
  inputsFrom:
    - {kind: ResourceSetInputProvider, name: regions}
  resources:
    - apiVersion: v1
      kind: ServiceAccount
      metadata:
        name: << inputs.cluster_apps.env >>-<< inputs.regions.region >>
        annotations:
          example.org/id: << inputs.id | quote >>
          example.org/from: << inputs.regions.provider.name >>
---
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSetInputProvider
metadata: {name: regions, namespace: databases}
spec: {type: Static, defaultValues: {region: eu}}
"""

APPS = {
    "kubernetes/apps/kustomization.yaml": """
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [namespaces.yaml, databases, web]
""",
    "kubernetes/apps/databases/kustomization.yaml": """
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [postgres.yaml, backups.yaml, matrix.yaml, app.yaml]
""",
    "kubernetes/apps/databases/backups.yaml": BACKUPS,
    "kubernetes/apps/databases/matrix.yaml": MATRIX,
    "kubernetes/apps/databases/postgres.yaml": DATABASES,
    # Reads the Secret CloudNativePG makes for the gitea-db Cluster: present.
    "kubernetes/apps/databases/app.yaml": """
apiVersion: apps/v1
kind: Deployment
metadata: {name: gitea, namespace: databases}
spec:
  selector: {matchLabels: {app: gitea}}
  template:
    metadata: {labels: {app: gitea}}
    spec:
      containers:
        - name: gitea
          image: docker.gitea.com/gitea:1.24.0
          env:
            - name: DATABASE_URL
              valueFrom: {secretKeyRef: {name: gitea-db-app, key: uri}}
""",
    "kubernetes/apps/web/kustomization.yaml": """
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [sites.yaml, previews.yaml, broken.yaml, rollout.yaml]
""",
    # Applied in steps (flux-operator 0.59): the namespace, then what runs in it. The
    # second step makes the first one's Namespace again: the operator refuses that.
    "kubernetes/apps/web/rollout.yaml": """
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSet
metadata: {name: rollout, namespace: web}
spec:
  inputs: [{team: blue}]
  steps:
    - name: namespaces
      resources:
        - {apiVersion: v1, kind: Namespace, metadata: {name: team-<< inputs.team >>}}
    - name: workloads
      resourcesTemplate: |
        apiVersion: v1
        kind: ServiceAccount
        metadata: {name: deployer, namespace: team-<< inputs.team >>}
---
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSet
metadata: {name: twice, namespace: web}
spec:
  steps:
    - name: one
      resources: [{apiVersion: v1, kind: Namespace, metadata: {name: twice}}]
    - name: two
      resources: [{apiVersion: v1, kind: Namespace, metadata: {name: twice}}]
""",
    "kubernetes/apps/web/sites.yaml": SITES,
    # Inputs from GitHub pull requests: only the cluster knows them.
    "kubernetes/apps/web/previews.yaml": """
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSet
metadata: {name: previews, namespace: web}
spec:
  inputsFrom:
    - {kind: ResourceSetInputProvider, name: pull-requests}
  resources:
    - apiVersion: v1
      kind: Namespace
      metadata: {name: preview-<< inputs.id >>}
---
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSetInputProvider
metadata: {name: pull-requests, namespace: web}
spec:
  type: GitHubPullRequest
  url: https://github.com/example/web
  secretRef: {name: github-token}
""",
    # An input it does not have: the operator's template fails (missingkey=error).
    "kubernetes/apps/web/broken.yaml": """
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSet
metadata: {name: broken, namespace: web}
spec:
  inputs: [{name: a}]
  resources:
    - apiVersion: v1
      kind: ConfigMap
      metadata: {name: << inputs.nmae >>}
""",
}


@pytest.fixture
def batch() -> Path:
    return built_tool("kustomize-batch")


def made_objects(root: Path) -> list[dict[str, Any]]:
    """Every object validate checks as applied by flux-operator for a ResourceSet."""
    made: list[dict[str, Any]] = []

    def seen(applied_by: str, obj: dict[str, Any]) -> None:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        if "resourceset.fluxcd.controlplane.io/name" in labels:
            made.append(obj)

    validate(root, Options(checks=frozenset({"flux"}), on_object=seen))
    return sorted(made, key=_key)


def _key(obj: dict[str, Any]) -> tuple[str, ...]:
    meta = obj.get("metadata") or {}
    return (str(obj.get("kind")), str(meta.get("namespace")), str(meta.get("name")))


def test_what_a_resource_set_makes_matches_flate(tree: Tree, batch: Path,
                                                 tmp_path: Path) -> None:
    flate = built_tool("flate")
    files = {**FLUX, **APPS}
    # flate stops at a template that fails, has no inputs for inputsFrom, and renders no
    # steps (v0.6.5): left out.
    files["kubernetes/apps/web/kustomization.yaml"] = files[
        "kubernetes/apps/web/kustomization.yaml"].replace(
            ", previews.yaml, broken.yaml, rollout.yaml", "")
    root = tree(files)
    home = tmp_path / "home"
    home.mkdir()
    done = subprocess.run(
        [str(flate), "build", "ks", "--path", str(root), "-o", "yaml",
         "--skip-secrets=false", "--skip-crds=false"], capture_output=True, text=True,
        timeout=300, check=False, env={"PATH": os.environ.get("PATH", ""), "HOME": str(home),
                                       "HTTPS_PROXY": "http://127.0.0.1:9"})
    assert done.returncode == 0, done.stderr[-2000:]
    theirs = sorted((doc for doc in yamlio.load_all(done.stdout) if isinstance(doc, dict)
                     and "resourceset.fluxcd.controlplane.io/name" in
                     ((doc.get("metadata") or {}).get("labels") or {})), key=_key)
    mine = made_objects(root)
    assert [_key(o) for o in mine] == [
        ("Cluster", "databases", "gitea-db"), ("Cluster", "databases", "paperless-ngx-db"),
        ("ConfigMap", "databases", "gitea-settings"),
        ("ConfigMap", "databases", "paperless-ngx-settings"), ("Deployment", "web", "blog"),
        ("Deployment", "web", "wiki"),
        ("PersistentVolumeClaim", "databases", "gitea-backup"),
        ("PersistentVolumeClaim", "databases", "immich-backup"),
        ("PersistentVolumeClaim", "databases", "paperless-backup"),
        ("ServiceAccount", "databases", "production-eu"),
        ("ServiceAccount", "databases", "staging-eu")]
    # flate (v0.6.5) leaves the ConfigMaps and Secrets a ResourceSet makes out of its output;
    # the operator applies them: compared with what they must be.
    assert [o for o in mine if o["kind"] != "ConfigMap"] == theirs
    assert {o["metadata"]["name"]: (o["metadata"]["labels"]["backup.example.org/from"],
                                    o["spec"]["resources"]["requests"]["storage"])
            for o in mine if o["kind"] == "PersistentVolumeClaim"} == {
        # Made alike from both providers: the first in the operator's order (by name) wins.
        "gitea-backup": ("large-apps", "20Gi"), "immich-backup": ("large-apps", "20Gi"),
        "paperless-backup": ("large-apps", "20Gi")}
    assert {o["metadata"]["name"]: o["metadata"]["annotations"] for o in mine
            if o["kind"] == "ServiceAccount"} == {
        name: {"example.org/id": str(zlib.adler32(combination.encode())),
               "example.org/from": "regions"}
        for name, combination in [("staging-eu", "cluster_apps=0/regions=0"),
                                  ("production-eu", "cluster_apps=1/regions=0")]}
    blog = next(o for o in mine if o["metadata"]["name"] == "blog")
    assert blog["spec"]["template"]["spec"]["containers"][0]["env"][:2] == [
        {"name": "HOST", "value": "blog.example.org"},
        {"name": "GREETING", "value": "hello ${USER}"}]
    assert [o for o in mine if o["kind"] == "ConfigMap"] == [
        {"apiVersion": "v1", "kind": "ConfigMap", "data": {"APP": app, "SIZE": size},
         "metadata": {"name": f"{slug}-settings", "namespace": "databases", "labels": {
             "resourceset.fluxcd.controlplane.io/name": "postgres",
             "resourceset.fluxcd.controlplane.io/namespace": "databases"}}}
        for app, slug, size in [("gitea", "gitea", "5Gi"),
                                ("Paperless NGX", "paperless-ngx", "10Gi")]]


def test_findings_on_what_resource_sets_make(tree: Tree, batch: Path) -> None:
    root = tree({**FLUX, **APPS})
    report = run(root)
    assert [(f.rule, f.file, f.line, f.subject, f.message) for f in report.sorted()
            if f.rule not in ("not-validated",)] == [
        ("resourceset", "kubernetes/apps/web/broken.yaml", 1, "ResourceSet web/broken",
         "does not render: spec.resources[0]: template: resourceset:4:11: executing "
         "\"resourceset\" at <inputs>: map has no entry for key \"nmae\""),
        ("resourceset-not-rendered", "kubernetes/apps/web/previews.yaml", 1,
         "ResourceSet web/previews",
         "its objects are not checked: its inputs come from the cluster "
         "(ResourceSetInputProvider web/pull-requests is GitHubPullRequest)"),
        ("resourceset", "kubernetes/apps/web/rollout.yaml", 16, "ResourceSet web/twice",
         'does not render: step "two": /Namespace//twice is already made by step "one"'),
        ("schema", "kubernetes/apps/web/sites.yaml", None, "Deployment web/blog",
         'spec.replicas: "two" is not of types "null", "integer"'),
        # The wiki's Secret is in databases, not in web: missing, as on the cluster.
        ("secret-ref", "kubernetes/apps/web/sites.yaml", None, "Deployment web/blog",
         "container 'app' env 'DATABASE_URL': Secret web/gitea-db-app is not in the tree "
         "(it must exist on the cluster): no Secret, ExternalSecret or Certificate "
         "provides it"),
        ("secret-ref", "kubernetes/apps/web/sites.yaml", None, "Deployment web/wiki",
         "container 'app' env 'DATABASE_URL': Secret web/gitea-db-app is not in the tree "
         "(it must exist on the cluster): no Secret, ExternalSecret or Certificate "
         "provides it")]
    assert report.objects == 18 + 4 + 3 + 2 + 2 + 2  # the tree's, and what five ResourceSets make
    # The steps' objects, in order; the ServiceAccount's namespace is the first step's.
    assert [_key(o) for o in made_objects(root) if o["metadata"]["labels"][
        "resourceset.fluxcd.controlplane.io/name"] == "rollout"] == [
        ("Namespace", "None", "team-blue"), ("ServiceAccount", "team-blue", "deployer")]


def test_without_kustomize_batch_resource_sets_are_said_unrendered(
        tree: Tree, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OUTFITTER_TOOLS_DIR", str(tmp_path / "no-tools"))
    report = run(tree({**FLUX, **APPS}))
    assert sorted((f.file, f.message) for f in report.sorted()
                  if f.rule.startswith("resourceset")) == [
        (f"kubernetes/apps/{name}", "its objects are not checked: " + why)
        for name, why in [
            ("databases/backups.yaml", "rendering it needs kustomize-batch "
                                       "(tools/build.sh builds it)"),
            ("databases/matrix.yaml", "rendering it needs kustomize-batch "
                                      "(tools/build.sh builds it)"),
            ("databases/postgres.yaml", "rendering it needs kustomize-batch "
                                        "(tools/build.sh builds it)"),
            ("web/broken.yaml", "rendering it needs kustomize-batch (tools/build.sh builds it)"),
            ("web/previews.yaml", "its inputs come from the cluster (ResourceSetInputProvider "
                                  "web/pull-requests is GitHubPullRequest)"),
            ("web/rollout.yaml", "rendering it needs kustomize-batch (tools/build.sh builds it)"),
            ("web/rollout.yaml", "rendering it needs kustomize-batch (tools/build.sh builds it)"),
            ("web/sites.yaml", "rendering it needs kustomize-batch (tools/build.sh builds it)")]]
    # The Secret the unrendered Cluster would make is not known: the Deployment's is missing.
    assert [f.subject for f in report.sorted() if f.rule == "secret-ref"] == [
        "Deployment databases/gitea"]
