"""A parent's spec.patches on a child Flux Kustomization, with kustomize's semantics for a
custom resource."""

from __future__ import annotations

from typing import Any

import pytest

from outfitter.repo.patches import PatchError, apply_patches

CHILD: dict[str, Any] = {
    "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
    "metadata": {"name": "web", "namespace": "apps", "labels": {"tier": "front"}},
    "spec": {"path": "./web", "postBuild": {"substituteFrom": [
        {"kind": "ConfigMap", "name": "app-vars"}]}, "components": ["../a"]},
}


def test_strategic_merge_merges_named_lists_and_replaces_others() -> None:
    patch = """
kind: Kustomization
metadata: {name: ignored-with-a-target}
spec:
  components: [../b]
  postBuild:
    substituteFrom:
      - {kind: Secret, name: cluster-secrets}
  decryption: {provider: sops}
"""
    out = apply_patches(CHILD, [{"patch": patch, "target": {"kind": "Kustomization"}}])
    assert out["spec"]["postBuild"]["substituteFrom"] == [
        {"kind": "ConfigMap", "name": "app-vars"}, {"kind": "Secret", "name": "cluster-secrets"}]
    assert out["spec"]["components"] == ["../b"]
    assert out["spec"]["decryption"] == {"provider": "sops"}
    assert out["metadata"]["name"] == "web"
    assert CHILD["spec"]["components"] == ["../a"]  # the original is untouched


def test_targets_select_by_regex_namespace_and_labels() -> None:
    patch = "- {op: replace, path: /spec/path, value: ./other}"
    def path_after(target: dict[str, Any]) -> str:
        return str(apply_patches(CHILD, [{"patch": patch, "target": target}])["spec"]["path"])
    assert path_after({"name": "w.b"}) == "./other"
    assert path_after({"name": "w"}) == "./web"  # anchored
    assert path_after({"namespace": "apps", "labelSelector": "tier=front"}) == "./other"
    assert path_after({"labelSelector": "tier!=front"}) == "./web"
    assert path_after({"group": "helm.toolkit.fluxcd.io"}) == "./web"


def test_set_based_label_selectors() -> None:
    """`key in (a, b)` and `key notin (a)` (home-ops parents give children decryption or
    substitution by `sops.flux.home.arpa/enabled in (true)`, `... notin (true)`); the
    commas inside the set are not requirement separators."""
    patch = "- {op: replace, path: /spec/path, value: ./other}"
    def path_after(selector: str) -> str:
        return str(apply_patches(CHILD, [{"patch": patch, "target": {
            "labelSelector": selector}}])["spec"]["path"])
    assert path_after("tier in (front)") == "./other"
    assert path_after("tier in (back, front)") == "./other"
    assert path_after("tier in (back)") == "./web"
    assert path_after("tier notin (back,edge)") == "./other"
    assert path_after("tier notin (front)") == "./web"
    assert path_after("absent notin (true)") == "./other"  # no key: notin matches
    assert path_after("absent in (true)") == "./web"
    assert path_after("tier in (back, front),tier!=front") == "./web"
    assert path_after("tier in (front), !absent") == "./other"


def test_without_a_target_a_patch_names_its_object() -> None:
    named = "kind: Kustomization\nmetadata: {name: web}\nspec: {prune: false}\n"
    other = "kind: Kustomization\nmetadata: {name: db}\nspec: {prune: false}\n"
    assert apply_patches(CHILD, [{"patch": named}])["spec"]["prune"] is False
    assert "prune" not in apply_patches(CHILD, [{"patch": other}])["spec"]


def test_json6902_operations_and_errors() -> None:
    ops = """
- {op: add, path: /spec/components/-, value: ../c}
- {op: copy, from: /spec/path, path: /spec/origin}
- {op: move, from: /spec/origin, path: /metadata/annotations}
- {op: remove, path: /metadata/labels/tier}
- {op: test, path: /spec/path, value: ./web}
"""
    out = apply_patches(CHILD, [{"patch": ops, "target": {"kind": "Kustomization"}}])
    assert out["spec"]["components"] == ["../a", "../c"]
    assert out["metadata"]["annotations"] == "./web" and out["metadata"]["labels"] == {}
    with pytest.raises(PatchError, match="does not exist"):
        apply_patches(CHILD, [{"patch": "- {op: remove, path: /spec/nope}",
                               "target": {"kind": "Kustomization"}}])
    with pytest.raises(PatchError, match="duplicate key"):
        apply_patches(CHILD, [{"patch": "kind: A\nkind: B\n"}])
