"""Move Traefik IngressRoutes from a Traefik ACME `certResolver` to cert-manager.

cert-manager does not watch IngressRoutes, so each route gets a `Certificate` in its own
namespace (a Secret is only readable there) and its `tls.secretName` points at the Secret
that Certificate fills; the resolver (and the `domains` it used) goes. The Certificate is
added as a document of the route's own file: whatever builds the route (a kustomization, a
Flux Kustomization with a target namespace) builds the Certificate the same way, in the same
namespace.

Hosts come from the match rule: `Host(...)` (several joined with `||`, or several
arguments in Traefik v2's syntax) and `HostSNI(...)` for TCP routes. A rule whose hosts
cannot be known (`HostRegexp`, `HostSNI(`*`)`, a negation, no host at all), a TLS
passthrough, or a route on plain HTTP entry points is listed and left untouched.

With `acme.wildcard` and DNS-01, the Certificate is a wildcard for the profile's domain,
shared by the routes of one namespace: Let's Encrypt issues at most 5 certificates for the
same set of names per week, so one per route would run into that limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ruamel.yaml.comments import CommentedMap

from outfitter.addons.context import PRODUCTION_ISSUER, Context
from outfitter.config import Profile
from outfitter.ops import yaml_edit
from outfitter.ops.applied import applied_only
from outfitter.ops.yaml_edit import NotEditable, UnreadableFile, YamlFile

GROUPS = ("traefik.io/", "traefik.containo.us/")
OLD_GROUP = "traefik.containo.us/"
ROUTE_KINDS = ("IngressRoute", "IngressRouteTCP")
WILDCARD_SECRET = "wildcard-tls"
DUPLICATE_LIMIT = 5  # Let's Encrypt: certificates for the exact same names, per week

_CALL = re.compile(r"(!?)\b(HostSNIRegexp|HostRegexp|HostSNI|HostHeader|Host)\s*\(([^)]*)\)")
_ARG = re.compile(r"`([^`]*)`|\"([^\"]*)\"")
_HOSTNAME = re.compile(r"^(\*\.)?([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,}$")

Status = Literal["migrate", "done", "left alone"]


class RuleError(ValueError):
    """A match rule whose hosts cannot be known."""


def hosts_of(rule: str, tcp: bool = False) -> list[str]:
    """The host names a match rule serves, in order, without repeats."""
    hosts: list[str] = []
    wanted = "HostSNI" if tcp else "Host"
    found = False
    for neg, func, args in _CALL.findall(rule):
        if neg:
            raise RuleError(f"negated {func}(...): the hosts it serves cannot be listed")
        if func.endswith("Regexp"):
            raise RuleError(f"{func}: a pattern, not host names")
        if func not in (wanted, "HostHeader" if not tcp else wanted):
            continue
        found = True
        values = [a or b for a, b in _ARG.findall(args)]
        if not values:
            raise RuleError(f"{func}({args}): no quoted host name")
        for value in values:
            host = value.strip().lower().rstrip(".")
            if host == "*":
                raise RuleError(f"{func}(`*`): matches every host")
            if not _HOSTNAME.match(host):
                raise RuleError(f"{func}: '{value}' is not a host name")
            if host not in hosts:
                hosts.append(host)
    if not found:
        raise RuleError(f"no {wanted}(...) in the rule: it matches every host")
    return hosts


def covers(name: str, host: str) -> bool:
    """A certificate name covers a host: the same, or a wildcard one label up."""
    if name == host:
        return True
    return name.startswith("*.") and host.split(".", 1)[-1] == name[2:] and "." in host


@dataclass
class Route:
    kind: str
    api_version: str
    name: str
    namespace: str | None
    where: str
    path: Path
    index: int
    status: Status
    hosts: list[str] = field(default_factory=list)
    resolver: str | None = None
    secret: str | None = None
    certificate: dict[str, Any] | None = None
    """The Certificate to add (None when an existing one is reused, or nothing is done)."""
    reason: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ref(self) -> str:
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {ns}{self.name}"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "apiVersion": self.api_version, "name": self.name,
            "namespace": self.namespace, "where": self.where, "status": self.status,
            "hosts": self.hosts, "certResolver": self.resolver, "secretName": self.secret,
            "certificate": self.certificate, "reason": self.reason, "notes": self.notes,
        }


@dataclass
class Migration:
    routes: list[Route] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    not_edited: list[str] = field(default_factory=list)
    """Of `skipped`: what needed an edit that could not be made safely (exit status 1)."""
    """Files that are not YAML, and edits that could not be made cleanly."""
    notes: list[str] = field(default_factory=list)
    files: dict[Path, YamlFile] = field(default_factory=dict)

    @property
    def to_migrate(self) -> list[Route]:
        return [r for r in self.routes if r.status == "migrate"]

    def to_json(self) -> dict[str, Any]:
        return {
            "routes": [r.to_json() for r in self.routes],
            "skipped": self.skipped,
            "notEdited": self.not_edited,
            "notes": self.notes,
            "files": sorted(str(p) for p, yf in self.files.items() if yf.changed),
        }


@dataclass(frozen=True)
class Settings:
    """What the profile says about certificates."""

    domain: str
    issuer: str
    wildcard: bool
    dns01: bool
    entrypoint: str
    resolver: str

    @classmethod
    def from_profile(cls, profile: Profile, issuer: str = PRODUCTION_ISSUER) -> Settings:
        acme = profile.acme
        return cls(domain=profile.cluster.domain, issuer=issuer,
                   wildcard=acme.wildcard and acme.challenge == "dns01",
                   dns01=acme.challenge == "dns01", entrypoint=profile.traefik.entrypoint,
                   resolver=profile.traefik.cert_resolver)


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _existing_certificates(files: list[YamlFile]) -> dict[tuple[str | None, Path | None],
                                                          list[dict[str, Any]]]:
    """Certificates already in the repository, by (namespace, folder when no namespace)."""
    found: dict[tuple[str | None, Path | None], list[dict[str, Any]]] = {}
    for yf in files:
        for doc in yf.documents:
            obj = doc.data
            if (isinstance(obj, dict) and obj.get("kind") == "Certificate"
                    and str(obj.get("apiVersion", "")).startswith("cert-manager.io/")):
                ns = (obj.get("metadata") or {}).get("namespace")
                found.setdefault(_group(ns, yf.path), []).append(obj)
    return found


def _group(namespace: str | None, path: Path) -> tuple[str | None, Path | None]:
    """Where a namespaced object lands: its namespace, or (without one) whatever builds its
    folder, which is the same for everything in that folder."""
    return (namespace, None) if namespace else (None, path.parent)


def plan_migration(root: Path, profile: Profile, issuer: str = PRODUCTION_ISSUER) -> Migration:
    """Every Traefik route under `root`, judged, with the edits prepared (not written) in
    `migration.files`."""
    settings = Settings.from_profile(profile, issuer)
    ctx = Context(profile=profile, object_store=None)
    mig = Migration()
    files: list[YamlFile] = []
    base = root if root.is_dir() else root.parent
    paths, left_alone = applied_only(root, yaml_edit.walk(root))
    if left_alone:
        mig.notes.append(left_alone)
    for path in paths:
        try:
            files.append(yaml_edit.read(path))
        except UnreadableFile as err:
            mig.skipped.append(f"{_rel(path, base)}: {err}; skipped")
    existing = _existing_certificates(files)
    planned: dict[tuple[str | None, Path | None], dict[str, Any]] = {}
    names: dict[tuple[str | None, Path | None], set[str]] = {}
    for yf in files:
        for doc in yf.documents:
            obj = doc.data
            if not (isinstance(obj, dict) and obj.get("kind") in ROUTE_KINDS
                    and str(obj.get("apiVersion", "")).startswith(GROUPS)):
                continue
            route = _judge(obj, yf.path, doc.index, f"{_rel(yf.path, base)}:{doc.line}",
                           settings)
            mig.routes.append(route)
            if route.status == "migrate":
                _choose_certificate(route, settings, ctx, existing, planned, names)
    _prepare_edits(mig, files)
    wildcards = [c for c in planned.values()
                 if c["spec"]["secretName"] == WILDCARD_SECRET]
    if len(wildcards) > DUPLICATE_LIMIT:
        mig.notes.append(
            f"{len(wildcards)} namespaces get their own wildcard Certificate for the same "
            f"names; Let's Encrypt issues at most {DUPLICATE_LIMIT} such certificates a week, "
            f"so the rest will wait. Fewer namespaces, or one wildcard Certificate as "
            f"Traefik's default TLSStore certificate, avoid that.")
    if any(r.api_version.startswith(OLD_GROUP) for r in mig.routes):
        mig.notes.append(
            "Routes in the traefik.containo.us group are served by Traefik v2 only (v3 reads "
            "traefik.io/v1alpha1): change their apiVersion when Traefik is upgraded.")
    return mig


def _judge(obj: dict[str, Any], path: Path, index: int, where: str,
           settings: Settings) -> Route:
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    tcp = obj["kind"] == "IngressRouteTCP"
    route = Route(kind=str(obj["kind"]), api_version=str(obj.get("apiVersion")),
                  name=str(meta.get("name", "?")), namespace=meta.get("namespace"),
                  where=where, path=path, index=index, status="left alone")
    tls = spec.get("tls") if isinstance(spec, dict) else None
    if tls is not None and not isinstance(tls, dict):
        route.reason = "tls is not a mapping"
        return route
    if tls and tls.get("secretName"):
        route.status, route.secret = "done", str(tls["secretName"])
        route.reason = "already uses a Secret"
        return route
    if tls and tls.get("passthrough"):
        route.reason = "TLS passthrough: the backend terminates TLS"
        return route
    if tls is not None and not tls.get("certResolver"):
        route.reason = "uses Traefik's default certificate (TLSStore); left as it is"
        return route
    if tls is None:
        if tcp:
            route.reason = "TCP route without TLS: no host name to certify"
            return route
        entrypoints = spec.get("entryPoints") or []
        if settings.entrypoint not in entrypoints:
            shown = ", ".join(entrypoints) if entrypoints else "all entry points"
            route.reason = (f"no TLS and not on the {settings.entrypoint} entry point "
                            f"({shown}): a plain HTTP route")
            return route
    else:
        route.resolver = str(tls["certResolver"])
    hosts: list[str] = []
    try:
        for r in spec.get("routes") or []:
            for host in hosts_of(str((r or {}).get("match", "")), tcp=tcp):
                if host not in hosts:
                    hosts.append(host)
    except RuleError as err:
        route.reason = f"cannot tell its hosts: {err}"
        return route
    if not hosts:
        route.reason = "no routes"
        return route
    for domain in (tls or {}).get("domains") or []:
        # The resolver's `domains` say which names the certificate was meant to carry.
        for name in [domain.get("main"), *(domain.get("sans") or [])]:
            if name and str(name).lower() not in hosts:
                hosts.append(str(name).lower())
    route.hosts = hosts
    wildcards = [h for h in hosts if h.startswith("*.")]
    if wildcards and not settings.dns01:
        route.reason = (f"{', '.join(wildcards)}: a wildcard name needs the DNS-01 challenge "
                        f"(acme.challenge is http01); left on its resolver")
        return route
    outside = [h for h in hosts if not (h == settings.domain
                                        or h.endswith("." + settings.domain))]
    if settings.dns01 and outside:
        route.reason = (f"{', '.join(outside)} outside {settings.domain}: the profile's DNS-01 "
                        f"solver only answers for {settings.domain}; left on its resolver")
        return route
    route.status = "migrate"
    if tls is None:
        route.notes.append(f"had no tls section: it used the {settings.entrypoint} entry "
                           f"point's default certificate or resolver")
    if route.resolver and route.resolver != settings.resolver:
        route.notes.append(f"resolver {route.resolver} is not the profile's "
                           f"traefik.certResolver ({settings.resolver})")
    return route


def _choose_certificate(
    route: Route, settings: Settings, ctx: Context,
    existing: dict[tuple[str | None, Path | None], list[dict[str, Any]]],
    planned: dict[tuple[str | None, Path | None], dict[str, Any]],
    names: dict[tuple[str | None, Path | None], set[str]],
) -> None:
    group = _group(route.namespace, route.path)
    for cert in existing.get(group, []):
        dns_names = [str(n).lower() for n in (cert.get("spec") or {}).get("dnsNames") or []]
        if all(any(covers(n, h) for n in dns_names) for h in route.hosts):
            route.secret = str(cert["spec"].get("secretName"))
            route.notes.append(f"reuses Certificate {cert['metadata'].get('name')} "
                               f"already in the repository")
            return
    domain = settings.domain
    wildcard_names = [domain, f"*.{domain}"]
    if settings.wildcard and all(any(covers(n, h) for n in wildcard_names)
                                 for h in route.hosts):
        shared = planned.get(group)
        route.secret = WILDCARD_SECRET
        if shared is None:
            cert = ctx.certificate(WILDCARD_SECRET, route.namespace or "", wildcard_names)
            _finish(cert, route.namespace, settings)
            planned[group] = cert
            route.certificate = cert
        else:
            route.notes.append(f"shares Certificate {WILDCARD_SECRET} with another route "
                               f"of this namespace")
        return
    taken = {str(c["metadata"]["name"]) for c in existing.get(group, [])} | names.setdefault(
        group, set())
    secret = f"{route.name}-tls"
    if secret in taken:  # an IngressRoute and an IngressRouteTCP may share a name
        secret = f"{route.name}-{route.kind.lower()}-tls"
    if secret in taken:
        route.status = "left alone"
        route.reason = f"a Certificate named {secret} already exists here for other names"
        return
    names[group].add(secret)
    route.secret = secret
    cert = ctx.certificate(route.secret, route.namespace or "", route.hosts)
    _finish(cert, route.namespace, settings)
    route.certificate = cert


def _finish(cert: dict[str, Any], namespace: str | None, settings: Settings) -> None:
    if not namespace:
        # No namespace on the route: the Certificate beside it gets the one its build sets.
        cert["metadata"].pop("namespace", None)
    cert["spec"]["issuerRef"]["name"] = settings.issuer


def _prepare_edits(mig: Migration, files: list[YamlFile]) -> None:
    by_path = {yf.path: yf for yf in files}
    for route in mig.to_migrate:
        yf = by_path[route.path]
        doc = yf.documents[route.index]
        try:
            body = _edit_route(doc, route)
        except NotEditable as err:
            route.status = "left alone"
            route.reason = f"not edited: {err}"
            mig.skipped.append(f"{route.where}: {route.ref}: not edited: {err}")
            mig.not_edited.append(f"{route.where}: {route.ref}: not edited: {err}")
            _release(mig, route)
            continue
        yf.set_body(route.index, body)
        if route.certificate is not None:
            cert_body = yaml_edit.dump_like(doc, route.certificate)
            if route.secret == WILDCARD_SECRET:
                note = ("# Wildcard Certificate for the routes of this namespace "
                        "(outfitter certs migrate)\n")
            else:
                was = (f"certResolver {route.resolver}" if route.resolver
                       else "the entry point's certificate")
                note = f"# Certificate for {route.ref} (outfitter certs migrate; was {was})\n"
            yf.append_document(note + cert_body)
        mig.files[yf.path] = yf


def _release(mig: Migration, route: Route) -> None:
    """A route that is not edited hands its shared wildcard Certificate to the next route
    of the group, so the others do not point at a Certificate nobody writes."""
    if route.certificate is None or route.secret != WILDCARD_SECRET:
        return
    for other in mig.to_migrate:
        if (other is not route and other.secret == WILDCARD_SECRET
                and _group(other.namespace, other.path) == _group(route.namespace, route.path)
                and other.certificate is None):
            other.certificate = route.certificate
            other.notes = [n for n in other.notes if not n.startswith("shares")]
            break
    route.certificate = None


def _edit_route(doc: yaml_edit.Document, route: Route) -> str:
    assert route.secret is not None
    secret = route.secret
    tls = (doc.data.get("spec") or {}).get("tls")
    if tls is None:
        def add_tls() -> Any:
            return CommentedMap({"secretName": secret})

        return yaml_edit.first_clean(
            doc, yaml_edit.insert_at(lambda t: t["spec"], "tls", add_tls, after=("routes",)))

    def swap(tree: Any) -> None:
        mapping = tree["spec"]["tls"]
        pos = list(mapping.keys()).index("certResolver")
        tokens = mapping.ca.items.pop("certResolver", None)
        mapping.insert(pos, "secretName", secret)
        del mapping["certResolver"]
        # The end-of-line comment spoke of the resolver; full-line comments after it belong
        # to the next key and stay.
        if tokens and len(tokens) > 2 and tokens[2] is not None:
            _eol, newline, rest = tokens[2].value.partition("\n")
            if newline and rest.strip():
                tokens[2].value = "\n" + rest
                mapping.ca.items["secretName"] = tokens

    body = doc.edit(swap)
    if "domains" in tls:
        body = yaml_edit.delete_key(doc.with_body(body), lambda t: t["spec"]["tls"], "domains")
    _check(doc, body, secret)
    return body


def _check(doc: yaml_edit.Document, body: str, secret: str) -> None:
    """The edited route reads as the original with only its tls changed as intended."""
    from outfitter import yamlio

    expected = yamlio.load(doc.body)
    tls = dict(expected["spec"].get("tls") or {})
    tls.pop("certResolver", None)
    tls.pop("domains", None)
    tls["secretName"] = secret
    expected["spec"]["tls"] = tls
    if yamlio.load(body) != expected:
        raise NotEditable("the edit would change more than the route's tls")


def write(mig: Migration) -> list[Path]:
    written = []
    for path, yf in sorted(mig.files.items()):
        if yf.changed:
            yaml_edit.save(yf)
            written.append(path)
    return written
