"""The cluster profile (`outfitter.yaml`): pydantic models, unknown keys refused.

Errors come out one per line with the key path, the way a person fixes them: top to bottom.
Checks that span add-ons (a disabled dependency, an add-on owned twice) live here; checks that
concern one add-on's options live in that add-on's room (`Addon.check_profile`).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator

from outfitter import stack, yamlio
from outfitter.addons import registry
from outfitter.addons.base import AddonOptions
from outfitter.errors import InputError
from outfitter.quantity import cpu_millis, memory_mib

EXISTING_STACK = stack.KEYS  # one record per component in outfitter.stack
DEFAULT_EXISTING = stack.ROADMAP_STACK


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Nodes(_Strict):
    count: int = Field(3, ge=1, le=1000)
    os: Literal["generic", "talos"] = Field(
        "generic", description="talos: notes name Talos system extensions and machine config")
    cpu: str = Field("4", description="allocatable CPU per node, e.g. '4' or '3500m'")
    memory: str = Field("16Gi", description="allocatable memory per node, e.g. '16Gi'")

    @field_validator("cpu")
    @classmethod
    def _cpu(cls, v: str) -> str:
        cpu_millis(v)
        return v

    @field_validator("memory")
    @classmethod
    def _memory(cls, v: str) -> str:
        memory_mib(v)
        return v

    @property
    def cpu_millis(self) -> int:
        return cpu_millis(self.cpu)

    @property
    def memory_mib(self) -> int:
        return memory_mib(self.memory)


class Cluster(_Strict):
    name: str = Field("homelab", pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    domain: str = Field("home.example.com", pattern=r"^[a-z0-9.-]+\.[a-z]{2,}$")
    nodes: Nodes = Nodes()
    storage_class: str = Field("local-path", alias="storageClass")
    budget_warn_percent: int = Field(70, alias="budgetWarnPercent", ge=1, le=100)


class Dns01(_Strict):
    provider: Literal["cloudflare", "route53", "digitalocean"] = "cloudflare"
    token_key: str = Field("cloudflare-api-token", alias="tokenKey",
                           description="secret store item holding the DNS API token")


class Acme(_Strict):
    email: str = Field("admin@home.example.com", pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    challenge: Literal["http01", "dns01"] = "http01"
    dns01: Dns01 = Dns01()
    wildcard: bool = False


class SecretStore(_Strict):
    name: str = "onepassword"
    kind: Literal["ClusterSecretStore", "SecretStore"] = "ClusterSecretStore"


# The address a profile has until the user (or `init`, from the checkout's origin) sets it.
EXAMPLE_REPO_URL = "ssh://git@git.home.example.com/homelab/cluster.git"


class GitOps(_Strict):
    path: str = Field("kubernetes/apps", description="folder of the tree inside the Git repo")

    @field_validator("path")
    @classmethod
    def _inside(cls, v: str) -> str:
        parts = PurePosixPath(v).parts
        if not v.strip("/. ") or v.startswith("/") or "\\" in v or ".." in parts:
            raise ValueError("must be a relative folder inside the repository, e.g. "
                             "kubernetes/apps (no leading /, no ..)")
        return v
    source: str = Field("flux-system", description="Flux GitRepository the tree is read from")
    repo_url: str = Field(EXAMPLE_REPO_URL, alias="repoURL")
    argocd_namespace: str = Field("argocd", alias="argocdNamespace")
    argocd_applications: list[str] = Field(
        default_factory=list, alias="argocdApplications",
        description="apps Argo CD already manages; an add-on here must be owned by argocd",
    )


class Monitoring(_Strict):
    namespace: str = "monitoring"
    prometheus_release: str = Field("kube-prometheus-stack", alias="prometheusRelease")
    prometheus_url: str = Field(
        "http://kube-prometheus-stack-prometheus.monitoring.svc:9090", alias="prometheusURL")
    alertmanager_url: str = Field(
        "http://kube-prometheus-stack-alertmanager.monitoring.svc:9093", alias="alertmanagerURL")


class Secrets(_Strict):
    provider: Literal["external-secrets", "sops"] = Field(
        "external-secrets",
        description="external-secrets: ExternalSecrets from secretStore; sops: Secrets "
                    "encrypted with sops under the repository's .sops.yaml")
    sops_secret: str = Field(
        "sops-age", alias="sopsSecret",
        description="Secret in flux-system holding the age key Flux decrypts with")


class Gateway(_Strict):
    name: str = Field("envoy-internal", description="the Gateway UIs attach to")
    namespace: str = "network"
    section_name: str = Field("https", alias="sectionName",
                              description="its HTTPS listener, for HTTPRoutes of UIs")
    http_section_name: str = Field("http", alias="httpSectionName",
                                   description="its HTTP listener, for ACME HTTP-01")


class Ingress(_Strict):
    provider: Literal["traefik", "gateway-api"] = Field(
        "traefik", description="traefik: IngressRoutes; gateway-api: HTTPRoutes on `gateway`")
    gateway: Gateway = Gateway()


class Flux(_Strict):
    install: Literal["bootstrap", "flux-operator"] = Field(
        "bootstrap", description="how Flux itself is installed: `flux bootstrap` or "
                                 "flux-operator with a FluxInstance")
    instance: str = Field("flux", description="the FluxInstance's name (flux-operator)")


class Traefik(_Strict):
    entrypoint: str = "websecure"
    cert_resolver: str = Field("letsencrypt", alias="certResolver",
                               description="the resolver IngressRoutes use today")


@cache
def addons_model() -> type[BaseModel]:
    """One optional field per registered add-on, typed by that add-on's own Options."""
    fields: dict[str, Any] = {
        a.name: (a.Options, Field(default_factory=a.Options)) for a in registry.all_addons()
    }
    return create_model(
        "Addons", __config__=ConfigDict(extra="forbid"), **fields)


class Profile(_Strict):
    cluster: Cluster = Cluster()
    acme: Acme = Acme()
    secret_store: SecretStore = Field(SecretStore(), alias="secretStore")
    gitops: GitOps = GitOps()
    monitoring: Monitoring = Monitoring()
    traefik: Traefik = Traefik()
    secrets: Secrets = Secrets()
    ingress: Ingress = Ingress()
    flux: Flux = Flux()
    existing: list[Literal[EXISTING_STACK]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: list(DEFAULT_EXISTING))
    addons: Any = Field(default_factory=lambda: addons_model()())
    ci: Literal["github"] | None = Field(
        None, description="CI for the GitOps repository (addons/ci.py): `github` writes a "
        "GitHub Actions workflow and a lefthook entry")

    @field_validator("addons", mode="before")
    @classmethod
    def _addons(cls, value: Any) -> Any:
        return addons_model().model_validate(value if value is not None else {})

    def addon_options(self, name: str) -> AddonOptions:
        options = getattr(self.addons, name)
        assert isinstance(options, AddonOptions)
        return options

    def has(self, component: str) -> bool:
        """An existing-stack component is there."""
        return component in self.existing


class ProfileError(InputError):
    """A profile that cannot be used; `problems` holds one line per problem."""


def _loc(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item in ("function-after", "function-before") or "[" in str(item):
            continue
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(profile)"


def _pydantic_problems(err: ValidationError, prefix: tuple[str, ...] = ()) -> list[str]:
    problems = []
    for e in err.errors():
        loc = prefix + tuple(e["loc"])
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key"
            if loc[:1] == ("addons",) and len(loc) == 2:
                known = ", ".join(a.name for a in registry.all_addons())
                msg = f"unknown add-on (known: {known})"
        problems.append(f"{_loc(loc)}: {msg}")
    return problems


def parse_profile(data: Any) -> Profile:
    """Validate profile data; raise ProfileError with every problem found."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ProfileError(["(profile): must be a mapping of keys"])
    addons_data = data.get("addons")
    try:
        profile = Profile.model_validate(data)
    except ValidationError as err:
        # Errors inside `addons` arrive wrapped by the before-validator; unwrap them.
        problems = [p for p in _pydantic_problems(err) if not p.startswith("addons")]
        if isinstance(addons_data, dict):
            try:
                addons_model().model_validate(addons_data)
            except ValidationError as inner_err:
                problems += _pydantic_problems(inner_err, ("addons",))
        elif "addons" in data:
            problems.append("addons: must be a mapping of add-on names to options")
        raise ProfileError(problems) from None
    problems = cross_checks(profile)
    covered = {p.split(":")[0] for p in problems}  # an add-on may check its own already
    problems += [p for p in namespace_problems(profile) if p.split(":")[0] not in covered]
    if problems:
        raise ProfileError(problems)
    return profile


def namespace_problems(profile: Profile) -> list[str]:
    """Every option naming a namespace (a key ending in `namespace` or `namespaces`, in the
    profile or any add-on's options) holds DNS labels: a name such as "Mon itoring\\n" must
    never reach an object."""
    from outfitter.cluster.namespaces import dns_label_problem

    problems: list[str] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                where = f"{path}.{key}" if path else str(key)
                lowered = str(key).lower()
                if lowered.endswith("namespace") and isinstance(value, str):
                    why = dns_label_problem(value)
                    if why:
                        problems.append(f"{where}: {why}")
                elif lowered.endswith("namespaces") and isinstance(value, list):
                    for i, item in enumerate(value):
                        why = dns_label_problem(item, pattern=True)
                        if why:
                            problems.append(f"{where}[{i}]: {why}")
                else:
                    walk(value, where)
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{path}[{i}]")

    walk(profile.model_dump(by_alias=True), "")
    return problems


def stack_checks(profile: Profile) -> list[str]:
    """The secrets and ingress providers against the existing stack."""
    problems = []
    if profile.ingress.provider == "gateway-api" and not profile.has("envoy-gateway"):
        problems.append("ingress.provider: gateway-api needs envoy-gateway in existing (UIs are "
                        "protected with its SecurityPolicy basic auth)")
    if profile.ingress.provider == "traefik" and not profile.has("traefik") \
            and profile.has("envoy-gateway"):
        problems.append("ingress.provider: traefik, but existing lists envoy-gateway and not "
                        "traefik (set ingress.provider: gateway-api)")
    return problems


def cross_checks(profile: Profile) -> list[str]:
    problems: list[str] = stack_checks(profile)
    argocd_apps = set(profile.gitops.argocd_applications)
    for addon in registry.all_addons():
        opts = profile.addon_options(addon.name)
        if not opts.enabled:
            continue
        if opts.installed is True or (opts.installed is not None and opts.adopted is not None
                                      and opts.adopted.namespace is None):
            problems.append(
                f"addons.{addon.name}.installed: say where it runs: installed: {{namespace: "
                f"<namespace>, release: {addon.release_for(profile)}}}")
            continue
        if opts.installed is False:
            problems.append(f"addons.{addon.name}.installed: false is the default; remove the "
                            f"key, or give {{namespace, release}} of the installed add-on")
            continue
        if opts.adopted is not None:
            continue  # installed by the user: what it needs is the user's business
        for dep in addon.requires(profile):
            if not profile.addon_options(dep).enabled:
                problems.append(
                    f"addons.{addon.name}: needs {dep}, which is disabled "
                    f"(enable addons.{dep} or disable {addon.name})")
        if opts.owner == "flux" and addon.name in argocd_apps:
            problems.append(
                f"addons.{addon.name}.owner: owned by both Flux and Argo CD "
                f"(it is in gitops.argocdApplications); an add-on must have exactly one owner")
        if opts.owner == "argocd" and not profile.has("argocd"):
            problems.append(f"addons.{addon.name}.owner: argocd, but argocd is not in existing")
        problems += [f"addons.{addon.name}.{p.path}: {p.message}".replace(".:", ":")
                     for p in addon.check_profile(profile)]
    return problems


def load_profile(path: Path | None) -> Profile:
    """Read a profile file; None gives the built-in default (the roadmap's)."""
    if path is None:
        return default_profile()
    try:
        data = yamlio.load_file(path)
    except yamlio.YamlInputError as err:
        raise ProfileError([str(err)]) from None
    return parse_profile(data)


def default_profile() -> Profile:
    """The roadmap's situation: its existing stack, every add-on on, three nodes."""
    return parse_profile({})
