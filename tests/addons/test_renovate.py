"""Renovate: a renovate.json at the repository's root, nothing in the cluster, valid against
Renovate's schema, managers on the tree, groups per add-on, automerge of patches only."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import upstream_data
from outfitter.addons.renovate import ADDON, FILE, SCHEMA_URL
from outfitter.config import ProfileError, parse_profile
from outfitter.plan import build_plan
from outfitter.render.flux import render_tree
from profiles import VARIANTS, variant

SCHEMA = upstream_data.UPSTREAM / "schemas" / "renovate-schema.json"


def rendered(data: dict[str, Any] | None = None) -> dict[str, Any]:
    files = render_tree(build_plan(parse_profile(data or {})))
    config: dict[str, Any] = json.loads(files[FILE])
    return config


def problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ProfileError) as err:
        parse_profile(data)
    return err.value.problems


def _schema() -> dict[str, Any]:
    if not SCHEMA.exists():
        pytest.skip(f"no Renovate schema at {SCHEMA}")
    schema: dict[str, Any] = json.loads(Path(SCHEMA).read_text())
    return schema


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_renovate_json_validates_against_the_schema(name: str, upstream: None) -> None:
    schema = _schema()
    config = json.loads(render_tree(build_plan(variant(name)))[FILE])
    jsonschema.Draft7Validator(schema).validate(config)
    # The schema allows unknown keys, so check them here: a renamed option (fileMatch ->
    # managerFilePatterns in Renovate 43) would otherwise pass unnoticed.
    props = schema["properties"]
    assert sorted(set(config) - set(props)) == ["$schema"]
    # A package rule takes its matchers plus any configuration option (a root property).
    rule_props = set(props["packageRules"]["items"]["allOf"][0]["properties"]) | set(props)
    for rule in config["packageRules"]:
        assert set(rule) <= rule_props, rule
        assert any(key.startswith("match") for key in rule), rule
    for manager in ("flux", "helm-values", "kubernetes", "argocd"):
        if manager in config:
            own = set(props[manager]["items"]["allOf"][0]["properties"])
            assert "managerFilePatterns" in own and "fileMatch" not in own | set(props)
            assert set(config[manager]) <= own | set(props), manager


def test_the_file_is_at_the_repository_root_and_nothing_goes_in_the_cluster() -> None:
    files = render_tree(build_plan(parse_profile({})))
    assert FILE in files
    assert not [p for p in files if "/renovate/" in p or p.startswith("renovate/")]
    assert not [p for p in files if p.endswith("namespace.yaml") and "renovate" in files[p]]
    plan = build_plan(parse_profile({}))
    ap = plan.get("renovate")
    assert ap.workloads == [] and ap.addon.chart is None
    assert not ap.rendered.app and not ap.rendered.config


def test_deterministic_json_with_a_trailing_newline() -> None:
    text = render_tree(build_plan(parse_profile({})))[FILE]
    assert text.endswith("}\n")
    assert text == json.dumps(json.loads(text), indent=2) + "\n"
    assert next(iter(json.loads(text))) == "$schema"
    assert json.loads(text)["$schema"] == SCHEMA_URL


def test_managers_read_the_tree_at_the_gitops_path() -> None:
    config = rendered({"gitops": {"path": "clusters/home/apps/"}})
    assert config["flux"]["managerFilePatterns"] == ["clusters/home/apps/**/*.yaml"]
    assert config["helm-values"]["managerFilePatterns"] == [
        "clusters/home/apps/**/helmrelease.yaml"]
    assert config["kubernetes"]["managerFilePatterns"] == ["clusters/home/apps/**/*.yaml"]
    assert "fileMatch" not in json.dumps(config)
    assert "argocd" not in config


def test_argocd_manager_only_when_argo_cd_owns_an_add_on() -> None:
    config = rendered({"addons": {"reloader": {"owner": "argocd"}}})
    assert config["argocd"] == {"managerFilePatterns": ["kubernetes/apps/**/application.yaml"]}


def test_one_group_per_charted_add_on_and_one_for_flux() -> None:
    config = rendered({"addons": {"reloader": {"enabled": False}}})
    groups = {r["groupName"]: r for r in config["packageRules"] if "groupName" in r}
    assert "fluxcd/flux2" in groups["flux"]["matchPackageNames"]
    assert groups["velero"]["matchFileNames"] == ["kubernetes/apps/velero/velero/**"]
    assert groups["longhorn"]["matchFileNames"] == [
        "kubernetes/apps/longhorn-system/longhorn/**"]
    assert "reloader" not in groups  # disabled
    assert "renovate" not in groups  # no chart
    external = rendered({"addons": {"object-storage": {
        "provider": "external", "endpoint": "https://nas.home.example.com:9000"}}})
    assert "object-storage" not in {r.get("groupName") for r in external["packageRules"]}


def test_patches_automerge_by_default_minor_and_major_never() -> None:
    rules = rendered()["packageRules"]
    [patch] = [r for r in rules if r.get("automerge") is True]
    assert patch["matchUpdateTypes"] == ["patch"]
    assert patch["matchFileNames"] == ["kubernetes/apps/**"]
    assert rules[-1] == {"description": rules[-1]["description"],
                         "matchUpdateTypes": ["minor", "major"], "automerge": False}
    off = rendered({"addons": {"renovate": {"automergePatch": False}}})["packageRules"]
    assert not [r for r in off if r.get("automerge") is True]
    assert off[-1]["automerge"] is False


def test_schedule_and_timezone() -> None:
    config = rendered({"addons": {"renovate": {"schedule": ["* 22-23 * * 1-5"],
                                               "timezone": "Europe/Berlin"}}})
    assert config["schedule"] == ["* 22-23 * * 1-5"]
    assert config["timezone"] == "Europe/Berlin"
    assert "timezone" not in rendered()


def test_bad_schedule_and_timezone_are_refused_with_their_keys() -> None:
    assert problems({"addons": {"renovate": {"schedule": ["0 3 * * *", "* * *"],
                                             "timezone": "Berlin time"}}}) == [
        "addons.renovate.schedule[0]: the minutes field must be `*`: Renovate schedules by "
        "the hour",
        "addons.renovate.schedule[1]: must be a 5-field cron expression",
        "addons.renovate.timezone: must be an IANA time zone such as Europe/Berlin or UTC",
    ]
    assert problems({"addons": {"renovate": {"schedule": []}}})[0].startswith(
        "addons.renovate.schedule: must list")


def test_notes_say_where_the_file_goes() -> None:
    notes = build_plan(parse_profile({})).get("renovate").notes
    assert any("repository's root" in n and ".github/renovate.json5" in n for n in notes)
    assert ADDON.namespace == "renovate"


def test_flux_operator_and_flux_instance_update_together() -> None:
    [bootstrap] = [r for r in rendered()["packageRules"] if r.get("groupName", "").startswith(
        "flux")]
    assert bootstrap["matchPackageNames"] == ["fluxcd/flux2", "ghcr.io/fluxcd/**"]
    rules = rendered({"flux": {"install": "flux-operator"}})["packageRules"]
    [operator] = [r for r in rules if r.get("groupName", "").startswith("flux")]
    assert operator["groupName"] == "flux-operator"
    assert "ghcr.io/controlplaneio-fluxcd/**" in operator["matchPackageNames"]
    pattern = next(p for p in operator["matchPackageNames"] if p.startswith("/"))
    for name in ("flux-operator", "flux-instance", "ghcr.io/controlplaneio-fluxcd/charts/"
                 "flux-instance"):
        assert re.search(pattern.strip("/"), name), name
    assert not re.search(pattern.strip("/"), "flux-operator-mcp")
