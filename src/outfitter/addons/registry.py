"""The list of add-ons. Adding one is: write its module, add it here."""

from __future__ import annotations

from functools import cache
from importlib import import_module

from outfitter.addons.base import Addon

# Module names under outfitter.addons, each exporting ADDON. Order is only a tie-breaker;
# the plan orders by dependencies, then roadmap priority, then name.
MODULES = (
    "object_storage",
    "velero",
    "cert_manager",
    "kyverno",
    "reloader",
    "trivy_operator",
    "falco",
    "longhorn",
    "renovate",
    "descheduler",
    "keda",
    "cost",
    "loki",
    "log_shipper",
    "tempo",
    "otel_collector",
    "status_reader",
    "ci",
)


@cache
def all_addons() -> tuple[Addon, ...]:
    found = []
    for module in MODULES:
        addon = import_module(f"outfitter.addons.{module}").ADDON
        assert isinstance(addon, Addon), module
        found.append(addon)
    return tuple(found)


def get(name: str) -> Addon:
    for addon in all_addons():
        if addon.name == name:
            return addon
    raise KeyError(name)


def names() -> tuple[str, ...]:
    return tuple(a.name for a in all_addons())
