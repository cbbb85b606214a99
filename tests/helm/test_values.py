"""HelmRelease values composed as helm-controller composes them: valuesFrom in order (with
valuesKey and targetPath), inline values on top, maps merged key by key."""

from __future__ import annotations

from pathlib import Path

import pytest

from outfitter.helm import values as helm_values
from outfitter.helm.values import Data, Unreadable, compose

OBJECTS = {
    ("ConfigMap", "base"): Data({"values.yaml": "a: {x: 1, y: 1}\nlist: [1, 2]\n",
                                 "extra.yaml": "a: {y: 2}\n"}, {}),
    ("Secret", "token"): Data({"token": "s3cr3t"}, {}),
    ("Secret", "sealed"): Data({"values.yaml": None}, {}, encrypted=True),
}


def lookup(kind: str, name: str) -> Data | None:
    return OBJECTS.get((kind, name))


def test_values_from_in_order_then_inline_on_top() -> None:
    spec = {"valuesFrom": [
        {"kind": "ConfigMap", "name": "base"},
        {"kind": "ConfigMap", "name": "base", "valuesKey": "extra.yaml"},
        {"kind": "Secret", "name": "token", "valuesKey": "token",
         "targetPath": "auth.tok\\.en"},
    ], "values": {"a": {"z": 3}, "list": [9]}}
    values, layers, notes = compose(spec, lookup)
    # Maps merge; a list is replaced whole; targetPath puts the string at the path.
    assert values == {"a": {"x": 1, "y": 2, "z": 3}, "list": [9],
                      "auth": {"tok.en": "s3cr3t"}}
    assert [layer.label for layer in layers] == [
        "spec.valuesFrom[0] ConfigMap base (values.yaml)",
        "spec.valuesFrom[1] ConfigMap base (extra.yaml)",
        "spec.valuesFrom[2] Secret token (token at auth.tok\\.en)", "spec.values"]
    assert notes == []


@pytest.mark.parametrize(("ref", "message"), [
    ({"kind": "Secret", "name": "sealed"},
     "spec.valuesFrom[0] Secret sealed is SOPS-encrypted: its values are unknown"),
    ({"kind": "ConfigMap", "name": "gone"},
     "spec.valuesFrom[0] ConfigMap gone is not in the repository (made in the cluster?): "
     "its values are unknown"),
    ({"kind": "ConfigMap", "name": "base", "valuesKey": "nope.yaml"},
     "spec.valuesFrom[0] ConfigMap base has no key 'nope.yaml'"),
    ({"kind": "ConfigMap", "name": "base", "targetPath": "a[0]"},
     "targetPath a[0]: list indexes are not read"),
])
def test_what_cannot_be_read_says_why(ref: dict[str, str], message: str) -> None:
    with pytest.raises(Unreadable) as err:
        compose({"valuesFrom": [ref]}, lookup)
    assert str(err.value) == message


def test_an_optional_missing_object_is_noted_and_skipped() -> None:
    values, _, notes = compose({"valuesFrom": [
        {"kind": "ConfigMap", "name": "gone", "optional": True}], "values": {"b": 1}}, lookup)
    assert values == {"b": 1}
    assert notes == ["spec.valuesFrom[0] ConfigMap gone (optional) is not in the repository: "
                     "judged without it"]


def test_generated_data_reads_files_and_knows_sops(tmp_path: Path) -> None:
    (tmp_path / "values.yaml").write_text("a: 1\n")
    (tmp_path / "secret.sops.yaml").write_text(
        "token: ENC[AES256_GCM,data:abc,type:str]\nsops:\n  mac: ENC[AES256_GCM,data:x]\n")
    plain = helm_values.generated_data({"values.yaml": tmp_path / "values.yaml"},
                                       {"k": "v"}, tmp_path)
    assert plain.entries == {"k": "v", "values.yaml": "a: 1\n"} and not plain.encrypted
    assert plain.files == {"values.yaml": tmp_path / "values.yaml"}
    sealed = helm_values.generated_data({"values.yaml": tmp_path / "secret.sops.yaml"}, {},
                                        tmp_path)
    assert sealed.encrypted and sealed.entries == {"values.yaml": None}
