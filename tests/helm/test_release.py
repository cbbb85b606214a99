"""helm-controller's reading of a HelmRelease: release name, namespace, values."""

from __future__ import annotations

import hashlib

import pytest

from outfitter.helm.release import Release, ValuesError, shorten, values_of
from outfitter.helm.values import merge


def test_release_name_is_the_name_or_the_target_namespace_prefixed_one() -> None:
    assert Release("tempo", "observability", {}).release_name == "tempo"
    assert Release("tempo", "flux-system", {"targetNamespace": "tracing"}).release_name == \
        "tracing-tempo"
    assert Release("tempo", "flux-system", {"targetNamespace": "tracing",
                                            "releaseName": "t"}).release_name == "t"
    assert Release("tempo", "flux-system", {"targetNamespace": "tracing"}) \
        .target_namespace == "tracing"
    assert Release("tempo", "observability", {}).target_namespace == "observability"


def test_a_name_over_53_characters_is_shortened_as_helm_controller_does() -> None:
    name = "a-very-long-target-namespace-name-for-the-homelab-and-more"
    short = shorten(name)
    assert len(name) > 53
    assert len(short) == 53
    assert short == name[:40] + "-" + hashlib.sha256(name.encode()).hexdigest()[:12]
    assert shorten("x" * 53) == "x" * 53
    release = Release("kube-prometheus-stack-operator", "flux-system",
                      {"targetNamespace": "monitoring-and-observability"})
    assert release.release_name == shorten(
        "monitoring-and-observability-kube-prometheus-stack-operator")


def test_values_from_in_order_then_inline_values() -> None:
    data = {
        ("ConfigMap", "apps", "base"): {"values.yaml": "a: {x: 1, y: 1}\nlist: [1, 2]\n"},
        ("Secret", "apps", "over"): {"custom": "a: {y: 2}\nlist: [3]\n",
                                     "token": "s3cr3t"},
    }
    release = Release("app", "apps", {
        "valuesFrom": [
            {"kind": "ConfigMap", "name": "base"},
            {"kind": "Secret", "name": "over", "valuesKey": "custom"},
            {"kind": "Secret", "name": "over", "valuesKey": "token", "targetPath": "auth.token"},
            {"kind": "ConfigMap", "name": "absent", "optional": True},
        ],
        "values": {"a": {"z": 3}, "list": [4]},
    })
    values = values_of(release, lambda k, ns, n: data.get((k, ns, n)))
    assert values == {"a": {"x": 1, "y": 2, "z": 3}, "list": [4], "auth": {"token": "s3cr3t"}}


def test_a_missing_values_source_fails_the_release() -> None:
    release = Release("app", "apps", {"valuesFrom": [{"kind": "Secret", "name": "gone"}]})
    with pytest.raises(ValuesError, match=r"spec.valuesFrom\[0\] Secret apps/gone"):
        values_of(release, lambda k, ns, n: None)
    keyless = Release("app", "apps", {"valuesFrom": [{"kind": "ConfigMap", "name": "cm",
                                                      "valuesKey": "v"}]})
    with pytest.raises(ValuesError, match="has no key 'v'"):
        values_of(keyless, lambda k, ns, n: {"other": ""})


def test_merge_replaces_lists_and_scalars_and_merges_maps() -> None:
    assert merge({"a": {"b": 1}, "c": [1]}, {"a": {"d": 2}, "c": [2]}) == \
        {"a": {"b": 1, "d": 2}, "c": [2]}
    assert merge({"a": 1}, {"a": {"b": 2}}) == {"a": {"b": 2}}
    assert merge({"a": {"b": 1}}, {"a": None}) == {"a": None}


def test_crds_follow_the_install_policy() -> None:
    assert Release("a", "b", {}).include_crds
    assert not Release("a", "b", {"install": {"crds": "Skip"}}).include_crds
