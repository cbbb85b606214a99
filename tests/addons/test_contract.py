"""Every add-on, under every profile variant, against the upstream reference data:
pinned chart versions exist, values use only keys the chart defines and pass its schema,
and every custom resource validates against its upstream CRD."""

from __future__ import annotations

from typing import Any

import pytest

import upstream_data
from outfitter import yamlio
from outfitter.addons import registry
from outfitter.plan import build_plan
from outfitter.render.flux import render_tree
from profiles import VARIANTS, variant

BUILT_IN_GROUPS = {"", "apps", "batch", "rbac.authorization.k8s.io", "networking.k8s.io",
                   "policy", "kustomize.config.k8s.io"}


def _group(obj: dict[str, Any]) -> str:
    return str(obj.get("apiVersion", "")).rpartition("/")[0]


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_chart_versions_exist_and_values_fit_the_chart(name: str, upstream: None) -> None:
    plan = build_plan(variant(name))
    checked = 0
    for ap in plan.addons:
        chart = ap.addon.chart_for(plan.context)
        if chart is None:
            continue
        folder = upstream_data.chart_folder(chart)
        assert chart.version == upstream_data.published_version(chart), ap.addon.name
        assert not folder.deprecated, f"{ap.addon.name} pins a deprecated chart"
        documented = ap.addon.documented_in_comments.get(chart.name, ())
        assert folder.unknown_keys(ap.values, documented) == [], ap.addon.name
        assert folder.schema_errors(ap.values) == [], ap.addon.name
        checked += 1
    assert checked >= 4


@pytest.mark.parametrize("addon", registry.all_addons(), ids=lambda a: a.name)
def test_keys_documented_only_in_comments_really_are(addon: Any, upstream: None) -> None:
    for profile_name in VARIANTS:
        plan = build_plan(variant(profile_name))
        chart = addon.chart_for(plan.context)
        if chart is None:
            continue
        folder = upstream_data.chart_folder(chart)
        for path in addon.documented_in_comments.get(chart.name, ()):
            assert folder.documented_in_comments(path), path


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_custom_resource_validates_against_its_upstream_crd(
    name: str, upstream: None
) -> None:
    index = upstream_data.crd_index()
    files = render_tree(build_plan(variant(name)))
    validated = 0
    for path, text in files.items():
        if not path.endswith(".yaml"):
            continue
        for obj in yamlio.load_all(text):
            if _group(obj) in BUILT_IN_GROUPS:
                continue
            if _group(obj) in upstream_data.TOOL_CRD_GROUPS and \
                    not upstream_data.tool_crds_available():
                pytest.skip(f"{obj['kind']} needs the CRDs tools/build.sh copies "
                            f"({upstream_data.TOOL_CRDS})")
            problems = index.validate(obj)
            assert problems is not None, f"{path}: no upstream CRD for {obj['apiVersion']} " \
                                         f"{obj['kind']}"
            assert problems == [], f"{path}: {obj['kind']} {obj['metadata']['name']}: " \
                                   + "; ".join(map(str, problems))
            validated += 1
    assert validated > 10
