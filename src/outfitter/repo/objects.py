"""Flux objects as the repository model reads them: small, typed, parsed once.

Only the fields that decide how a repository is built and applied are typed; the full
spec stays available (`spec`) for the checks that read more of it.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

FLUX_KS_API = "kustomize.toolkit.fluxcd.io"
SOURCE_API = "source.toolkit.fluxcd.io"
HELM_API = "helm.toolkit.fluxcd.io"
OPERATOR_API = "fluxcd.controlplane.io"
SOURCE_KINDS = ("GitRepository", "OCIRepository", "Bucket", "ExternalArtifact")


@dataclass(frozen=True, slots=True, order=True)
class ObjKey:
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace \
            else f"{self.kind} {self.name}"

    @property
    def ref(self) -> str:
        """`namespace/name`, as findings name a Flux Kustomization."""
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an object is written: its file and document index."""

    file: str  # absolute path
    doc: int


@dataclass(frozen=True, slots=True)
class SourceRefSpec:
    kind: str
    name: str
    namespace: str

    @property
    def key(self) -> ObjKey:
        return ObjKey(self.kind, self.namespace, self.name)


@dataclass(frozen=True, slots=True)
class Source:
    """A GitRepository / OCIRepository / Bucket in the tree."""

    key: ObjKey
    url: str
    origin: Origin | None
    ignore: str | None = None  # a GitRepository's spec.ignore (.sourceignore patterns)


@dataclass(frozen=True, slots=True)
class ValuesRef:
    kind: str  # ConfigMap | Secret
    name: str
    optional: bool


@dataclass
class FluxKustomization:
    """A Flux Kustomization (kustomize.toolkit.fluxcd.io), its spec as Flux reads it —
    after the patches of the Kustomization that applies it (see repo.patches)."""

    key: ObjKey
    origin: Origin | None  # None: made by flux-operator or flux bootstrap, not in the tree
    spec: dict[str, Any]
    source: SourceRefSpec
    path: str
    target_namespace: str
    components: tuple[str, ...]
    depends_on: tuple[ObjKey, ...]
    substitute: dict[str, str]
    substitute_from: tuple[ValuesRef, ...]
    decryption: bool
    suspended: bool
    parent: ObjKey | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def label(self) -> str:
        return f"Flux Kustomization {self.key.ref}"

    @property
    def applied_by(self) -> str:
        """How a finding names what applies an object of its build."""
        return self.key.ref

    @property
    def path_field(self) -> tuple[str | int, ...]:
        """Where its path is written in its document."""
        return ("spec", "path")

    @property
    def kind_name(self) -> tuple[str, str]:
        return ("Kustomization", self.key.name)

    @property
    def post_build(self) -> dict[str, Any]:
        return _dict(self.spec.get("postBuild"))

    @property
    def remote_cluster(self) -> str:
        """The cluster its spec.kubeConfig names, by that Secret or ConfigMap: Flux applies
        its objects there, not where Flux runs (a hub's Kustomization for a spoke). ""
        when it names none."""
        return kubeconfig_cluster(self.spec, self.key.namespace)


def kubeconfig_cluster(spec: dict[str, Any], namespace: str) -> str:
    """The cluster a Flux Kustomization's or HelmRelease's spec.kubeConfig names, by that
    Secret or ConfigMap (in the object's namespace); "" when it names none."""
    kube = _dict(spec.get("kubeConfig"))
    for field_name, kind in (("secretRef", "Secret"), ("configMapRef", "ConfigMap")):
        ref = _dict(kube.get(field_name))
        if ref.get("name"):
            return f"kubeConfig {kind} {namespace}/{ref['name']}"
    return ""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def sops_encrypted(doc: dict[str, Any]) -> bool:
    """A SOPS-encrypted manifest: a top-level `sops` map with its metadata (its values are
    unknown without the key)."""
    sops = doc.get("sops")
    return isinstance(sops, dict) and ("mac" in sops or "lastmodified" in sops)


def config_values(doc: dict[str, Any]) -> dict[str, str | None]:
    """A ConfigMap's or Secret's values by key, as Flux substitutes them: a Secret's `data`
    decoded; None for each value of a SOPS-encrypted one (its keys are plain text, its
    values are not)."""
    encrypted = sops_encrypted(doc)
    out: dict[str, str | None] = {}
    for fld in ("data", "stringData"):
        values = doc.get(fld)
        if not isinstance(values, dict):
            continue
        for key, value in values.items():
            if encrypted:
                out[str(key)] = None
            elif fld == "data" and doc.get("kind") == "Secret":
                try:
                    out[str(key)] = base64.b64decode(str(value), validate=True).decode()
                except (binascii.Error, UnicodeDecodeError):
                    out[str(key)] = str(value)
            else:
                out[str(key)] = str(value)
    return out


def is_flux_kustomization(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("kind") == "Kustomization" and \
        str(doc.get("apiVersion", "")).startswith(FLUX_KS_API + "/")


def parse_kustomization(doc: dict[str, Any], origin: Origin | None,
                        parent: ObjKey | None = None) -> FluxKustomization:
    """The typed view of a Flux Kustomization document (already patched, if it is)."""
    meta = _dict(doc.get("metadata"))
    spec = _dict(doc.get("spec"))
    ns = str(meta.get("namespace") or "default")
    ref = _dict(spec.get("sourceRef"))
    source = SourceRefSpec(str(ref.get("kind") or "GitRepository"), str(ref.get("name") or ""),
                           str(ref.get("namespace") or ns))
    post = _dict(spec.get("postBuild"))
    depends = tuple(ObjKey("Kustomization", str(d.get("namespace") or ns), str(d["name"]))
                    for d in _list(spec.get("dependsOn")) if isinstance(d, dict) and d.get("name"))
    frm = tuple(ValuesRef(str(r.get("kind") or "ConfigMap"), str(r["name"]),
                          r.get("optional") is True)
                for r in _list(post.get("substituteFrom")) if isinstance(r, dict) and r.get("name"))
    return FluxKustomization(
        key=ObjKey("Kustomization", ns, str(meta.get("name") or "")), origin=origin, spec=spec,
        source=source, path=str(spec.get("path") or "").strip(),
        target_namespace=str(spec.get("targetNamespace") or ""),
        components=tuple(str(c) for c in _list(spec.get("components")) if isinstance(c, str)),
        depends_on=depends,
        substitute={str(k): str(v) for k, v in _dict(post.get("substitute")).items()},
        substitute_from=frm, decryption=bool(spec.get("decryption")),
        suspended=spec.get("suspend") is True, parent=parent, raw=doc)


def parse_source(doc: Any, origin: Origin) -> Source | None:
    if not isinstance(doc, dict) or doc.get("kind") not in SOURCE_KINDS or \
            not str(doc.get("apiVersion", "")).startswith(SOURCE_API + "/"):
        return None
    meta = _dict(doc.get("metadata"))
    spec = _dict(doc.get("spec"))
    ignore = spec.get("ignore") if doc["kind"] == "GitRepository" else None
    return Source(ObjKey(str(doc["kind"]), str(meta.get("namespace") or "default"),
                         str(meta.get("name") or "")), str(spec.get("url") or ""), origin,
                  ignore if isinstance(ignore, str) else None)


@dataclass(frozen=True, slots=True)
class InstanceSync:
    """What flux-operator syncs: a FluxInstance's `spec.sync` (or the flux-instance chart's
    `instance.sync` values). The operator names the source and the Kustomization
    `sync.name`, by default after the instance's namespace."""

    kind: str
    url: str
    path: str
    namespace: str
    origin: Origin
    name: str = ""  # of the source and Kustomization it makes (`sync.name`; else namespace)

    @property
    def source(self) -> ObjKey:
        return ObjKey(self.kind, self.namespace, self.name or self.namespace)


def object_like(doc: Any) -> bool:
    """Meant as a Kubernetes object: a kind and a Kubernetes apiVersion (`v1` or
    group/version), or metadata. Talos machine configs (`apiVersion: v1alpha1`, no
    metadata), Taskfiles and playbooks are not."""
    if not isinstance(doc, dict) or "kind" not in doc or "apiVersion" not in doc:
        return False
    api = str(doc["apiVersion"])
    return api == "v1" or "/" in api or isinstance(doc.get("metadata"), dict)


def may_hold_flux(text: str) -> bool:
    """Whether a file's text may define what the repository model reads first: Flux
    Kustomizations, flux-operator objects, ArtifactGenerators, a flux-instance chart's
    `instance.sync` (inline in a HelmRelease, or in a values file a configMapGenerator
    turns into its valuesFrom ConfigMap), Argo CD Applications (repo.argo), or a
    GitRepository (one of this repository, its URL and spec.ignore, may sit in its own
    file; OCI and Helm repositories, one per app in many layouts, are not read here)."""
    return FLUX_KS_API in text or OPERATOR_API in text or "ArtifactGenerator" in text or (
        "instance:" in text and "sync:" in text) or (
        "argoproj.io" in text and "Application" in text) or (
        "GitRepository" in text and SOURCE_API in text)


def is_instance_values(doc: Any) -> bool:
    """A bare values document of the flux-instance chart that sets `instance.sync`."""
    return isinstance(doc, dict) and "kind" not in doc and \
        bool(_dict(_dict(doc.get("instance")).get("sync")))


def instance_sync(doc: Any, origin: Origin) -> InstanceSync | None:
    if not isinstance(doc, dict):
        return None
    api = str(doc.get("apiVersion", ""))
    meta = _dict(doc.get("metadata"))
    sync: dict[str, Any] = {}
    namespace = str(meta.get("namespace") or "flux-system")
    if doc.get("kind") == "FluxInstance" and api.startswith(OPERATOR_API + "/"):
        sync = _dict(_dict(doc.get("spec")).get("sync"))
    elif doc.get("kind") == "HelmRelease" and api.startswith(HELM_API + "/"):
        spec = _dict(doc.get("spec"))
        sync = _dict(_dict(_dict(spec.get("values")).get("instance")).get("sync"))
        namespace = str(spec.get("targetNamespace") or namespace)
    if not sync.get("path") and not sync.get("url"):
        return None
    return InstanceSync(str(sync.get("kind") or "GitRepository"), str(sync.get("url") or ""),
                        str(sync.get("path") or ""), namespace, origin,
                        str(sync.get("name") or namespace))


@dataclass(frozen=True, slots=True)
class HelmReleaseRef:
    """A HelmRelease's chart source, as the edit commands need it."""

    key: ObjKey
    chart: str
    source: ObjKey | None


def helmrelease_ref(doc: Any, namespace: str) -> HelmReleaseRef | None:
    if not isinstance(doc, dict) or doc.get("kind") != "HelmRelease" or \
            not str(doc.get("apiVersion", "")).startswith(HELM_API + "/"):
        return None
    meta = _dict(doc.get("metadata"))
    spec = _dict(doc.get("spec"))
    ns = str(meta.get("namespace") or namespace)
    chart_ref = _dict(spec.get("chartRef"))
    inner = _dict(_dict(spec.get("chart")).get("spec"))
    ref = chart_ref or _dict(inner.get("sourceRef"))
    source = ObjKey(str(ref.get("kind") or "OCIRepository"), str(ref.get("namespace") or ns),
                    str(ref["name"])) if ref.get("name") else None
    return HelmReleaseRef(ObjKey("HelmRelease", ns, str(meta.get("name") or "")),
                          str(inner.get("chart") or ""), source)
