"""The existing stack: one record per component, read alike by the profile, init and status."""

from __future__ import annotations

import pytest

from outfitter import stack
from outfitter.config import DEFAULT_EXISTING, EXISTING_STACK, ProfileError, parse_profile
from outfitter.status.existing import existing_checks


def test_the_profile_accepts_exactly_the_components_and_defaults_to_the_roadmaps() -> None:
    every = [c.key for c in stack.COMPONENTS]
    assert parse_profile({"existing": every}).existing == every
    with pytest.raises(ProfileError, match="existing"):
        parse_profile({"existing": ["flux", "nomad"]})
    assert "envoy-gateway" in EXISTING_STACK and "envoy-gateway" not in DEFAULT_EXISTING
    assert parse_profile({}).existing == list(DEFAULT_EXISTING)


def test_status_checks_every_listed_component_by_its_record() -> None:
    profile = parse_profile({"existing": list(EXISTING_STACK)})
    checks = existing_checks(profile)
    assert [c.key for c in checks] == [f"existing.{k}" for k in EXISTING_STACK]
    assert [c.title for c in checks] == [c.title for c in stack.COMPONENTS]


@pytest.mark.parametrize(("key", "workload", "expected"), [
    ("flux", ("Deployment", "flux-system", "kustomize-controller"), True),
    ("traefik", ("Deployment", "network", "traefik"), True),
    ("traefik", ("Deployment", "network", "traefik-mesh"), False),
    ("fluent-bit", ("DaemonSet", "logging", "fluent-bit"), True),
    ("fluent-bit", ("Deployment", "logging", "fluent-bit"), False),
    ("linkerd", ("Deployment", "linkerd", "linkerd-destination"), True),
])
def test_a_component_recognises_its_own_workloads(
        key: str, workload: tuple[str, str, str], expected: bool) -> None:
    assert stack.BY_KEY[key].runs(*workload) is expected
