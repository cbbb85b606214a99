"""`outfitter init`: a profile from defaults, or from the user's roadmap document."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from outfitter import yamlio
from outfitter.addons import registry
from outfitter.config import EXISTING_STACK, Profile, addons_model, parse_profile
from outfitter.plan import build_plan
from outfitter.roadmap import Roadmap, map_existing

PROFILE_HEADER = """\
# outfitter cluster profile. `outfitter plan` shows what it costs; `outfitter render --out DIR`
# writes the Flux tree. Every key is optional; unknown keys are refused.
"""


@dataclass
class RoadmapMapping:
    addons: dict[str, str] = field(default_factory=dict)
    """add-on name -> roadmap priority"""
    existing: list[str] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    added: dict[str, str] = field(default_factory=dict)
    """add-on enabled because another needs it -> the one that needs it"""


def map_roadmap(roadmap: Roadmap) -> RoadmapMapping:
    out = RoadmapMapping()
    by_name = {n: a.name for a in registry.all_addons() for n in a.roadmap_names}
    for section in roadmap.sections:
        name = by_name.get(section.name.lower())
        if name is None:
            out.unmapped.append(section.name)
        elif name not in out.addons:
            out.addons[name] = section.priority or "low"
    # A listed add-on brings what it cannot work without (Velero needs object storage) and
    # its companions (Loki its log shipper).
    pending = list(out.addons)
    while pending:
        addon = registry.get(pending.pop())
        brings = list(addon.depends_on) + [
            c.name for c in registry.all_addons() if c.companion and addon.name in c.depends_on]
        for other in brings:
            if other not in out.addons:
                out.addons[other] = out.addons[addon.name]
                out.added[other] = addon.name
                pending.append(other)
    for item in roadmap.existing:
        key = map_existing(item)
        if key is None:
            out.unmapped.append(item)
        elif key not in out.existing:
            out.existing.append(key)
    return out


def profile_data(mapping: RoadmapMapping | None = None, **cluster: Any) -> dict[str, Any]:
    """Profile data to write: everything spelled out, so the file documents itself."""
    data: dict[str, Any] = {}
    if cluster:
        data["cluster"] = cluster
    if mapping is not None:
        data["existing"] = [e for e in EXISTING_STACK if e in mapping.existing]
        # An add-on a roadmap cannot name (outfitter's own status reader) keeps its default.
        data["addons"] = {
            a.name: ({"enabled": True, "priority": mapping.addons[a.name]}
                     if a.name in mapping.addons else {"enabled": False})
            for a in registry.all_addons() if a.roadmap_names
        }
    profile = parse_profile(data)  # raises ProfileError on a combination that cannot work
    build_plan(profile)  # and on objects the existing stack cannot serve
    return dump_profile(profile)


def dump_profile(profile: Profile) -> dict[str, Any]:
    data = profile.model_dump(by_alias=True, mode="json", exclude={"addons"})
    data["addons"] = {
        a.name: profile.addon_options(a.name).model_dump(by_alias=True, mode="json")
        for a in registry.all_addons()
    }
    return data


def profile_text(data: dict[str, Any]) -> str:
    return PROFILE_HEADER + yamlio.dump(data)


SCHEMA_SUFFIX = ".schema.json"


def profile_schema() -> dict[str, Any]:
    """JSON schema of outfitter.yaml, from the pydantic models (editors complete and check
    the profile with it). `addons` is typed per add-on, by each add-on's own Options."""
    schema = Profile.model_json_schema(by_alias=True)
    addons = addons_model().model_json_schema(by_alias=True)
    defs = {**schema.pop("$defs", {}), **addons.pop("$defs", {})}
    addons["description"] = "per add-on options; every add-on also takes enabled, owner, " \
        "priority, chart.version, values and installed"
    schema["properties"]["addons"] = addons
    schema["$defs"] = dict(sorted(defs.items()))
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "outfitter cluster profile"
    return schema


def schema_modeline(schema_name: str) -> str:
    return f"# yaml-language-server: $schema=./{schema_name}\n"
