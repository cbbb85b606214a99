"""Schemas (built-in kinds, CRDs found in the tree), strict mode, not-validated kinds and input
errors: each finding where it should be, with its line, and not where it should not."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from validate_trees import hits, run, where

Tree = Callable[[dict[str, str]], Path]

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
        - name: web
          image: nginx:1.27.3
          {extra}
"""

CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            apiVersion: {type: string}
            kind: {type: string}
            metadata: {type: object}
            spec:
              type: object
              required: [size]
              properties:
                size: {type: integer}
"""


def widget(size: str) -> str:
    return f"""
    apiVersion: example.com/v1
    kind: Widget
    metadata:
      name: w
      namespace: default
    spec:
      size: {size}
    """


def test_a_valid_deployment_passes_and_counts_as_validated(tree: Tree) -> None:
    root = tree({"deploy.yaml": DEPLOYMENT.format(replicas=2, extra="")})
    report = run(root)
    assert report.findings == []
    assert (report.objects, report.validated, report.exit_code) == (1, 1, 0)


def test_a_wrong_type_is_reported_at_its_line(tree: Tree) -> None:
    root = tree({"deploy.yaml": DEPLOYMENT.format(replicas='"two"', extra="")})
    report = run(root)
    assert where(report, "schema") == [("deploy.yaml", 7)]
    assert "spec.replicas" in hits(report, "schema")[0].message
    assert report.exit_code == 1


def test_strict_mode_flags_an_unknown_field_and_no_strict_does_not(tree: Tree) -> None:
    root = tree({"deploy.yaml": DEPLOYMENT.format(replicas=1, extra="imagePullPolicyy: Always")})
    strict = run(root)
    assert where(strict, "unknown-field") == [("deploy.yaml", 17)]
    assert "imagePullPolicyy" in hits(strict, "unknown-field")[0].message
    assert run(root, strict=False).findings == []


def test_a_missing_required_field_is_a_schema_error(tree: Tree) -> None:
    root = tree({"svc.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: x, namespace: default}
        spec:
          template: {}
        """})
    [finding] = hits(run(root), "schema")
    assert "selector" in finding.message


def test_a_kind_with_no_schema_is_not_validated_never_passed(tree: Tree) -> None:
    root = tree({"w.yaml": widget("3")})
    report = run(root)
    [note] = hits(report, "not-validated")
    assert "Widget (example.com/v1)" in note.message
    assert report.validated == 0
    assert report.exit_code == 0  # info: said, not failed


def test_a_crd_in_the_tree_validates_its_custom_resources(tree: Tree) -> None:
    root = tree({"crd.yaml": CRD, "w.yaml": widget('"big"')})
    report = run(root)
    assert where(report, "schema") == [("w.yaml", 7)]
    assert hits(report, "not-validated") == []
    good = tree({"crd.yaml": CRD, "w.yaml": widget("3")})
    assert run(good).findings == []


def test_a_crd_from_a_schema_folder_is_used(tree: Tree, tmp_path: Path) -> None:
    crds = tmp_path / "crds"
    crds.mkdir()
    (crds / "widget.yaml").write_text(CRD)
    root = tree({"w.yaml": widget("x")})
    assert where(run(root, crds=[crds]), "schema") == [("w.yaml", 7)]


def test_a_custom_kind_named_like_a_built_in_one_is_not_checked_as_it(tree: Tree) -> None:
    root = tree({"i.yaml": """
        apiVersion: networking.example.com/v1
        kind: Ingress
        metadata: {name: x, namespace: default}
        spec: {anything: goes}
        """})
    report = run(root)
    assert hits(report, "schema") == [] and hits(report, "unknown-field") == []
    assert len(hits(report, "not-validated")) == 1


def test_broken_yaml_is_reported_with_its_line_and_the_rest_still_validated(tree: Tree) -> None:
    root = tree({
        "a-broken.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [oops\n",
        "b-deploy.yaml": DEPLOYMENT.format(replicas='"x"', extra=""),
    })
    report = run(root)
    [syntax] = hits(report, "yaml-syntax")
    assert (syntax.file, syntax.line) == ("a-broken.yaml", 5)
    assert where(report, "schema") == [("b-deploy.yaml", 7)]
    assert report.exit_code == 2


def test_documents_before_a_syntax_error_are_still_checked(tree: Tree) -> None:
    root = tree({"f.yaml": DEPLOYMENT.format(replicas='"x"', extra="") + "---\nkey: [\n"})
    report = run(root)
    assert where(report, "schema") == [("f.yaml", 7)]
    assert len(hits(report, "yaml-syntax")) == 1


def test_an_unreadable_file_is_an_input_error(tree: Tree) -> None:
    root = tree({"ok.yaml": DEPLOYMENT.format(replicas=1, extra="")})
    (root / "binary.yaml").write_bytes(b"\xff\xfe\x00garbage")
    report = run(root)
    assert [f.file for f in hits(report, "unreadable")] == ["binary.yaml"]
    assert report.exit_code == 2


NOT_OBJECTS = {"list.yaml": "- a\n- b\n", "nokind.yaml": "metadata: {name: x}\n"}
FLUX_SYNC = """
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: flux-system, namespace: flux-system}
spec:
  interval: 1h
  path: ./apps
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
"""


def test_a_document_that_is_not_an_object_is_reported_where_flux_applies_it(
        tree: Tree) -> None:
    """kustomize-controller refuses a build with YAML that is no object in it."""
    root = tree({"clusters/home/flux-system/gotk-sync.yaml": FLUX_SYNC,
                 **{f"apps/{name}": text for name, text in NOT_OBJECTS.items()}})
    report = run(root)
    assert [(f.file, f.rule, f.message) for f in report.sorted()
            if f.file.startswith("apps/")] == [
        ("apps/list.yaml", "kustomize-build", "document 1 is not a mapping"),
        ("apps/nokind.yaml", "schema", "not a Kubernetes object: apiVersion and kind are "
                                       "required")]


def test_with_no_flux_entry_point_yaml_without_objects_is_not_a_manifest(tree: Tree) -> None:
    """A repository Flux does not read (Argo CD's, plain manifests): Taskfiles, Ansible
    and Talos configs beside the manifests are passed over, not called broken objects; a
    file named on the command line is judged all the same."""
    talos = "apiVersion: v1alpha1\nkind: HostnameConfig\nhostname: cp1\n"
    root = tree({**NOT_OBJECTS, "talos.yaml": talos,
                 "cm.yaml": "apiVersion: v1\nkind: ConfigMap\ndata: [x]\n"})
    report = run(root)
    assert [(f.file, f.rule) for f in report.sorted()] == [("cm.yaml", "schema")]
    assert report.objects == 1
    assert [f.file for f in hits(run(root / "list.yaml"), "schema")] == ["list.yaml"]


def test_timestamps_and_equals_signs_stay_strings(tree: Tree) -> None:
    root = tree({"cm.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: c, namespace: default}
        data:
          date: 2026-01-01
          eq: =
        """})
    assert run(root).findings == []


def test_a_sops_block_is_not_schema_checked(tree: Tree) -> None:
    root = tree({"s.yaml": """
        apiVersion: v1
        kind: Secret
        metadata: {name: s, namespace: default}
        data:
          password: ENC[AES256_GCM,data:abc,type:str]
        sops:
          mac: ENC[AES256_GCM,data:xyz]
          lastmodified: "2026-01-01T00:00:00Z"
          version: 3.9.0
        """})
    report = run(root)
    assert hits(report, "unknown-field") == [] and hits(report, "plaintext-secret") == []


def test_a_null_the_crd_does_not_allow_is_dropped_as_the_api_server_does() -> None:
    """`version:` left empty (Renovate's comment above it, no value): the API server prunes
    a non-nullable null before validating (a default stands in), so the release has no
    version; a required field left null is still missing, and a nullable one stays."""
    from outfitter.validate.crd_schema import CrdIndex

    index = CrdIndex(strict=True)
    index.add_crd({"spec": {"group": "example.com", "names": {"kind": "Release"},
                            "versions": [{"name": "v1", "served": True, "schema": {
                                "openAPIV3Schema": {"type": "object", "properties": {
                                    "apiVersion": {"type": "string"},
                                    "kind": {"type": "string"},
                                    "spec": {"type": "object", "required": ["chart"],
                                             "properties": {
                                        "chart": {"type": "string"},
                                        "version": {"type": "string"},
                                        "interval": {"type": "string", "default": "5m"},
                                        "note": {"type": "string", "nullable": True},
                                        "steps": {"type": "array", "items": {
                                            "type": "object",
                                            "properties": {"name": {"type": "string"}}}},
                                    }}}}}}]}})

    def problems(spec: dict[str, object]) -> list[str]:
        found = index.validate({"apiVersion": "example.com/v1", "kind": "Release",
                                "spec": spec})
        assert found is not None
        return [str(p) for p in found]

    assert problems({"chart": "app", "version": None, "interval": None, "note": None,
                     "steps": [{"name": None}]}) == []
    assert problems({"chart": None, "version": None}) == [
        "spec: \"chart\" is a required property"]
    assert problems({"chart": "app", "version": 3}) == [
        "spec.version: 3 is not of type \"string\""]
