"""Hostile or broken input: one finding each (or exit 2 with one line), quickly, nothing
fetched and nothing read outside the root."""

from __future__ import annotations

import http.server
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from validate_trees import run

from outfitter.validate.findings import Report

Tree = Callable[[dict[str, str]], Path]
needs_kubectl = pytest.mark.skipif(shutil.which("kubectl") is None,
                                   reason="kubectl (kustomize) not on PATH")
CM = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s, namespace: default}\n"
FLUX_KS = """apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: %s, namespace: flux-system}
spec:
  interval: 1h
  path: %s
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
"""


def rules(report: Report) -> list[tuple[str, str]]:
    return sorted((f.rule, f.file) for f in report.findings if f.rule != "not-validated")


@pytest.fixture
def server() -> Iterator[tuple[str, list[str]]]:
    """A local web server that records every request (none may come)."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write((CM % "remote").encode())

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    httpd.shutdown()
    httpd.server_close()


@needs_kubectl
def test_remote_resources_are_never_fetched(tree: Tree, server: tuple[str, list[str]]) -> None:
    url, seen = server
    root = tree({
        "app/kustomization.yaml": f"""
            resources:
              - {url}/remote.yaml
              - ./cm.yaml
            patches:
              - path: {url}/patch.yaml
            namespace: default
            """,
        "app/cm.yaml": CM % "local",
    })
    report = run(root)
    assert seen == []
    assert rules(report) == [("remote-resource", "app/kustomization.yaml")] * 2
    assert report.objects == 1  # the local ConfigMap is still checked


@needs_kubectl
def test_nothing_outside_the_root_is_read(tree: Tree, tmp_path: Path) -> None:
    outside = tmp_path / "secret-outside.yaml"
    outside.write_text(CM % "outside")
    root = tree({
        "app/kustomization.yaml": """
            resources:
              - ../../secret-outside.yaml
              - ./cm.yaml
            configMapGenerator:
              - name: gen
                files: [../../secret-outside.yaml]
            """,
        "app/cm.yaml": CM % "local",
    })
    os.symlink(outside, root / "app" / "linked.yaml")
    report = run(root)
    messages = sorted(f.message for f in report.findings if f.rule == "kustomize-build")
    assert messages == [
        "../../secret-outside.yaml: outside the repository; not read, and Flux cannot read "
        "it either",
        "configMapGenerator ../../secret-outside.yaml: outside the repository; not read, and "
        "Flux cannot read it either",
    ]
    names = {f.subject for f in report.findings}
    assert not any("outside" in n for n in names)


def test_a_flux_path_leaving_the_repository(tree: Tree) -> None:
    root = tree({"ks.yaml": FLUX_KS % ("escape", "../../etc")})
    [finding] = [f for f in run(root).findings if f.rule == "flux-path"]
    assert finding.message == "spec.path '../../etc' leaves the repository; Flux refuses it"
    assert finding.line == 6


def test_a_flux_path_from_slash_is_the_repository_root(tree: Tree) -> None:
    """kustomize-controller joins spec.path to the source's root (SecureJoin): `/apps` is
    `./apps` there, not the machine's /apps (dcplaya/home-ops; before: a flux-path error
    and the folder left unchecked)."""
    root = tree({"ks.yaml": FLUX_KS % ("web", "/apps"),
                 "apps/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"
                                 "data: {k: v}\n"})
    report = run(root)
    assert rules(report) == []
    assert report.objects == 2  # the Kustomization, and the ConfigMap it applies


def test_a_kustomization_cycle(tree: Tree) -> None:
    root = tree({
        "ks.yaml": FLUX_KS % ("loop", "./a"),
        "a/kustomization.yaml": "resources: [../b]\n",
        "b/kustomization.yaml": "resources: [../a]\n",
    })
    [finding] = [f for f in run(root).findings if f.rule == "kustomize-build"]
    assert finding.message == "kustomization cycle: a → b → a"
    assert finding.file == "b/kustomization.yaml"


BOMB = "a: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8))


@pytest.mark.parametrize(("name", "content", "rule", "message"), [
    ("bomb.yaml", BOMB, "yaml-syntax",
     "invalid YAML: expands to more than 1,000,000 nodes (an alias bomb?)"),
    ("dup.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\nkind: Secret\n",
     "yaml-syntax", "invalid YAML: duplicate key 'kind'"),
    ("mapkey.yaml", "apiVersion: v1\nkind: ConfigMap\ndata: {{a: 1}: 2}\n", "yaml-syntax",
     "invalid YAML: found unhashable key"),  # a mapping as a key: no traceback
    ("alias.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: *nope}\n",
     "yaml-syntax", "invalid YAML: found undefined alias 'nope'"),  # libyaml names none
    ("binary.yaml", "\0\1\2ELF", "unreadable", "is a binary file, not text"),
    ("deep.yaml", "a: " + "[" * 100_000, "yaml-syntax",
     "invalid YAML: nested too deeply to read safely"),
])
def test_broken_files_are_one_finding(tree: Tree, name: str, content: str, rule: str,
                                      message: str) -> None:
    root = tree({"ok.yaml": CM % "ok", name: content})
    report = run(root)
    assert [(f.rule, f.file, f.message) for f in report.findings] == [(rule, name, message)]
    assert report.exit_code == 2


@needs_kubectl
@pytest.mark.parametrize(("content", "rule", "message", "line"), [
    (BOMB, "yaml-syntax", "invalid YAML: expands to more than 1,000,000 nodes (an alias bomb?)",
     6),
    ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: &n c\ndata:\n  x: *pvc\n",
     "yaml-syntax", "invalid YAML: found undefined alias 'pvc'", 6),
    ("\0\1\2ELF", "unreadable", "is a binary file, not text", None),
])
def test_a_broken_file_in_a_kustomize_build_is_its_own_finding(
        tree: Tree, content: str, rule: str, message: str, line: int | None) -> None:
    """A file kustomize must not be shown (it cannot be read safely) is one finding of its
    own, and the rest of its build is still checked. Before: kustomize's "no such file or
    directory" for the whole build, and none of its objects checked."""
    root = tree({
        "apps/kustomization.yaml": "resources: [ok.yaml, bad.yaml]\nconfigMapGenerator:\n"
                                   "  - name: generated\n    namespace: default\n"
                                   "    literals: [A=b]\n",
        "apps/ok.yaml": CM % "ok",
        "apps/bad.yaml": content,
    })
    report = run(root)
    assert [(f.rule, f.file, f.message, f.line) for f in report.findings
            if f.rule != "not-validated"] == [(rule, "apps/bad.yaml", message, line)]
    assert report.objects == 2  # ok, and the generated ConfigMap: the build ran


def test_a_fifo_and_a_huge_file_are_refused_without_reading(tree: Tree) -> None:
    root = tree({"ok.yaml": CM % "ok"})
    os.mkfifo(root / "pipe.yaml")
    with open(root / "huge.yaml", "wb") as handle:  # sparse: 100 MB on paper
        handle.truncate(100 << 20)
    report = run(root)
    assert sorted((f.rule, f.file, f.message) for f in report.findings) == [
        ("unreadable", "huge.yaml", "too large to read (100.0 MiB; the limit is 16 MiB)"),
        ("unreadable", "pipe.yaml", "cannot read: not a regular file"),
    ]


def test_custom_tags_are_read_as_their_value(tree: Tree) -> None:
    root = tree({"cm.yaml": CM % "tagged" + "data:\n  key: !Find value\n"})
    report = run(root)
    assert report.findings == [] and report.objects == 1


@needs_kubectl
def test_a_reference_a_remote_resource_may_satisfy_says_so(tree: Tree) -> None:
    root = tree({
        "ks.yaml": FLUX_KS % ("crds", "./app") + "---\n" + FLUX_KS % ("plain", "./other"),
        "app/kustomization.yaml": """
            resources:
              - https://example.com/namespace-and-crds.yaml
              - ./cm.yaml
            """,
        "app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: "
                       "operators}\n",
        # The same reference in a build with no remote resource: nothing may satisfy it.
        "other/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: "
                         "operators}\n",
    })
    report = run(root)
    assert [(f.rule, f.severity, f.file, f.applied_by, f.message)
            for f in report.sorted() if f.rule != "not-validated"] == [
        ("remote-reference", "info", "app/cm.yaml", "flux-system/crds",
         "namespace 'operators' is not created by the tree (it must exist on the cluster); a "
         "remote resource app/kustomization.yaml names in the same build (not fetched, "
         "offline) may provide it (namespace, not checked)"),
        ("remote-resource", "info", "app/kustomization.yaml", "",
         "https://example.com/namespace-and-crds.yaml: remote, not fetched (offline)"),
        ("namespace", "error", "other/cm.yaml", "flux-system/plain",
         "namespace 'operators' is not created by the tree (it must exist on the cluster)"),
    ]


def test_a_redefined_anchor_is_valid_yaml(tree: Tree) -> None:
    # home-ops files reuse `&name` per list item; YAML (and kustomize) let the later one win.
    root = tree({"cm.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: env, namespace: default}
        data:
          first: &name CF_API_TOKEN
          first-again: *name
          second: &name CF_ZONE_ID
          second-again: *name
        """})
    report = run(root)
    assert report.findings == [] and report.objects == 1


def test_a_substitution_source_whose_data_is_not_a_map(tree: Tree) -> None:
    """A substituteFrom ConfigMap with `data: [a, b]`: its schema finding, not a traceback
    (the source's values were read as a map)."""
    root = tree({
        "ks.yaml": FLUX_KS % ("web", "./apps") + "  postBuild:\n    substituteFrom:\n"
                                                "      - {kind: ConfigMap, name: settings}\n",
        "settings.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, "
                         "namespace: flux-system}\ndata: [a, b]\n",
        "apps/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: "
                        "default}\ndata: {k: \"${X}\"}\n",
    })
    assert rules(run(root)) == [("schema", "settings.yaml")]
