"""Argo CD Applications in the repository model (repo.argo): which sources build a path of
this repository, and which files a directory source takes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from argocd_trees import MIXED
from outfitter.repo import model
from outfitter.repo.argo import (
    EXTERNAL,
    ArgoSource,
    Checkout,
    Refused,
    application_sources,
    expand_application_set,
)
from outfitter.repo.objects import ObjKey, Origin, SourceRefSpec
from outfitter.repo.reach import Directory

Tree = Callable[[dict[str, str]], Path]
OWN = SourceRefSpec("GitRepository", "flux-system", "flux-system")


def test_the_applications_flux_applies_are_built_from_this_repository(tree: Tree) -> None:
    root = tree(MIXED)
    repo = model.load(root)
    argo = {b.ks.key.name: b for b in repo.builds if isinstance(b.ks, ArgoSource)}
    # The chart folder is rendered by helm and the missing path is not a folder: listed,
    # not built; the chart of a chart repository and the other repository are not builds.
    assert sorted(argo) == ["echo", "missing", "platform", "podinfo", "podinfo-config",
                            "tools", "whoami"]
    assert {name for name, b in argo.items() if b.folder is None} == {"missing", "podinfo"}
    assert [ks.key.name for ks in repo.external if isinstance(ks, ArgoSource)] == ["upstream"]
    assert argo["podinfo-config"].ks.parent == ObjKey("Application", "argocd", "platform")

    def applier(rel: str) -> list[str]:
        return [a.ks.applied_by for a in repo.applications.get(str(root / rel), [])]

    assert applier("argocd/echo/deployment.yaml") == ["Argo CD Application argocd/echo"]
    assert applier("argocd/echo/old/deployment.yaml") == []
    assert applier("argocd/tools/b/configmap.yaml") == ["Argo CD Application argocd/tools"]
    assert applier("argocd/tools/b/tool-values.yaml") == []
    assert [model.unapplied_note(repo, p).startswith("no Flux Kustomization or Argo CD")
            for p in repo.unapplied] == [True, True]
    assert sorted(repo.rel(p) for p in repo.unapplied) == [
        "argocd/echo/old", "argocd/tools/b/tool-values.yaml"]


def test_each_source_of_this_repository_with_a_path_is_one_build() -> None:
    doc = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
           "metadata": {"name": "stack"},
           "spec": {"destination": {"namespace": "media"}, "sources": [
               {"repoURL": "https://charts.example.com", "chart": "app", "targetRevision": "1"},
               {"repoURL": "https://git.example.com/me/ops", "ref": "values"},
               {"repoURL": "https://git.example.com/me/ops", "path": "media/extra",
                "kustomize": {"namespace": "media-extra", "components": ["../common"]}},
               {"repoURL": "https://git.example.com/other", "path": "deploy",
                "plugin": {"name": "cue"}}]}}
    sources = application_sources(doc, Origin("/r/apps.yaml", 0), None, OWN,
                                  lambda url: url == "https://git.example.com/me/ops")
    assert [(s.key, s.source, s.path, s.target_namespace, s.components, s.plugin)
            for s in sources] == [
        (ObjKey("Application", "argocd", "stack[2]"), OWN, "media/extra", "media-extra",
         ("../common",), False),
        (ObjKey("Application", "argocd", "stack[3]"),
         SourceRefSpec(EXTERNAL, "https://git.example.com/other", ""), "deploy", "", (), True)]
    assert sources[0].destination_namespace == "media"
    assert sources[0].path_field == ("spec", "sources", 2, "path")
    assert sources[0].label == "Argo CD Application argocd/stack[2]"


def test_a_directory_source_takes_what_its_globs_match() -> None:
    assert Directory().takes("a/b.yaml")
    only = Directory(recurse=False, include="{deploy,svc}*.yaml", exclude="*-values.yaml")
    assert [only.takes(p) for p in ("deploy.yaml", "svc-a.yaml", "deploy-values.yaml",
                                    "cm.yaml")] == [True, True, False, False]
    assert Directory(exclude="{old/*,*.md}").takes("new/a.yaml")
    assert not Directory(exclude="{old/*,*.md}").takes("old/a.yaml")


def test_an_app_of_apps_child_lands_in_its_parents_destination(tree: Tree) -> None:
    """Argo CD runs in `gitops`: the root Applications name it, the child written in the
    app of apps names none, so it is made in the parent's destination namespace; and a
    file of a directory source lands in its Application's destination namespace."""
    files = {**MIXED, "kubernetes/apps/argocd/applications.yaml": MIXED[
        "kubernetes/apps/argocd/applications.yaml"].replace("namespace: argocd",
                                                            "namespace: gitops").replace(
        "namespace: argocd}", "namespace: gitops}")}
    root = tree(files)
    repo = model.load(root)
    keys = {b.ks.key for b in repo.builds if isinstance(b.ks, ArgoSource)}
    assert ObjKey("Application", "gitops", "podinfo-config") in keys
    [echo] = repo.applications[str(root / "argocd/echo/deployment.yaml")]
    assert echo.effective_namespace("") == "echo"
    assert echo.effective_namespace("other") == "other"


def test_with_no_flux_the_root_application_is_the_entry_point(tree: Tree) -> None:
    from argocd_trees import ARGO_ONLY

    repo = model.load(tree(ARGO_ONLY))
    assert repo.mode == "argo"
    assert [b.ks.key.name for b in repo.builds if b.ks.parent is None] == ["apps"]
    assert sorted(b.ks.key.name for b in repo.builds) == ["apps", "coredns", "external-dns"]


def appset(generators: list[dict[str, Any]], name: str, path: str, go: bool = True
           ) -> dict[str, Any]:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
            "metadata": {"name": "set", "namespace": "argocd"},
            "spec": {"goTemplate": go, "generators": generators,
                     "template": {"metadata": {"name": name}, "spec": {
                         "source": {"repoURL": OWN_URL, "path": path},
                         "destination": {"namespace": "apps"}}}}}


OWN_URL = "git@github.com:me/home-ops.git"


def expand(doc: dict[str, Any], folders: dict[str, list[str]] | None = None
           ) -> tuple[list[tuple[str, str]], str | None]:
    apps, why = expand_application_set(
        doc, Checkout(lambda rel: (folders or {}).get(rel)), lambda url: url == OWN_URL)
    return [(a["metadata"]["name"], a["spec"]["source"]["path"]) for a in apps], why


def test_list_and_matrix_generators_make_one_application_per_parameter_set() -> None:
    git = {"git": {"repoURL": OWN_URL, "directories": [{"path": "apps/*"}]}}
    stages = {"list": {"elements": [{"stage": "lab", "replicas": 1, "ha": False},
                                    {"stage": "prod", "replicas": 3, "ha": True}]}}
    folders = {"": ["apps"], "apps": ["web", "db"]}
    assert expand(appset([{"matrix": {"generators": [git, stages]}}],
                         "{{.path.basename}}-{{.stage}}",
                         "{{.path.path}}/{{.replicas}}-{{ .ha }}"), folders) == ([
        ("db-lab", "apps/db/1-false"), ("db-prod", "apps/db/3-true"),
        ("web-lab", "apps/web/1-false"), ("web-prod", "apps/web/3-true")], None)
    # Argo CD's default templates: strings, an element's `values` map as values.KEY.
    listed = {"list": {"elements": [{"app": "echo", "values": {"dir": "tools/echo"}}]}}
    assert expand(appset([listed], "{{app}}", "{{values.dir}}", go=False)) == \
        ([("echo", "tools/echo")], None)


@pytest.mark.parametrize(("generators", "name", "go", "why"), [
    ([{"list": {"elements": [{"app": "echo", "replicas": 2}]}}], "{{app}}", False,
     Refused("a list generator element has a value that is not a string, without "
             "goTemplate: Argo CD refuses the set and makes none")),
    ([{"matrix": {"generators": [
        {"list": {"elements": [{"dir": "apps"}]}},
        {"git": {"repoURL": OWN_URL, "directories": [{"path": "{{.dir}}/*"}]}}]}}],
     "{{.path.basename}}", True,
     "a matrix generator whose second generator uses the first's parameters is not "
     "expanded here"),
    ([{"matrix": {"generators": [{"list": {"elements": [{"app": "a"}]}},
                                 {"list": {"elements": [{"app": "b"}]}}]}}],
     "{{.app}}", True, "its matrix generators both set 'app'"),
    ([{"list": {"elements": [{"app": "echo"}]}}], "{{.app | upper}}", True,
     "its template uses more than its generators' parameters"),
    ([{"git": {"repoURL": OWN_URL, "directories": [{"path": "apps/*"}]}},
      {"list": {"elements": [{"path": {"basename": "web"}}]}}], "{{.path.basename}}", True,
     Refused("it makes two Applications named 'web': Argo CD refuses the set and makes "
             "none")),
    ([{"matrix": {"generators": [{"list": {"elements": [{"app": "a"}]}}]}}], "{{.app}}", True,
     Refused("its matrix generator has 1 generators, not two: Argo CD refuses the set and "
             "makes none")),
    ([{"list": {"elements": [{"app": "echo"}]}, "selector": {"matchLabels": {"a": "b"}}}],
     "{{.app}}", True, "a list, selector generator is not expanded here (git directories "
     "and files, lists and matrices of two of them only)"),
])
def test_what_is_not_expanded_says_why(generators: list[dict[str, Any]], name: str,
                                       go: bool, why: str) -> None:
    """Why, and whether Argo CD refuses the set as written (an error) or it is only not
    expanded here (a note)."""
    folders = {"": ["apps"], "apps": ["web"]}
    names, found = expand(appset(generators, name, "apps", go), folders)
    assert (names, found, type(found)) == ([], why, type(why))


@pytest.mark.parametrize(("text", "entry"), [
    ("nginx:1.27", {"name": "nginx", "newTag": "1.27"}),
    ("nginx=ghcr.io/me/nginx:1.27", {"name": "nginx", "newName": "ghcr.io/me/nginx",
                                     "newTag": "1.27"}),
    ("nginx@sha256:abc", {"name": "nginx", "digest": "sha256:abc"}),
    ("registry.lan:5000/app:2", {"name": "registry.lan:5000/app", "newTag": "2"}),
    ("app=registry.lan:5000/app", {"name": "app", "newName": "registry.lan:5000/app"}),
])
def test_kustomize_images_are_read_as_kustomize_edit_set_image_reads_them(
        text: str, entry: dict[str, str]) -> None:
    doc = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
           "metadata": {"name": "app", "namespace": "argocd"},
           "spec": {"source": {"repoURL": OWN_URL, "path": "apps/app",
                               "kustomize": {"images": [text]}},
                    "destination": {"namespace": "apps"}}}
    [source] = application_sources(doc, Origin("/r/apps.yaml", 0), None, OWN,
                                   lambda url: url == OWN_URL)
    assert source.spec["images"] == [entry]


def checkout(files: dict[str, str]) -> Checkout:
    """A repository of these files (relative path -> text), for git generators."""
    def entries(rel: str, folders: bool) -> list[str] | None:
        prefix = f"{rel}/" if rel else ""
        below = [f[len(prefix):] for f in files if f.startswith(prefix)]
        if not below:
            return None
        return sorted({b.split("/")[0] for b in below if ("/" in b) == folders})

    return Checkout(lambda rel: entries(rel, True), lambda rel: entries(rel, False),
                    files.get)


def test_git_files_generators_make_one_application_per_map_of_their_files() -> None:
    repo = checkout({
        "clusters/lab/config.json": '{"cluster": {"name": "lab", "replicas": 2}, '
                                    '"enabled": true}',
        "clusters/prod/config.json": '{"cluster": {"name": "prod", "replicas": 3}, '
                                     '"enabled": false}',
        "clusters/prod/notes.md": "not matched",
        "clusters/empty/config.json": "",  # the path parameters alone
        "apps/list.yaml": "- {app: web}\n- {app: db, ports: [80, 443]}\n---\n- {app: x}\n"})
    # Argo CD's default templates: the file's map flattened with dots, as Go prints it.
    files = {"git": {"repoURL": OWN_URL, "files": [{"path": "clusters/*/config.json"}]}}
    apps, why = expand_application_set(
        appset([files], "{{cluster.name}}-{{path.basename}}",
               "{{path}}/{{cluster.replicas}}-{{enabled}}-{{path.filename}}", go=False),
        repo, lambda url: url == OWN_URL)
    # fasttemplate leaves the tags of a parameter the empty file lacks as they are.
    assert ([(a["metadata"]["name"], a["spec"]["source"]["path"]) for a in apps], why) == ([
        ("{{cluster.name}}-empty", "clusters/empty/{{cluster.replicas}}-{{enabled}}-"
                                   "config.json"),
        ("lab-lab", "clusters/lab/2-true-config.json"),
        ("prod-prod", "clusters/prod/3-false-config.json")], None)
    # goTemplate: a file holding a list makes one set per map (of its first document);
    # `values` are templated.
    listed = {"git": {"repoURL": OWN_URL, "files": [{"path": "apps/*.yaml"}],
                      "values": {"dir": "{{.path.path}}/{{.app}}"}}}
    apps, why = expand_application_set(appset([listed], "{{.app}}", "{{.values.dir}}"),
                                       repo, lambda url: url == OWN_URL)
    assert ([(a["metadata"]["name"], a["spec"]["source"]["path"]) for a in apps], why) == ([
        ("web", "apps/web"), ("db", "apps/db")], None)
    # Default templates: a list inside the map is flattened with its indices.
    apps, why = expand_application_set(
        appset([{"git": {**listed["git"], "values": {}}}], "{{app}}", "{{ports.1}}",
               go=False), repo, lambda url: url == OWN_URL)
    assert [a["spec"]["source"]["path"] for a in apps] == ["{{ports.1}}", "443"]


@pytest.mark.parametrize(("files", "pattern", "why"), [
    ({"apps/config.yaml": "just text\n"}, "apps/*.yaml",
     Refused("its git files generator reads apps/config.yaml, which is not a map or a list "
             "of maps: Argo CD refuses the set and makes none")),
    ({"apps/config.yaml": "a: b\n"}, "apps/**/config.yaml",
     "its git files generator's `**` pattern is not expanded here"),
])
def test_a_git_files_generator_not_expanded_says_why(files: dict[str, str], pattern: str,
                                                      why: str) -> None:
    repo = checkout(files)
    generator = {"git": {"repoURL": OWN_URL, "files": [{"path": pattern}]}}
    apps, found = expand_application_set(appset([generator], "x", "apps"), repo,
                                         lambda url: url == OWN_URL)
    assert (apps, found, type(found)) == ([], why, type(why))
