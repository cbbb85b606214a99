"""`outfitter init`: a profile from defaults, or from the user's roadmap document."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from outfitter import yamlio
from outfitter.addons import registry
from outfitter.config import EXISTING_STACK, Profile, addons_model, parse_profile
from outfitter.plan import build_plan
from outfitter.roadmap import Roadmap
from outfitter.roadmap_match import Finding, analyse

PROFILE_HEADER = """\
# outfitter cluster profile. `outfitter plan` shows what it costs; `outfitter render --out DIR`
# writes the Flux tree. Every key is optional; unknown keys are refused.
"""


@dataclass(frozen=True)
class Source:
    """Where the roadmap says something: its 1-based line and that line as written."""

    line: int
    text: str


@dataclass
class RoadmapMapping:
    addons: dict[str, str | None] = field(default_factory=dict)
    """add-on name -> roadmap priority (None: the roadmap gives none; the add-on's own)"""
    sources: dict[str, Source] = field(default_factory=dict)
    """add-on name -> the roadmap line that enabled it (the first one that asks for it)"""
    existing: list[str] = field(default_factory=list)
    unmapped: list[Source] = field(default_factory=list)
    """Checklist items and table rows naming nothing outfitter knows."""
    added: dict[str, str] = field(default_factory=dict)
    """add-on enabled because another needs it -> the one that needs it"""
    ambiguous: list[tuple[Source, str, tuple[str, ...]]] = field(default_factory=list)
    """(where, phrase, the add-ons it could mean), none enabled from it"""
    not_offered: dict[str, Source] = field(default_factory=dict)
    """named tool outfitter does not offer -> where first named"""
    offered_instead: dict[str, list[str]] = field(default_factory=dict)
    """named tool -> add-ons outfitter offers for what the same line asks"""
    declined: dict[str, Source] = field(default_factory=dict)
    """add-on the roadmap says it does not want (negated, or under "Won't do")"""
    done: dict[str, Source] = field(default_factory=dict)
    """add-on the roadmap lists as already there (under "Done"/"Already implemented")"""
    settings: dict[str, Source] = field(default_factory=dict)
    """profile setting (`secrets.provider=sops`) a named tool stands for -> where named"""
    chosen: dict[str, str] = field(default_factory=dict)
    """profile setting the roadmap leaves open but the profile needs -> why this value"""


def map_roadmap(roadmap: Roadmap) -> RoadmapMapping:
    out = RoadmapMapping()
    for finding in analyse(roadmap):
        _record(out, finding, Source(finding.entry.line + 1, roadmap.source(finding.entry)))
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
    # Add-ons' credentials need a secret store. A roadmap that names neither External
    # Secrets in use nor SOPS gets SOPS: Flux decrypts it with nothing more installed.
    if "external-secrets" not in out.existing and not any(
            s.startswith("secrets.provider=") for s in out.settings):
        out.chosen["secrets.provider=sops"] = (
            "the roadmap names no secret store in use (External Secrets or SOPS); "
            "Flux decrypts SOPS files itself")
    # What the roadmap also asks for elsewhere is not "declined" or "done".
    for name in out.addons:
        out.declined.pop(name, None)
        out.done.pop(name, None)
    return out


def _record(out: RoadmapMapping, finding: Finding, where: Source) -> None:
    if finding.mode in ("request", "done"):  # wanted or already in use: the profile says so
        for setting in finding.settings:
            out.settings.setdefault(setting, where)
    if finding.mode == "request":
        for name in finding.addons:
            if name not in out.addons:
                out.addons[name], out.sources[name] = finding.priority, where
        for phrase, choices in finding.ambiguous:
            out.ambiguous.append((where, phrase, choices))
        for tool in finding.tools:
            out.not_offered.setdefault(tool, where)
            for name, _ in finding.offered_instead:
                offered = out.offered_instead.setdefault(tool, [])
                if name not in offered:
                    offered.append(name)
        for name in finding.negated:
            out.declined.setdefault(name, where)
    elif finding.mode == "done":
        for name in finding.addons:
            out.done.setdefault(name, where)
        for key in finding.existing:
            if key not in out.existing:
                out.existing.append(key)
    elif finding.mode == "wont":
        for name in finding.addons + finding.negated:
            out.declined.setdefault(name, where)
    if finding.unmapped:
        out.unmapped.append(where)


def profile_data(mapping: RoadmapMapping | None = None, repo_url: str | None = None,
                 **cluster: Any) -> dict[str, Any]:
    """Profile data to write: everything spelled out, so the file documents itself;
    `repo_url` is the checkout's origin."""
    data: dict[str, Any] = {}
    if cluster:
        data["cluster"] = cluster
    if repo_url:
        data["gitops"] = {"repoURL": repo_url}
    if mapping is not None:
        data["existing"] = [e for e in EXISTING_STACK if e in mapping.existing]
        # An add-on a roadmap cannot name (outfitter's own status reader) keeps its default.
        data["addons"] = {
            a.name: (_enabled(mapping.addons[a.name]) if a.name in mapping.addons
                     else {"enabled": False})
            for a in registry.all_addons() if a.roadmap_names
        }
        for setting in [*mapping.settings, *mapping.chosen]:
            path, _, value = setting.partition("=")
            *parents, key = path.split(".")
            node = data
            for part in parents:
                node = node.setdefault(part, {})
            node[key] = value
    profile = parse_profile(data)  # raises ProfileError on a combination that cannot work
    build_plan(profile)  # and on objects the existing stack cannot serve
    return dump_profile(profile)


def _enabled(priority: str | None) -> dict[str, Any]:
    return {"enabled": True, "priority": priority} if priority else {"enabled": True}


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
