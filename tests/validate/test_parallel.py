"""Large trees are read and parsed ahead by worker processes: the report is the same, in the
same order, as when one process reads every file; a file a worker did not parse is parsed
in-process; small trees stay in one process."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from validate_trees import run

from outfitter.validate import parallel
from outfitter.validate.documents import InputProblem
from outfitter.validate.findings import Report

Tree = Callable[[dict[str, str]], Path]

pytestmark = pytest.mark.skipif(not parallel.can_fork(), reason="workers need fork (Linux)")

CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size: {type: integer}
"""


def app(ns: str, name: str, i: int) -> dict[str, str]:
    base = f"apps/{ns}/{name}"
    return {
        f"{base}/ks.yaml": f"""
        apiVersion: kustomize.toolkit.fluxcd.io/v1
        kind: Kustomization
        metadata:
          name: {name}
          namespace: flux-system
        spec:
          interval: 1h
          path: ./{base}/app
          prune: true
          sourceRef:
            kind: GitRepository
            name: flux-system
          postBuild:
            substitute:
              TAG: "1.{i}"
            substituteFrom:
              - kind: ConfigMap
                name: {"cluster-settings" if i % 4 else "missing-settings"}
        """,
        f"{base}/app/kustomization.yaml": """
        apiVersion: kustomize.config.k8s.io/v1beta1
        kind: Kustomization
        resources:
          - ./deployment.yaml
          - ./configmap.yaml
        """,
        f"{base}/app/deployment.yaml": f"""
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {name}
          namespace: {ns}
        spec:
          replicas: {"one" if i % 7 == 0 else 1}
          selector:
            matchLabels: {{app: {name}}}
          template:
            metadata:
              labels: {{app: {name}}}
            spec:
              containers:
                - name: main
                  image: "ghcr.io/example/{name}:${{TAG}}"
                  {"bogus: true" if i % 5 == 0 else ""}
        """,
        f"{base}/app/configmap.yaml": f"""
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: {name}
          namespace: {ns}
        data:
          cluster: ${{CLUSTER}}
          when: 2026-01-01
          flag: yes
          mode: 0755
        ---
        - not a map
        """,
    }


def varied_tree(tree: Tree) -> Path:
    files: dict[str, str] = {"crds/widget.yaml": CRD, "flux/settings.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: cluster-settings
          namespace: flux-system
        data:
          CLUSTER: home
        """}
    for n in range(4):
        ns = f"ns-{n}"
        files[f"apps/{ns}/namespace.yaml"] = f"""
        apiVersion: v1
        kind: Namespace
        metadata:
          name: {ns}
        """
        for i in range(n * 6, n * 6 + 6):
            files.update(app(ns, f"app-{i:02d}", i))
    files.update({
        "apps/ns-0/app-01/app/service.yaml": "apiVersion: v1\nkind: Service\nmetadata: [x\n",
        "apps/ns-0/app-02/app/extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
                                           "  name: extra\n  namespace: ns-0\n",
        "apps/ns-1/widgets.yaml": """
        apiVersion: example.com/v1
        kind: Widget
        metadata:
          name: w
          namespace: ns-1
        spec:
          size: big
        ---
        apiVersion: example.com/v1
        kind: Gadget
        metadata:
          name: g
          namespace: ns-1
        """,
        "apps/ns-2/anchors.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata: &m
          name: anchored
          namespace: ns-2
        data:
          <<: {a: "1"}
          b: "2"
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          <<: *m
          name: merged
        """,
        "apps/ns-3/deep.yaml": "a: " + "[" * 3000 + "]" * 3000,
    })
    root = tree(files)
    (root / "apps/ns-3/latin1.yaml").write_bytes(b"apiVersion: v1\nkind: ConfigMap\n"
                                                 b"metadata:\n  name: l\ndata:\n  a: \xe9\n")
    (root / "apps/ns-3/crlf.yaml").write_bytes(b"apiVersion: v1\r\nkind: ConfigMap\r\n"
                                               b"metadata:\r\n  name: crlf\r\n  bogus: 1\r\n")
    return root


def as_rows(report: Report) -> tuple[Any, ...]:
    return (report.objects, report.validated, report.files,
            [(f.rule, f.file, f.message, f.subject, f.line, f.doc, f.path, f.kind_name)
             for f in report.findings])


def test_workers_give_the_same_report_in_the_same_order(
        tree: Tree, monkeypatch: pytest.MonkeyPatch) -> None:
    root = varied_tree(tree)
    alone = run(root, workers=1)
    assert {"yaml-syntax", "unreadable", "schema", "unknown-field", "not-included",
            "not-validated", "values-from"} <= {f.rule for f in alone.findings}
    assert alone.objects > 50

    from_workers = []
    take = parallel.Reader.take

    def counted(self: parallel.Reader[Any], path: str) -> Any:
        found = take(self, path)
        from_workers.append(found is not None)
        return found

    monkeypatch.setattr(parallel.Reader, "take", counted)
    for workers in (2, 3):
        from_workers.clear()
        assert as_rows(run(root, workers=workers)) == as_rows(alone)
        # Every file from a worker: scanned before the pass, then parsed for it.
        assert len(from_workers) > 150 and all(from_workers)


def test_a_chunk_the_workers_fail_is_parsed_in_process(
        tree: Tree, monkeypatch: pytest.MonkeyPatch) -> None:
    root = varied_tree(tree)
    alone = run(root, workers=1)

    def broken(func: Any, paths: list[str]) -> list[bytes | None]:
        raise RuntimeError("worker lost")

    monkeypatch.setattr(parallel, "_run_chunk", broken)
    assert as_rows(run(root, workers=2)) == as_rows(alone)


def test_a_reader_hands_out_files_in_turn_only(tmp_path: Path) -> None:
    paths = []
    for i in range(40):
        path = tmp_path / f"{i}.yaml"
        path.write_text(f"a: {i}\n---\nb: [{i}]\n")
        paths.append(str(path))
    missing = str(tmp_path / "missing.yaml")
    workers = parallel.Workers(2)
    try:
        reader = workers.reader(parallel.parse_file, [*paths, missing])
        assert reader.take(paths[1]) is None  # out of turn: the caller parses it
        assert reader.take(paths[0]) == [(0, {"a": 0}), (1, {"b": [0]})]
        for i, name in enumerate(paths[1:], start=1):
            assert reader.take(name) == [(0, {"a": i}), (1, {"b": [i]})]
        items = reader.take(missing)
        assert items is not None and isinstance(items[0], InputProblem)
        assert items[0].rule == "unreadable"
        assert reader.take(missing) is None  # nothing more listed
    finally:
        workers.close()


def test_what_cannot_be_pickled_is_left_to_the_pass() -> None:
    assert parallel._run_chunk(unpicklable, ["x.yaml"]) == [None]


def unpicklable(path: str) -> Any:
    return [(0, {"f": lambda: None})]


def test_small_trees_stay_in_one_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "available_cores", lambda: 4)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.5, 0.5, 0.5))
    assert parallel.worker_count(None, parallel.MIN_FILES - 1) == 1
    assert parallel.worker_count(1, 10_000) == 1
    assert parallel.worker_count(3, 10) == 3
    assert parallel.worker_count(None, 10_000) == 4


def test_a_busy_machine_keeps_the_pass_in_one_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "available_cores", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.4, 1.0, 1.0))
    assert parallel.worker_count(None, 10_000) == 2
    monkeypatch.setattr(os, "getloadavg", lambda: (1.5, 1.0, 1.0))  # under a core
    assert parallel.worker_count(None, 10_000) == 1
    assert parallel.worker_count(2, 10_000) == 2  # asked for: given
