"""Profile variants the tests render: each exercises a different branch of the add-ons."""

from __future__ import annotations

from typing import Any

from outfitter.config import Profile, parse_profile

VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "minio": {"addons": {"object-storage": {"provider": "minio"}}},
    "garage": {"addons": {"object-storage": {"provider": "garage"}}},
    "external-s3": {"addons": {"object-storage": {
        "provider": "external", "endpoint": "https://nas.home.example.com:9000"}}},
    "dns01-wildcard": {"acme": {"challenge": "dns01", "wildcard": True}},
    "argocd-owned": {"addons": {"reloader": {"owner": "argocd"}}},
    "critical-deny": {"addons": {
        "velero": {"criticalNamespaces": ["home-assistant", "paperless"]},
        "kyverno": {"mode": "deny", "policies": {"require-labels": "audit"}},
    }},
}


def variant(name: str) -> Profile:
    return parse_profile(VARIANTS[name])
