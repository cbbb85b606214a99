"""`outfitter init` writes a JSON schema for outfitter.yaml, generated from the models."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from outfitter.cli import main


def test_init_writes_a_schema_the_profile_points_at_and_satisfies(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    text = (tmp_path / "outfitter.yaml").read_text()
    assert text.splitlines()[0] == "# yaml-language-server: $schema=./outfitter.schema.json"
    schema = json.loads((tmp_path / "outfitter.schema.json").read_text())
    data = yaml.safe_load(text)
    jsonschema.validate(data, schema)
    # It knows each add-on's own options and the options every add-on shares.
    data["addons"]["velero"]["values"] = {"nodeAgent": {"resources": {}}}
    data["addons"]["reloader"]["installed"] = {"namespace": "kube-system"}
    data["addons"]["velero"]["chart"] = {"version": "12.2.0"}
    jsonschema.validate(data, schema)
    for bad in ({"velero": {"unknown": 1}}, {"reloader": {"installed": {"namespace": "Kube"}}},
                {"nosuchaddon": {}}):
        wrong = {**data, "addons": {**data["addons"], **bad}}
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(wrong, schema)
