"""Profile validation: every bad profile gives one line per problem with its key path."""

from __future__ import annotations

from typing import Any

import pytest

from outfitter.config import ProfileError, default_profile, load_profile, parse_profile
from outfitter.plan import build_plan


def problems(data: Any) -> list[str]:
    with pytest.raises(ProfileError) as err:
        parse_profile(data)
    return err.value.problems


def test_the_default_profile_mirrors_the_roadmap() -> None:
    profile = default_profile()
    assert profile.cluster.nodes.count == 3
    assert "kube-prometheus-stack" in profile.existing and "linkerd" in profile.existing
    for name in ("object-storage", "velero", "cert-manager", "kyverno", "reloader"):
        assert profile.addon_options(name).enabled


def test_unknown_keys_are_refused_with_their_path() -> None:
    assert problems({"cluster": {"nodez": 3}}) == ["cluster.nodez: unknown key"]
    assert problems({"addons": {"velero": {"schedule": "x"}}}) == [
        "addons.velero.schedule: unknown key"]


def test_wrong_types_name_the_key() -> None:
    lines = problems({"cluster": {"nodes": {"count": "three", "memory": "lots"}}})
    assert any(line.startswith("cluster.nodes.count:") for line in lines)
    assert any(line.startswith("cluster.nodes.memory:") for line in lines)
    assert len(lines) == 2


def test_unknown_add_on_lists_the_known_ones() -> None:
    [line] = problems({"addons": {"vault": {}}})
    assert line.startswith("addons.vault: unknown add-on (known: ")
    assert "velero" in line


def test_velero_without_object_storage() -> None:
    lines = problems({"addons": {"object-storage": {"enabled": False}}})
    assert ("addons.velero: needs object-storage, which is disabled "
            "(enable addons.object-storage or disable velero)") in lines


def test_velero_alone_may_go_without_object_storage_when_velero_is_off() -> None:
    profile = parse_profile({"addons": {"object-storage": {"enabled": False},
                                        "velero": {"enabled": False},
                                        **_off_if_present("loki", "tempo", "longhorn")}})
    assert not profile.addon_options("velero").enabled


def _off_if_present(*names: str) -> dict[str, Any]:
    from outfitter.addons import registry

    return {n: {"enabled": False} for n in names if n in registry.names()}


def test_an_add_on_owned_by_both_flux_and_argocd() -> None:
    [line] = problems({"gitops": {"argocdApplications": ["reloader"]}})
    assert line.startswith("addons.reloader.owner: owned by both Flux and Argo CD")
    parse_profile({"gitops": {"argocdApplications": ["reloader"]},
                   "addons": {"reloader": {"owner": "argocd"}}})


def test_argocd_owner_needs_argocd_in_the_existing_stack() -> None:
    lines = problems({"existing": ["flux"], "addons": {"reloader": {"owner": "argocd"}}})
    assert "addons.reloader.owner: argocd, but argocd is not in existing" in lines


def test_external_object_storage_needs_an_endpoint() -> None:
    assert problems({"addons": {"object-storage": {"provider": "external"}}}) == [
        "addons.object-storage.endpoint: an external object store needs its endpoint, "
        "e.g. https://nas.home.example.com:9000"]


def test_unknown_kyverno_policy() -> None:
    [line] = problems({"addons": {"kyverno": {"policies": {"no-latest": "deny"}}}})
    assert line.startswith("addons.kyverno.policies.no-latest: unknown policy")


def test_every_problem_is_reported_at_once() -> None:
    lines = problems({"cluster": {"name": "Bad Name", "extra": 1},
                      "acme": {"email": "nope"}, "addons": {"nope": {}}})
    assert len(lines) == 4
    assert all("\n" not in line for line in lines)


def test_broken_yaml_points_at_the_line(tmp_path: Any) -> None:
    path = tmp_path / "outfitter.yaml"
    path.write_text("cluster:\n  name: x\n  nodes: [\n")
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    [line] = err.value.problems
    assert line.startswith(f"{path}:4: not valid YAML")


def test_a_profile_that_is_not_a_mapping() -> None:
    assert problems(["cluster"]) == ["(profile): must be a mapping of keys"]


def test_the_ingress_provider_must_be_in_the_existing_stack() -> None:
    assert problems({"existing": ["flux"], "ingress": {"provider": "gateway-api"}}) == [
        "ingress.provider: gateway-api needs envoy-gateway in existing (UIs are protected "
        "with its SecurityPolicy basic auth)"]
    assert "ingress.provider: traefik, but existing lists envoy-gateway and not traefik (set " \
        "ingress.provider: gateway-api)" in problems({"existing": ["flux", "envoy-gateway"]})
    assert problems({"secrets": {"provider": "vault"}}) == [
        "secrets.provider: Input should be 'external-secrets' or 'sops'"]
    assert problems({"cluster": {"nodes": {"os": "windows"}}}) == [
        "cluster.nodes.os: Input should be 'generic' or 'talos'"]


def test_a_cluster_template_profile_plans_without_external_secrets_or_traefik() -> None:
    profile = parse_profile({"existing": ["flux", "envoy-gateway"],
                             "secrets": {"provider": "sops"},
                             "ingress": {"provider": "gateway-api"}})
    plan = build_plan(profile)  # velero, loki, tempo, longhorn, cost: no longer refused
    assert {"velero", "loki", "tempo", "longhorn", "cost"} <= {ap.addon.name for ap in plan.addons}
    groups = {str(o["apiVersion"]).rpartition("/")[0] for ap in plan.addons
              for o in ap.rendered.app + ap.rendered.config}
    assert not groups & {"external-secrets.io", "traefik.io"}
    with pytest.raises(ProfileError) as err:
        build_plan(parse_profile({"existing": ["flux", "envoy-gateway"],
                                  "ingress": {"provider": "gateway-api"}}))
    assert ("addons.velero: renders external-secrets.io objects, but external-secrets is not "
            "in existing") in err.value.problems
