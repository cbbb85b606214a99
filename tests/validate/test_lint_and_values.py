"""Security and hygiene lint (one broken tree per rule, silenced by the annotation) and
HelmRelease values against charts in a local chart folder."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from validate_trees import hits, run, where

import upstream_data
from outfitter import yamlio

Tree = Callable[[dict[str, str]], Path]


def deployment(pod: dict[str, Any] | None = None, container: dict[str, Any] | None = None,
               image: str = "nginx:1.27.3", annotations: dict[str, str] | None = None) -> str:
    meta: dict[str, Any] = {"name": "web", "namespace": "default"}
    if annotations:
        meta["annotations"] = annotations
    return yamlio.dump({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {**(pod or {}), "containers": [
                {"name": "web", "image": image, **(container or {})}]}}}})


def line_of(text: str, marker: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if marker in line)


@pytest.mark.parametrize(("rule", "text", "marker"), [
    ("privileged", deployment(container={"securityContext": {"privileged": True}}),
     "privileged: true"),
    ("host-path", deployment(pod={"volumes": [{"name": "root", "hostPath": {"path": "/"}}]}),
     "- name: root"),
    ("host-namespaces", deployment(pod={"hostNetwork": True}), "hostNetwork"),
    ("image-latest", deployment(image="nginx:latest"), "image:"),
    ("image-latest", deployment(image="nginx"), "image:"),
])
def test_each_lint_rule_fires_at_its_line(tree: Tree, rule: str, text: str,
                                          marker: str) -> None:
    root = tree({"d.yaml": text})
    report = run(root)
    assert where(report, rule) == [("d.yaml", line_of(text, marker))]
    others = [f.rule for f in report.findings if f.rule != rule]
    assert others == []


@pytest.mark.parametrize("image", ["nginx:1.27.3", "registry:5000/team/app:v2",
                                   "nginx@sha256:" + "a" * 64])
def test_pinned_images_pass(tree: Tree, image: str) -> None:
    assert run(tree({"d.yaml": deployment(image=image)})).findings == []


def test_lint_is_silenced_per_object_by_the_annotation(tree: Tree) -> None:
    both = {"outfitter.dev/ignore": "host-namespaces, image-latest"}
    text = deployment(pod={"hostNetwork": True}, image="nginx:latest", annotations=both)
    assert run(tree({"d.yaml": text})).findings == []
    one = {"outfitter.dev/ignore": "image-latest"}
    text = deployment(pod={"hostNetwork": True}, image="nginx:latest", annotations=one)
    assert [f.rule for f in run(tree({"d.yaml": text})).findings] == ["host-namespaces"]


def test_a_plain_text_secret_and_an_empty_one(tree: Tree) -> None:
    root = tree({"s.yaml": """
        apiVersion: v1
        kind: Secret
        metadata: {name: s, namespace: default}
        stringData:
          password: hunter2
        """, "empty.yaml": """
        apiVersion: v1
        kind: Secret
        metadata: {name: e, namespace: default}
        type: kubernetes.io/service-account-token
        """})
    assert where(run(root), "plaintext-secret") == [("s.yaml", 4)]


@pytest.mark.parametrize(("text", "unpinned"), [
    ("chart: {spec: {chart: web, sourceRef: {kind: HelmRepository, name: r}}}", True),
    ("chart: {spec: {chart: web, version: '1.x', sourceRef: {kind: HelmRepository, name: r}}}",
     True),
    ("chart: {spec: {chart: web, version: '>=1.0.0', sourceRef: "
     "{kind: HelmRepository, name: r}}}", True),
    ("chart: {spec: {chart: web, version: 1.2.3, sourceRef: {kind: HelmRepository, name: r}}}",
     False),
])
def test_helmrelease_chart_versions(tree: Tree, text: str, unpinned: bool) -> None:
    root = tree({"hr.yaml": f"""
        apiVersion: helm.toolkit.fluxcd.io/v2
        kind: HelmRelease
        metadata: {{name: web, namespace: default}}
        spec:
          {text}
        """})
    assert bool(hits(run(root), "chart-unpinned")) is unpinned


@pytest.mark.parametrize(("ref", "unpinned"), [
    ("{}", True), ("{tag: latest}", True), ("{semver: '>=1.0.0'}", True),
    ("{tag: v1.2.3}", False), ("{semver: 1.2.3}", False), ("{digest: 'sha256:abc'}", False),
])
def test_ocirepository_refs(tree: Tree, ref: str, unpinned: bool) -> None:
    root = tree({"oci.yaml": f"""
        apiVersion: source.toolkit.fluxcd.io/v1
        kind: OCIRepository
        metadata: {{name: web, namespace: default}}
        spec: {{url: "oci://ghcr.io/x/web", interval: 1h, ref: {ref}}}
        """})
    assert bool(hits(run(root), "chart-unpinned")) is unpinned


# -- HelmRelease values against a local chart folder ------------------------------------

def write_chart(folder: Path, name: str, version: str, values: str,
                schema: dict[str, object] | None = None) -> None:
    folder.mkdir(parents=True)
    (folder / "Chart.yaml").write_text(f"apiVersion: v2\nname: {name}\nversion: {version}\n")
    (folder / "values.yaml").write_text(values)
    if schema is not None:
        (folder / "values.schema.json").write_text(json.dumps(schema))


def release(values: str, chart: str = "web", version: str = "1.2.3") -> str:
    return f"""
    apiVersion: helm.toolkit.fluxcd.io/v2
    kind: HelmRelease
    metadata: {{name: web, namespace: default}}
    spec:
      chart:
        spec:
          chart: {chart}
          version: {version}
          sourceRef: {{kind: HelmRepository, name: r, namespace: flux-system}}
      values:
    {values}
    """


def test_unknown_value_keys_and_schema_errors(tree: Tree, tmp_path: Path) -> None:
    charts = tmp_path / "charts"
    write_chart(charts / "web", "web", "1.2.3",
                "replicas: 1\n# logFormat: json\npodAnnotations: {}\nimage:\n  tag: ''\n",
                {"type": "object", "properties": {"replicas": {"type": "integer"}}})
    root = tree({"hr.yaml": release("""
        replicas: "two"
        replicaz: 3
        logFormat: json
        podAnnotations: {anything: goes}
        image:
          tga: v1
    """)})
    report = run(root, charts=charts)
    assert where(report, "values-unknown-key") == [("hr.yaml", 13), ("hr.yaml", 17)]
    assert [f.message.split(":")[0] for f in hits(report, "values-unknown-key")] == [
        "values.replicaz", "values.image.tga"]
    assert where(report, "values-schema") == [("hr.yaml", 12)]
    # Without the chart there is nothing to check against.
    assert hits(run(root), "values-unknown-key") == []


def test_the_chart_is_chosen_by_pinned_version(tree: Tree, tmp_path: Path) -> None:
    charts = tmp_path / "charts"
    write_chart(charts / "web-old", "web", "1.0.0", "oldKey: 1\n")
    write_chart(charts / "web-new", "web", "2.0.0", "newKey: 1\n")
    new = tree({"hr.yaml": release("    newKey: 2", version="2.0.0")})
    assert hits(run(new, charts=charts), "values-unknown-key") == []
    old = tree({"hr.yaml": release("    newKey: 2", version="1.0.0")})
    assert len(hits(run(old, charts=charts), "values-unknown-key")) == 1


def test_a_chart_ref_takes_name_and_version_from_its_ocirepository(
    tree: Tree, tmp_path: Path
) -> None:
    charts = tmp_path / "charts"
    write_chart(charts / "web", "web", "1.2.3", "replicas: 1\n")
    root = tree({"hr.yaml": """
        apiVersion: helm.toolkit.fluxcd.io/v2
        kind: HelmRelease
        metadata: {name: web, namespace: default}
        spec:
          chartRef: {kind: OCIRepository, name: web}
          values: {replicaz: 1}
        """, "z-oci.yaml": """
        apiVersion: source.toolkit.fluxcd.io/v1
        kind: OCIRepository
        metadata: {name: web, namespace: default}
        spec: {url: "oci://ghcr.io/x/charts/web", interval: 1h, ref: {tag: 1.2.3}}
        """})
    assert where(run(root, charts=charts), "values-unknown-key") == [("hr.yaml", 6)]


def test_upstream_reloader_chart_schema(tree: Tree, upstream: None) -> None:
    charts = upstream_data.UPSTREAM / "charts"
    version = upstream_data._folder("reloader").version
    root = tree({"hr.yaml": release("""
        reloader:
          reloadStrategy: sideways
          notAKey: true
    """, chart="reloader", version=version)})
    report = run(root, charts=charts)
    assert [f.message.split(":")[0] for f in hits(report, "values-unknown-key")] == [
        "values.reloader.notAKey"]
    [schema] = hits(report, "values-schema")
    assert "values.reloader.reloadStrategy" in schema.message
