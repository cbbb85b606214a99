"""kustomize-batch (one process for a run's kustomize builds) builds what `kubectl kustomize`
builds: every build of every fixture tree is run both ways and compared object for object
(origins included), errors line for line; validate's JSON is the same bytes with and
without the server; the process never outlives the run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from validate_trees import builtin

from outfitter.repo import sandbox
from outfitter.validate import kustomize_server
from outfitter.validate.crd_schema import CrdIndex
from outfitter.validate.documents import ManifestLoader
from outfitter.validate.engine import Options, validate
from outfitter.validate.findings import Report
from outfitter.validate.kustomize import Builder, _kustomize_error
from outfitter.validate.kustomize_server import KustomizeServer
from outfitter.validate.output import as_json
from tool_needs import built_tool, unavailable

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TREES = sorted([p for p in FIXTURES.iterdir() if (p / "kubernetes").is_dir()]
               + [p for p in (FIXTURES / "repos").iterdir() if p.is_dir()])
Tree = Callable[[dict[str, str]], Path]
Outcome = tuple[str, str | None]  # (stdout, stderr or None)


@pytest.fixture
def tools() -> tuple[str, str]:
    """(kustomize-batch, kubectl): both needed to compare them."""
    batch = built_tool("kustomize-batch")
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        unavailable("kubectl not on PATH: nothing to compare kustomize-batch with")
    return str(batch), kubectl


def run(root: Path) -> Report:
    return validate(root, Options(builtin=builtin(), crds=CrdIndex(strict=True)))


def kubectl_build(kubectl: str, base: str) -> Outcome:
    done = subprocess.run([kubectl, "kustomize", "--load-restrictor", "LoadRestrictionsNone",
                           base], capture_output=True, text=True, check=False,
                          env=sandbox.offline_env())
    return (done.stdout, None) if done.returncode == 0 else ("", done.stderr)


@pytest.fixture
def both_ways(monkeypatch: pytest.MonkeyPatch, tools: tuple[str, str]
              ) -> Iterator[list[tuple[str, Outcome, Outcome]]]:
    """Every build validate asks for, answered by the server (what validate uses) and by
    kubectl (recorded beside it): (folder, served, kubectl's)."""
    seen: list[tuple[str, Outcome, Outcome]] = []
    served_by = Builder._kustomize

    def build(self: Builder, base: str) -> Outcome:
        assert self.batch is not None, "validate did not use kustomize-batch"
        served = served_by(self, base)
        seen.append((base, served, kubectl_build(tools[1], base)))
        return served

    monkeypatch.setattr(Builder, "_kustomize", build)
    yield seen


def assert_same(seen: list[tuple[str, Outcome, Outcome]]) -> None:
    for base, (out, err), (k_out, k_err) in seen:
        # The objects kubectl printed, annotations (config.kubernetes.io/origin) included.
        objects = [list(yaml.load_all(text, ManifestLoader)) for text in (out, k_out)]
        assert objects[0] == objects[1], base
        messages = [_kustomize_error(e, base) if e is not None else None for e in (err, k_err)]
        assert messages[0] == messages[1], base


@pytest.mark.parametrize("fixture", TREES, ids=[p.name for p in TREES])
def test_every_build_of_a_fixture_equals_kubectls(
        fixture: Path, tmp_path: Path, both_ways: list[tuple[str, Outcome, Outcome]]) -> None:
    root = Path(shutil.copytree(fixture, tmp_path / fixture.name))  # its own repository
    run(root)
    if fixture.name != "default-tree":  # plain manifests only: nothing for kustomize
        assert both_ways, "no kustomize build: the comparison compared nothing"
    assert_same(both_ways)


ERRORS = {
    "missing/kustomization.yaml": "resources: [nope.yaml]\n",
    "twice/kustomization.yaml": "resources: [cm.yaml, cm.yaml]\n",
    "twice/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: \"x\"}\n",
    "patch/kustomization.yaml": "resources: [cm.yaml]\npatches:\n- target: {kind: ConfigMap}\n"
                                "  patch: |\n    - {op: replace, path: /data/nope, value: a}\n",
    "patch/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    "syntax/kustomization.yaml": "resources: [cm.yaml]\n",
    "syntax/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\n  bad: [\n",
    "field/kustomization.yaml": "bogusField: 1\nresources: [cm.yaml]\n",
    "field/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    "replace/kustomization.yaml": "resources: [cm.yaml]\nreplacements:\n"
                                  "- source: {kind: Secret, name: none}\n"
                                  "  targets: [{select: {kind: ConfigMap},"
                                  " fieldPaths: [data.x]}]\n",
    "replace/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    # A schema of its own (process-wide in kustomize): the builds after it must not see it.
    "schema/kustomization.yaml": "resources: [cm.yaml]\nopenapi: {path: schema.json}\n",
    "schema/schema.json": '{"definitions": {}}\n',
    "schema/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    "after/kustomization.yaml": "resources: [deploy.yaml]\npatches:\n- target: {kind: Deployment}\n"
                                "  patch: |\n    kind: Deployment\n    metadata: {name: d}\n"
                                "    spec: {template: {spec: {containers: [{name: b, "
                                "image: new}]}}}\n",
    "after/deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n"
                         "  template:\n    spec:\n      containers: [{name: a, image: x}]\n",
}


def test_errors_and_a_schema_of_its_own_read_as_kubectls(tree: Tree, tools: tuple[str, str]
                                                         ) -> None:
    root = tree(ERRORS)
    folders = sorted({str(root / rel.split("/")[0]) for rel in ERRORS})
    folders.append(folders.pop(folders.index(str(root / "after"))))  # after `schema`
    server = KustomizeServer(tools[0])
    try:
        seen = [(base, server.build(base, 60), kubectl_build(tools[1], base))
                for base in folders]
    finally:
        server.close()
    assert {base for base, (_, err), _ in seen if err is None} == {
        str(root / "after"), str(root / "schema")}
    assert_same(seen)


def test_the_server_is_found_where_the_build_put_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """tools/build.sh builds into $OUTFITTER_TOOLS_DIR, else $XDG_CACHE_HOME (or ~/.cache):
    a run with another XDG_CACHE_HOME than the build's still finds the default build; an
    explicit OUTFITTER_TOOLS_DIR is the only place looked at (besides PATH)."""
    home = tmp_path / "home"
    built = home / ".cache" / "outfitter" / "tools" / "bin" / "kustomize-batch"
    built.parent.mkdir(parents=True)
    built.write_text("#!/bin/sh\n")
    built.chmod(0o755)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("OUTFITTER_TOOLS_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "elsewhere"))
    assert kustomize_server.find_binary() == str(built)
    monkeypatch.setenv("OUTFITTER_TOOLS_DIR", str(tmp_path / "no-tools"))
    assert kustomize_server.find_binary() is None


def test_validate_json_is_the_same_bytes_without_the_server(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tools: tuple[str, str]) -> None:
    outputs = []
    for name, tools_dir in (("served", None), ("kubectl", tmp_path / "no-tools")):
        if tools_dir is not None:  # kustomize-batch not found: a kubectl per build
            monkeypatch.setenv("OUTFITTER_TOOLS_DIR", str(tools_dir))
        assert (kustomize_server.find_binary() is None) == (tools_dir is not None)
        texts = []
        for fixture in TREES:
            root = Path(shutil.copytree(fixture, tmp_path / name / fixture.name))
            report = run(root)
            report.root = fixture.name  # the copies' folders differ; nothing else may
            texts.append(json.dumps(as_json(report), indent=2))
        outputs.append(texts)
    assert outputs[0] == outputs[1]


def test_the_server_ends_with_the_run(tree: Tree, monkeypatch: pytest.MonkeyPatch,
                                      tools: tuple[str, str]) -> None:
    started: list[KustomizeServer] = []
    original = KustomizeServer.__init__

    def init(self: KustomizeServer, binary: str) -> None:
        original(self, binary)
        started.append(self)

    monkeypatch.setattr(KustomizeServer, "__init__", init)
    root = tree({
        "a/kustomization.yaml": "namespace: a\nresources: [cm.yaml]\n",
        "a/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
        "b/kustomization.yaml": "namespace: b\nresources: [../a/cm.yaml]\n",
    })
    report = run(root)
    assert report.objects == 2
    assert len(started) == 1  # one process for both builds
    pid = started[0].pid
    assert started[0].pid is not None and not os.path.exists(f"/proc/{pid}")


def test_a_server_that_dies_leaves_the_builds_to_kubectl(
        tree: Tree, monkeypatch: pytest.MonkeyPatch, tools: tuple[str, str]) -> None:
    original = KustomizeServer.build

    def build_then_die(self: KustomizeServer, folder: str, timeout: float
                       ) -> tuple[str, str | None]:
        answer = original(self, folder, timeout)
        self.close(wait=0)  # killed after its first answer
        return answer

    monkeypatch.setattr(KustomizeServer, "build", build_then_die)
    root = tree({
        f"{name}/kustomization.yaml": f"namespace: {name}\nresources: [cm.yaml]\n"
        for name in "abc"
    } | {f"{name}/cm.yaml": f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\n"
         for name in "abc"})
    report = run(root)
    assert report.objects == 3
    assert [f for f in report.findings if f.rule == "kustomize-build"] == []


def fake_server(tmp_path: Path, body: str) -> str:
    """A stand-in for kustomize-batch (a shell script): how the client meets a server that
    hangs or dies, which the real one does not do on demand."""
    script = tmp_path / "fake-kustomize-batch"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    return str(script)


def test_a_build_that_hangs_times_out_and_ends_the_server(tmp_path: Path) -> None:
    server = KustomizeServer(fake_server(tmp_path, "exec sleep 60"))  # reads, never answers
    try:
        out, err = server.build(str(tmp_path), timeout=0.5)
        assert (out, err) == ("", f"kustomize build of {tmp_path} timed out after 0.5 seconds")
        assert not os.path.exists(f"/proc/{server.pid}")
        with pytest.raises(kustomize_server.ServerGone):
            server.build(str(tmp_path), timeout=0.5)
    finally:
        server.close()


def test_a_server_that_exits_fails_its_build_at_once(tmp_path: Path) -> None:
    server = KustomizeServer(fake_server(tmp_path, "read line; exit 3"))
    try:
        with pytest.raises(kustomize_server.ServerGone):
            server.build(str(tmp_path), timeout=30)
    finally:
        server.close()
