"""Renovate: pull requests that keep the pinned charts and images of the tree up to date.

Renovate does not run in the cluster: the Renovate GitHub App (or a self-hosted runner)
reads `renovate.json` from the GitOps repository. So this add-on has no chart, no
workloads and no objects; its whole output is that file, at the repository's root.

What the file says:
- the `flux` manager reads every YAML file of the tree (HelmRelease with its HelmRepository,
  OCIRepository and GitRepository), on top of its default `gotk-components.yaml`;
- `helm-values` reads the values inside each `helmrelease.yaml` (image repository/tag);
- `kubernetes` reads `image:` lines anywhere in the tree;
- `argocd` reads the Applications of add-ons Argo CD owns;
- one group per add-on (chart and images in one PR, matched by the add-on's folder), and
  one for Flux itself: `fluxcd/flux2` with the controller images after `flux bootstrap`, or
  the flux-operator and flux-instance charts (and the operator's image) when flux-operator
  installs Flux (`flux.install: flux-operator`);
- patch updates of what outfitter pins merge themselves after a few days (option
  `automergePatch`); minor and major updates always wait for a review.

Renovate 43 renamed `fileMatch` to `managerFilePatterns` (regex `/…/` or glob), which is what
this file uses.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import Field

from outfitter.addons import registry
from outfitter.addons.base import (
    Addon,
    AddonOptions,
    Priority,
    ProfileProblem,
    Rendered,
    options_of,
)
from outfitter.addons.context import Context
from outfitter.config import Profile

SCHEMA_URL = "https://docs.renovatebot.com/renovate-schema.json"
FILE = "renovate.json"
AUTOMERGE_AFTER = "3 days"
_TIMEZONE = re.compile(r"^(UTC|[A-Z][A-Za-z_]+(/[A-Za-z0-9_+-]+){1,2})$")


class RenovateOptions(AddonOptions):
    automerge_patch: bool = Field(
        True, alias="automergePatch",
        description="merge patch updates of the pinned charts and images without review")
    schedule: list[str] = Field(
        default_factory=lambda: ["* 0-5 * * 6"],
        description="when Renovate may open branches (cron, minutes field `*`)")
    timezone: str | None = Field(None, description="IANA time zone of the schedule")
    extends: list[str] = Field(default_factory=lambda: ["config:recommended"])


def _options(profile: Profile) -> RenovateOptions:
    return options_of(profile, "renovate", RenovateOptions)


def _schedule_problems(schedule: list[str]) -> list[ProfileProblem]:
    if not schedule:
        return [ProfileProblem("schedule", "must list at least one time, e.g. '* 0-5 * * 6'")]
    problems = []
    for i, entry in enumerate(schedule):
        fields = entry.split()
        if entry[:1].isdigit() or entry[:1] == "*":  # cron rather than Renovate's text form
            if len(fields) != 5:
                problems.append(ProfileProblem(f"schedule[{i}]",
                                               "must be a 5-field cron expression"))
            elif fields[0] != "*":
                problems.append(ProfileProblem(
                    f"schedule[{i}]", "the minutes field must be `*`: Renovate schedules by "
                                      "the hour"))
    return problems


class Renovate(Addon):
    name = "renovate"
    title = "Renovate"
    namespace = "renovate"  # nothing is installed there; the namespace only names the add-on
    priority = Priority.LOW
    roadmap_names = ("renovate",)
    roadmap_aliases = ("renovatebot", "renovate bot")
    roadmap_capabilities = ("dependency update", "automated dependency updates", "dependency bot",
                            "update prs", "version bumps")
    Options = RenovateOptions

    def check_profile(self, profile: Profile) -> list[ProfileProblem]:
        opts = _options(profile)
        problems = _schedule_problems(opts.schedule)
        if opts.timezone is not None and not _TIMEZONE.match(opts.timezone):
            problems.append(ProfileProblem(
                "timezone", "must be an IANA time zone such as Europe/Berlin or UTC"))
        return problems

    def config(self, ctx: Context) -> dict[str, Any]:
        """The Renovate configuration, keys in the order a reader expects them."""
        opts = _options(ctx.profile)
        root = ctx.profile.gitops.path.strip("/")
        tree = f"{root}/**"
        config: dict[str, Any] = {"$schema": SCHEMA_URL, "extends": list(opts.extends)}
        if opts.timezone is not None:
            config["timezone"] = opts.timezone
        config["schedule"] = list(opts.schedule)
        config["flux"] = {"managerFilePatterns": [f"{root}/**/*.yaml"]}
        config["helm-values"] = {"managerFilePatterns": [f"{root}/**/helmrelease.yaml"]}
        config["kubernetes"] = {"managerFilePatterns": [f"{root}/**/*.yaml"]}
        if self._argocd_owned(ctx):
            config["argocd"] = {"managerFilePatterns": [f"{root}/**/application.yaml"]}
        rules: list[dict[str, Any]] = [self._flux_rule(ctx)]
        for addon in self._charted(ctx):
            rules.append({
                "description": f"{addon.title}: chart and images in one pull request",
                "matchFileNames": [f"{root}/{addon.namespace}/{addon.name}/**"],
                "groupName": addon.name,
            })
        if opts.automerge_patch:
            rules.append({
                "description": "Patch updates of what outfitter pins merge themselves",
                "matchFileNames": [tree],
                "matchUpdateTypes": ["patch"],
                "minimumReleaseAge": AUTOMERGE_AFTER,
                "automerge": True,
            })
        rules.append({
            "description": "Minor and major updates always wait for a review",
            "matchUpdateTypes": ["minor", "major"],
            "automerge": False,
        })
        config["packageRules"] = rules
        return config

    @staticmethod
    def _flux_rule(ctx: Context) -> dict[str, Any]:
        if ctx.profile.flux.install == "flux-operator":
            # The operator and the chart of its FluxInstance move together: a flux-instance
            # release expects the operator of the same release.
            return {
                "description": "Flux: flux-operator and flux-instance together",
                "matchPackageNames": ["ghcr.io/controlplaneio-fluxcd/**",
                                      "/(^|/)flux-(operator|instance)$/"],
                "groupName": "flux-operator",
            }
        return {
            "description": "Flux: the system manifest and the controller images together",
            "matchPackageNames": ["fluxcd/flux2", "ghcr.io/fluxcd/**"],
            "groupName": "flux",
        }

    def _charted(self, ctx: Context) -> list[Addon]:
        return sorted(
            (a for a in registry.all_addons()
             if a.name != self.name and a.enabled(ctx.profile) and a.chart_for(ctx) is not None
             and a.adopted(ctx.profile) is None),
            key=lambda a: a.name)

    def _argocd_owned(self, ctx: Context) -> bool:
        return any(a.enabled(ctx.profile) and a.options(ctx.profile).owner == "argocd"
                   for a in registry.all_addons())

    def render(self, ctx: Context) -> str:
        return json.dumps(self.config(ctx), indent=2, sort_keys=False) + "\n"

    def resources(self, ctx: Context) -> Rendered:
        # A repository file: Renovate reads it from the repository's root, not from the tree.
        return Rendered(repository_files={FILE: self.render(ctx)})

    def notes(self, ctx: Context) -> list[str]:
        opts = _options(ctx.profile)
        notes = [
            f"Renovate runs outside the cluster: {FILE} is written at the repository's root "
            "(Renovate also reads .github/renovate.json5 — move it there if you prefer). "
            "Install the Renovate GitHub App on the repository, or run Renovate self-hosted "
            "(its container image or GitHub Action) with a token that can open pull requests.",
            "Updates are grouped per add-on and for Flux"
            + (" (flux-operator with flux-instance)"
               if ctx.profile.flux.install == "flux-operator" else "")
            + "; branches open on "
            f"{', '.join(repr(s) for s in opts.schedule)}"
            + (f" ({opts.timezone})." if opts.timezone else " (UTC)."),
        ]
        if opts.automerge_patch:
            notes.append(f"Patch updates merge themselves {AUTOMERGE_AFTER} after release when "
                         "the repository's checks pass (give it some, e.g. `kubectl kustomize` of "
                         "the tree); minor and major updates wait for a review.")
        else:
            notes.append("Nothing merges itself (automergePatch: false).")
        return notes


ADDON = Renovate()
