"""The add-on contract: everything the engine (plan, render, validate, status) may ask of an
add-on. An add-on module is a room that holds all that concerns one add-on; the engine only
ever speaks to it through this class.
"""

from __future__ import annotations

from abc import ABC
from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from outfitter.addons.context import Context
    from outfitter.addons.storage_contract import ObjectStore
    from outfitter.config import Profile
    from outfitter.helm.checks import MetricCatalogue
    from outfitter.status.checks import Check


class Priority(IntEnum):
    """The roadmap's priorities; lower sorts first within a wave."""

    HIGH = 1
    MEDIUM = 2
    LOW = 3


Owner = Literal["flux", "argocd"]


class ChartPin(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str | None = Field(
        None, description="chart version to install instead of outfitter's pin (Renovate's "
                          "bump can live here)")


class Installed(BaseModel):
    """An add-on already in the cluster, installed outside outfitter."""

    model_config = ConfigDict(extra="forbid")

    namespace: str | None = Field(
        None, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        description="where the installed add-on runs")
    release: str | None = Field(
        None, description="its Helm release name (default: outfitter's release name)")


class AddonOptions(BaseModel):
    """Options every add-on takes in the profile; add-ons subclass it with their own."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    enabled: bool = True
    owner: Owner = "flux"
    priority: Literal["high", "medium", "low"] | None = None
    """The roadmap's priority; None keeps the add-on's own."""
    chart: ChartPin = Field(default_factory=ChartPin)
    values: dict[str, Any] = Field(
        default_factory=dict,
        description="Helm values deep-merged over the ones outfitter renders")
    installed: Installed | bool | None = Field(
        None, description="already installed (not by outfitter): {namespace, release}; "
                          "outfitter installs nothing for it and wires the others to it")

    @property
    def adopted(self) -> Installed | None:
        """Where the add-on already runs, when the profile says it is installed."""
        return self.installed if isinstance(self.installed, Installed) else None


OptionsT = TypeVar("OptionsT", bound=AddonOptions)


def options_of(profile: Profile, name: str, cls: type[OptionsT]) -> OptionsT:
    """An add-on's options from the profile, as the add-on's own Options type."""
    options = profile.addon_options(name)
    if not isinstance(options, cls):
        raise TypeError(f"addons.{name}: options are {type(options).__name__}, not "
                        f"{cls.__name__}")
    return options


@dataclass(frozen=True)
class Chart:
    """A pinned Helm chart. `repository` is https://… (HelmRepository), oci://… (OCIRepository,
    the full chart reference) or a git URL with `git_path` (GitRepository, for charts that
    are not published to a Helm repository)."""

    name: str
    version: str
    repository: str
    git_path: str | None = None
    git_ref: str | None = None
    """For a Git-hosted chart: the tag that carries `version`."""

    @property
    def source_kind(self) -> Literal["OCIRepository", "HelmRepository", "GitRepository"]:
        if self.git_path is not None:
            return "GitRepository"
        if self.repository.startswith("oci://"):
            return "OCIRepository"
        return "HelmRepository"


@dataclass(frozen=True)
class Placement:
    """Where an add-on's release runs: outfitter's namespace and release, or the adopted
    add-on's (`installed: {namespace, release}`)."""

    namespace: str
    release: str

    def fullname(self, chart: str) -> str:
        """The name a chart's Services take from the release (Helm's `<chart>.fullname`
        rule, the same in every chart consumed here): the release alone when it contains
        the chart name, else `<release>-<chart>`; at most 63 characters."""
        name = self.release if chart in self.release else f"{self.release}-{chart}"
        return name[:63].rstrip("-")


WorkloadKind = Literal["Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job"]


@dataclass(frozen=True)
class Workload:
    """A pod-running object the chart creates, and where its resources sit in the values.

    The budget in `plan` is read from the values outfitter renders through these paths, so
    the numbers a user sees are the numbers that will be deployed.
    """

    name: str
    kind: WorkloadKind
    resources_path: str
    replicas_path: str | None = None
    enabled_path: str | None = None
    containers: int = 1  # same resources block used by this many containers (sidecars)


@dataclass(frozen=True)
class ProfileProblem:
    path: str
    message: str


@dataclass
class Rendered:
    """What an add-on contributes to the tree besides its HelmRelease.

    `app` objects are applied with the HelmRelease (they only use CRDs that exist before the
    add-on: External Secrets, prometheus-operator, Traefik). `config` objects use the CRDs
    the add-on itself brings, so they go in a second Flux Kustomization that dependsOn the
    first. `files` are extra non-Kubernetes files (path relative to the add-on folder);
    `repository_files` belong at the Git repository's root (e.g. renovate.json).
    """

    app: list[dict[str, Any]] = field(default_factory=list)
    config: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    repository_files: dict[str, str] = field(default_factory=dict)


class Addon(ABC):
    name: ClassVar[str]
    title: ClassVar[str]
    namespace: ClassVar[str]
    priority: ClassVar[Priority]
    roadmap_names: ClassVar[tuple[str, ...]] = ()
    """Lower-case names under which the roadmap may list this add-on."""
    roadmap_aliases: ClassVar[tuple[str, ...]] = ()
    """More lower-case names a roadmap may call it by (products it stands for, spellings)."""
    roadmap_capabilities: ClassVar[tuple[str, ...]] = ()
    """Lower-case phrases for what it does, as roadmaps put it ("backup", "log aggregation"):
    an entry that names no tool asks for the add-ons whose phrases it uses. A phrase several
    add-ons declare is ambiguous; one also in roadmap_names counts as a capability."""
    depends_on: ClassVar[tuple[str, ...]] = ()
    """Add-ons that must be enabled and installed first."""
    after: ClassVar[tuple[str, ...]] = ()
    """Add-ons that, when enabled, go first (no requirement)."""
    companion: ClassVar[bool] = False
    """Comes with what it depends on: a roadmap listing that brings this one too."""
    crds: ClassVar[tuple[str, ...]] = ()
    """API groups of the CRDs the add-on brings (shown in the plan)."""
    Options: ClassVar[type[AddonOptions]] = AddonOptions
    chart: ClassVar[Chart | None] = None
    release_name: ClassVar[str | None] = None
    """Helm release name, when it is not the add-on name."""
    workloads: ClassVar[tuple[Workload, ...]] = ()
    mesh: ClassVar[Literal["enabled", "disabled"] | None] = None
    """Linkerd injection for the add-on's namespace when the cluster runs Linkerd: `enabled`
    for plain services, `disabled` where a proxy breaks things (node agents, host network,
    webhooks that must answer before the mesh is up). None leaves the namespace alone."""
    metrics: ClassVar[MetricCatalogue | None] = None
    """The metrics the component exports, where they are known: the metric names of
    PrometheusRules (the tree's and the charts') are checked against it."""
    documented_in_comments: ClassVar[dict[str, tuple[str, ...]]] = {}
    """Per chart name: value paths its values.yaml documents only as commented examples."""
    stateful: ClassVar[bool] = False
    """Holds data (volumes, buckets): its namespace is never pruned, and a failed install
    or upgrade is retried or left for a person instead of rolled back or uninstalled."""

    def release_for(self, profile: Profile) -> str:
        """Helm release name (also the HelmRelease object's name)."""
        return self.release_name or self.name

    def workloads_for(self, profile: Profile) -> tuple[Workload, ...]:
        """The chart's pod-running objects for this profile (default: `workloads`)."""
        return self.workloads

    def options(self, profile: Profile) -> AddonOptions:
        return profile.addon_options(self.name)

    def enabled(self, profile: Profile) -> bool:
        return self.options(profile).enabled

    def priority_for(self, profile: Profile) -> Priority:
        chosen = self.options(profile).priority
        return Priority[chosen.upper()] if chosen else self.priority

    def chart_for(self, ctx: Context) -> Chart | None:
        """The chart to install; an add-on whose chart depends on options overrides this."""
        return self.chart

    def pinned_chart(self, ctx: Context) -> Chart | None:
        """The chart as rendered: the add-on's own, at the profile's `chart.version` if set."""
        chart = self.chart_for(ctx)
        version = self.options(ctx.profile).chart.version
        if chart is None or version is None:
            return chart
        return replace(chart, version=version, git_ref=version if chart.git_path else None)

    def adopted(self, profile: Profile) -> Installed | None:
        """Where the add-on already runs when the profile adopts it (outfitter installs
        nothing for it then)."""
        return self.options(profile).adopted

    def placement(self, profile: Profile) -> Placement:
        """Where the release runs: the adopted one's namespace and release, else outfitter's."""
        adopted = self.adopted(profile)
        return Placement(
            (adopted.namespace if adopted is not None else None) or self.namespace,
            (adopted.release if adopted is not None else None) or self.release_for(profile))

    def endpoints(self, profile: Profile) -> dict[str, str]:
        """Addresses this add-on serves the others, by name (e.g. `push`), derived from
        `placement` so they follow an adopted install; the others read them through
        `Context.endpoint`."""
        return {}

    def cluster_issuer(self, profile: Profile) -> str | None:
        """The ClusterIssuer every Certificate and issuerRef outfitter writes names, when this
        add-on issues certificates."""
        return None

    def volumes(self, ctx: Context) -> tuple[str, ...]:
        """What holds this add-on's data in the cluster, said when it is turned off."""
        return ("its PersistentVolumeClaims",) if self.stateful else ()

    def in_cluster(self, ctx: Context) -> bool:
        """Whether it puts anything in the cluster (Renovate and an external S3 do not)."""
        rendered = self.resources(ctx)
        return self.chart_for(ctx) is not None or bool(rendered.app or rendered.config)

    def requires(self, profile: Profile) -> tuple[str, ...]:
        """Hard dependencies for this profile (default: the class's `depends_on`)."""
        return self.depends_on

    def check_profile(self, profile: Profile) -> list[ProfileProblem]:
        """Combinations the profile cannot have; one problem per line."""
        return []

    def values(self, ctx: Context) -> dict[str, Any]:
        return {}

    def resources(self, ctx: Context) -> Rendered:
        return Rendered()

    def lint_exceptions(self, ctx: Context) -> dict[str, str]:
        """validate rules the chart's output breaks by design (rule -> why), silenced on the
        HelmRelease with `outfitter.dev/ignore` (e.g. a node agent's hostPath volumes)."""
        return {}

    def post_renderers(self, ctx: Context) -> list[dict[str, Any]]:
        """HelmRelease `spec.postRenderers`: for what the chart's values cannot set (e.g.
        resources of containers the chart leaves unbounded)."""
        return []

    def object_store(self, profile: Profile) -> ObjectStore | None:
        """The S3 contract, when this add-on provides object storage to the others."""
        return None

    def buckets(self, ctx: Context) -> tuple[str, ...]:
        """Object storage buckets this add-on needs (created by the object storage add-on)."""
        return ()

    def notes(self, ctx: Context) -> list[str]:
        """Advice shown by `plan`: upstream changes, choices made and why."""
        return []

    def checks(self, ctx: Context) -> list[Check]:
        """Live checks beyond "installed and healthy" (which the engine runs for every
        add-on), each naming the roadmap checklist items it settles."""
        return []
