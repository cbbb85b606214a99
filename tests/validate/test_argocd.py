"""validate on a repository where Flux runs the cluster and Argo CD a few apps: what the
Applications apply is checked as Argo CD applies it (tests/argocd_trees.py says what each
source is), and every finding is asserted, so a false one fails the test."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from validate_trees import run

from argocd_trees import APPSETS, ARGO_ONLY, MIXED, application, application_set, own

Tree = Callable[[dict[str, str]], Path]


def findings(root: Path) -> list[tuple[str, str, str, str]]:
    return [(f.file, f.rule, f.message, f.applied_by) for f in run(root).sorted()
            if f.rule != "not-validated"]


def test_what_argo_cd_applications_apply_is_validated(tree: Tree) -> None:
    not_applied = ("no Flux Kustomization or Argo CD Application applies this {} (not reached "
                   "from Flux Kustomization flux-system/flux-system): not validated")
    assert findings(tree(MIXED)) == [
        # Argo CD puts echo's ConfigMap in the destination namespace, where Flux applies
        # one of the same name: two owners.
        ("argocd/echo/configmap.yaml", "duplicate", "ConfigMap echo/echo-env is also defined "
         "in kubernetes/apps/echo/configmap.yaml (document 1)", ""),
        ("argocd/echo/old", "not-applied", not_applied.format("folder"), ""),
        ("argocd/podinfo-config/configmap.yaml", "schema",
         'data.replicas: 2 is not of types "null", "string"',
         "Argo CD Application argocd/podinfo-config"),
        ("argocd/tools/b/tool-values.yaml", "not-applied", not_applied.format("file"), ""),
        ("argocd/whoami/secret.sops.yaml", "sops-no-decryption", "SOPS-encrypted, but Argo CD "
         "Application argocd/whoami applies files as they are (a plugin such as KSOPS "
         "decrypts them): Argo CD would apply it still encrypted", ""),
        ("kubernetes/apps/argocd/applications.yaml", "argocd-not-rendered",
         "Argo CD renders 'argocd/charts/podinfo' with helm (a Chart.yaml is in its path); "
         "its objects are not checked (validate --helm templates it)", ""),
        ("kubernetes/apps/argocd/applications.yaml", "external-source",
         "builds 'deploy' of https://github.com/someone/else.git, not this repository: not "
         "validated here", ""),
        ("kubernetes/apps/argocd/applications.yaml", "argocd-path",
         "spec.source.path 'argocd/nope' is not a directory of this repository", ""),
    ]


def test_objects_are_applied_as_argo_cd_applies_them(tree: Tree) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []
    run(tree(MIXED), on_object=lambda by, obj: seen.append((by, obj)))
    applied = {(obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"]): (
        by, obj) for by, obj in seen}
    by, whoami = applied[("Deployment", "lab", "lab-whoami")]
    # Built by kustomize with the source's options; the destination namespace for objects
    # that name none; the Secret reference follows the prefix.
    assert by == "Argo CD Application argocd/whoami"
    assert whoami["metadata"]["labels"] == {"team": "lab"}
    assert whoami["spec"]["template"]["spec"]["containers"][0]["envFrom"] == [
        {"secretRef": {"name": "lab-whoami"}}]
    assert whoami["spec"]["template"]["spec"]["containers"][0]["image"] == \
        "ghcr.io/traefik/whoami:v1.11.1"  # the source's kustomize.images
    assert applied[("Deployment", "echo", "echo")][0] == "Argo CD Application argocd/echo"
    # A recursive directory, less what its exclude glob names.
    assert {k for k in applied if k[0] == "ConfigMap" and k[1] == "tools"} == {
        ("ConfigMap", "tools", "tool-a"), ("ConfigMap", "tools", "tool-b")}
    # An app of apps: the child names no namespace, so it lands in the parent's destination.
    assert applied[("Application", "argocd", "podinfo-config")][0] == \
        "Argo CD Application argocd/platform"
    assert ("Deployment", "echo", "old") not in applied
    assert not [k for k in applied if k[2] == "excluded"]


def test_a_repository_url_is_known_from_the_checkouts_git_remotes(tree: Tree) -> None:
    """An Application naming the repository by a mirror's URL: this repository when the
    checkout has that remote, another one otherwise."""
    mirror = "https://git.home.lan/me/home-ops.git"
    files = {**MIXED, "kubernetes/apps/argocd/applications.yaml": MIXED[
        "kubernetes/apps/argocd/applications.yaml"].replace(
        "repoURL: https://github.com/me/home-ops\n", f"repoURL: {mirror}\n")}
    root = tree(files)
    assert [f.subject for f in run(root).sorted() if f.rule == "external-source"] == [
        f"Application argocd/{name}" for name in ("whoami", "echo", "tools", "platform",
                                                 "podinfo", "upstream", "missing")]
    (root / ".git").mkdir()
    (root / ".git/config").write_text(
        '[core]\n\tbare = false\n[remote "origin"]\n\turl = git@github.com:me/home-ops.git\n'
        '\tfetch = +refs/heads/*:refs/remotes/origin/*\n[remote "mirror"]\n'
        f'\turl = {mirror}\n[branch "main"]\n\tremote = origin\n')
    assert findings(root) == findings(tree(MIXED))


def test_application_sets_make_one_application_per_folder(tree: Tree) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []
    root = tree(APPSETS)
    report = run(root, on_object=lambda by, obj: seen.append((by, obj)))
    assert [(f.file, f.rule, f.subject, f.message, f.applied_by) for f in report.sorted()
            if f.rule != "not-validated"] == [
        ("argocd/configured/epsilon/configmap.yaml", "schema", "ConfigMap eps/epsilon",
         'data.port: 8080 is not of types "null", "string"',
         "Argo CD Application argocd/epsilon"),
        ("argocd/lab/alpha/configmap.yaml", "schema", "ConfigMap alpha/alpha",
         'data.replicas: 3 is not of types "null", "string"',
         "Argo CD Application argocd/lab-alpha"),
        ("argocd/lab/broken", "not-applied", "", "no Flux Kustomization or Argo CD Application "
         "applies this folder (not reached from Flux Kustomization flux-system/flux-system): "
         "not validated", ""),
        ("argocd/listed/delta/configmap.yaml", "schema", "ConfigMap delta/delta",
         'data.enabled: true is not of types "null", "string"',
         "Argo CD Application argocd/delta"),
        ("kubernetes/apps/argocd/applications.yaml", "argocd-not-rendered",
         "ApplicationSet clusters", "a clusters generator is not expanded here (git "
         "directories and files, lists and matrices of two of them only): the Applications "
         "it makes are not checked", ""),
    ]
    assert sorted((by, obj["metadata"]["namespace"], obj["metadata"]["name"])
                  for by, obj in seen if obj["kind"] == "ConfigMap") == [
        ("Argo CD Application argocd/delta", "delta", "delta"),
        ("Argo CD Application argocd/epsilon", "eps", "epsilon"),
        ("Argo CD Application argocd/gamma", "gamma", "gamma"),
        ("Argo CD Application argocd/lab-alpha", "alpha", "alpha"),
        ("Argo CD Application argocd/lab-beta", "beta", "beta"),
        ("Argo CD Application argocd/net-tools", "tools", "net-tools"),
        ("Argo CD Application argocd/web-lab", "web", "web-lab"),
        ("Argo CD Application argocd/web-prod", "web", "web-prod")]


def test_a_folder_both_flux_and_argo_cd_apply_has_two_owners(tree: Tree) -> None:
    files = {**{rel: text for rel, text in MIXED.items()
                if rel.startswith(("clusters/", "kubernetes/"))},
             "kubernetes/apps/argocd/applications.yaml": application(
                 "echo-too", own("kubernetes/apps/echo"), "echo")}
    assert findings(tree(files)) == [
        ("kubernetes/apps/echo/configmap.yaml", "duplicate", "ConfigMap echo/echo-env is "
         "applied twice, by Flux Kustomization flux-system/apps and Argo CD Application "
         "argocd/echo-too", "")]


def test_a_repository_with_argo_cd_only_is_entered_from_its_root_app(tree: Tree) -> None:
    """No Flux: the root Application (applied by hand) is the entry point, as Flux's
    bootstrap is; what no Application builds is not applied. A SOPS operator's SopsSecret
    keeps its sops block on purpose (decrypted in the cluster), with or without its CRD."""
    seen: list[tuple[str, dict[str, Any]]] = []
    root = tree(ARGO_ONLY)
    report = run(root, on_object=lambda by, obj: seen.append((by, obj)))
    note = "no Argo CD Application applies this {} (not reached from Argo CD Application " \
        "argocd/apps): not validated"
    assert [(f.file, f.rule, f.message) for f in report.sorted()
            if f.rule != "not-validated"] == [
        ("manifests/prd/bootstrap.yaml", "not-applied", note.format("file")),
        ("manifests/prd/miroir", "not-applied", note.format("folder"))]
    assert sorted((by, obj["kind"], obj["metadata"].get("namespace")) for by, obj in seen) == [
        ("Argo CD Application argocd/apps", "Application", "argocd"),
        ("Argo CD Application argocd/apps", "Application", "argocd"),
        ("Argo CD Application argocd/coredns", "ConfigMap", "kube-system"),
        ("Argo CD Application argocd/external-dns", "Namespace", None),
        ("Argo CD Application argocd/external-dns", "ServiceAccount", "external-dns"),
        ("Argo CD Application argocd/external-dns", "SopsSecret", "external-dns")]
    # Without a remote naming the repository, the tree is read as it stands: the
    # Deployment no Application builds is checked too.
    (root / ".git/config").unlink()
    assert [(f.file, f.rule) for f in run(root).sorted() if f.rule != "not-validated"] == [
        ("manifests/prd/miroir/Deployment-miroir.yaml", "schema")] * 2


def test_an_application_set_not_expanded_leaves_an_argo_only_tree_read_as_it_stands(
        tree: Tree) -> None:
    """A git files generator whose template calls sprig (edgard/home-ops' idiom) is not
    expanded here: which folders Argo CD applies is unknown, so every file is checked as
    it stands, none called not applied."""
    files = {**ARGO_ONLY, "manifests/prd/apps/ApplicationSet-apps.yaml": application_set(
        "apps", "", "{{ .path.basenameNormalized }}", "{{ .path.path }}",
        '{{ dig "namespace" "default" . }}',
        generators="    - git:\n        repoURL: https://github.com/me/home-ops.git\n"
                   "        revision: main\n        files: [{path: 'apps/*/*/app.yaml'}]\n"),
             "apps/media/plex/app.yaml": "chart: {repo: oci://ghcr.io/bjw-s-labs/helm/app-"
                                         "template, version: 4.2.0}\n"}
    assert [(f.file, f.rule) for f in run(tree(files)).sorted()
            if f.rule != "not-validated"] == [
        ("manifests/prd/miroir/Deployment-miroir.yaml", "schema")] * 2


def test_an_application_deploying_to_another_cluster_is_judged_there(tree: Tree) -> None:
    """Argo CD also deploys echo to the NAS's cluster: the ConfigMap Flux applies here is
    no duplicate of it, and a finding there names that cluster."""
    files = {**{rel: text for rel, text in MIXED.items()
                if rel.startswith(("clusters/", "kubernetes/", "argocd/echo/"))},
             "argocd/echo/service.yaml": "apiVersion: v1\nkind: Service\n"
                                         "metadata: {name: echo}\nspec: {ports: [{port: x}]}\n",
             "kubernetes/apps/argocd/applications.yaml": application(
                 "echo-nas", own("argocd/echo"), "echo").replace(
                 "server: 'https://kubernetes.default.svc'", "name: nas")}
    assert findings(tree(files)) == [
        ("argocd/echo/old", "not-applied", "no Flux Kustomization or Argo CD Application "
         "applies this folder (not reached from Flux Kustomization flux-system/flux-system): "
         "not validated", ""),
        ("argocd/echo/service.yaml", "schema", 'spec.ports.0.port: "x" is not of type '
         '"integer" (cluster nas)', "Argo CD Application argocd/echo-nas")]


def test_an_application_set_argo_cd_refuses_is_an_error(tree: Tree) -> None:
    """Two git directory generators that both match argocd/lab/alpha make two Applications
    of one name: Argo CD refuses the whole set, so it is an error, not a note. (One
    generator's overlapping patterns match a folder once.)"""
    generators = "".join(f"""\
    - git:
        repoURL: git@github.com:me/home-ops.git
        revision: HEAD
        directories: [{{path: {path}}}]
""" for path in ("argocd/lab/*", "argocd/lab/alpha"))
    files = {**APPSETS, "kubernetes/apps/argocd/applications.yaml": application_set(
        "lab", "", "lab-{{.path.basename}}", "{{ .path.path }}",
        "{{index .path.segments 2}}", generators=generators)}
    report = run(tree(files))
    assert [(f.file, f.rule, f.severity, f.subject, f.message) for f in report.sorted()
            if f.rule.startswith("argocd")] == [
        ("kubernetes/apps/argocd/applications.yaml", "argocd-applicationset", "error",
         "ApplicationSet lab", "it makes two Applications named 'lab-alpha': Argo CD "
         "refuses the set and makes none")]
