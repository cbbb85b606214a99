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

Hosts written with Flux variables (``Host(`git.${DOMAIN}`)``) are resolved with the
postBuild substitution that applies the route's file (certs_hosts); the Certificate keeps the
expressions, so Flux substitutes both alike. The issuer is the one the repository already
uses (certs_issuer). A route with `tls: {}` on an entry point whose Traefik HelmRelease sets
a resolver for the whole entry point (traefik_entrypoints) is served by that resolver and is
migrated like the others.

With `acme.wildcard` and DNS-01, the Certificate is a wildcard for the profile's domain,
shared by the routes of one namespace: Let's Encrypt issues at most 5 certificates for the
same set of names per week, so one per route would run into that limit.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ruamel.yaml.comments import CommentedMap

from outfitter.addons.context import PRODUCTION_ISSUER, Context
from outfitter.config import Profile
from outfitter.ops import release_tree, traefik_entrypoints, yaml_edit
from outfitter.ops.applied import applied_files, read_only
from outfitter.ops.certs_hosts import (
    Host,
    HostError,
    Scope,
    Substitutions,
    host_covered,
    resolve,
    suffix_for,
)
from outfitter.ops.certs_hosts import covers as covers
from outfitter.ops.certs_issuer import (
    CLUSTER_ISSUER,
    STAGING_SOURCE,
    Issuer,
    IssuerUnknown,
    discover,
    staging,
)
from outfitter.ops.traefik_entrypoints import EntrypointResolver
from outfitter.ops.yaml_edit import NotEditable, UnreadableFile, YamlFile
from outfitter.plan import make_context
from outfitter.repo.model import Repository

GROUPS = ("traefik.io/", "traefik.containo.us/")
OLD_GROUP = "traefik.containo.us/"
ROUTE_KINDS = ("IngressRoute", "IngressRouteTCP")
WILDCARD_SECRET = "wildcard-tls"
DUPLICATE_LIMIT = 5  # Let's Encrypt: certificates for the exact same names, per week

_CALL = re.compile(r"(!?)\b(HostSNIRegexp|HostRegexp|HostSNI|HostHeader|Host)\s*\(([^)]*)\)")
_ARG = re.compile(r"`([^`]*)`|\"([^\"]*)\"")

Status = Literal["migrate", "done", "left alone"]


class RuleError(ValueError):
    """A match rule whose hosts cannot be known."""


def hosts_of(rule: str, tcp: bool = False) -> list[str]:
    """The host names a match rule serves, in order, without repeats (written out)."""
    hosts: list[str] = []
    for value in written_hosts_of(rule, tcp):
        try:
            host = resolve(value, []).written
        except HostError as err:
            raise RuleError(str(err)) from None
        if host not in hosts:
            hosts.append(host)
    return hosts


def written_hosts_of(rule: str, tcp: bool = False) -> list[str]:
    """The hosts of a match rule as written (`${VAR}` expressions kept), in order, without
    repeats; `RuleError` for a rule whose hosts cannot be listed."""
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
            if value.strip() == "*":
                raise RuleError(f"{func}(`*`): matches every host")
            if "${" not in value and not _literal_host(value):
                raise RuleError(f"{func}: '{value}' is not a host name")
            if value not in hosts:
                hosts.append(value)
    if not found:
        raise RuleError(f"no {wanted}(...) in the rule: it matches every host")
    return hosts


def _literal_host(value: str) -> bool:
    try:
        resolve(value, [])
    except HostError:
        return False
    return True


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
    """As Flux serves them (resolved); as written when a value cannot be read."""
    names: list[Host] = field(default_factory=list)
    resolver: str | None = None
    entrypoint_resolver: EntrypointResolver | None = None
    secret: str | None = None
    certificate: dict[str, Any] | None = None
    """The Certificate to add (None when an existing one is reused, or nothing is done)."""
    reason: str | None = None
    notes: list[str] = field(default_factory=list)
    group: tuple[str | None, Path | None] = (None, None)
    """Where it lands: its namespace, or its folder when that is not known."""

    @property
    def ref(self) -> str:
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {ns}{self.name}"

    @property
    def unknown(self) -> list[str]:
        return list(dict.fromkeys(v for h in self.names for v in h.unknown))

    def to_json(self) -> dict[str, Any]:
        ep = self.entrypoint_resolver
        return {
            "kind": self.kind, "apiVersion": self.api_version, "name": self.name,
            "namespace": self.namespace, "where": self.where, "status": self.status,
            "hosts": self.hosts, "writtenHosts": [h.written for h in self.names],
            "unknownVariables": self.unknown, "certResolver": self.resolver,
            "entrypointResolver": ({"entrypoint": ep.entrypoint, "resolver": ep.resolver,
                                    "where": ep.where} if ep else None),
            "secretName": self.secret, "certificate": self.certificate,
            "reason": self.reason, "notes": self.notes,
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
    issuer: Issuer = field(default_factory=lambda: Issuer(CLUSTER_ISSUER, PRODUCTION_ISSUER))

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
            "issuer": self.issuer.name,
            "issuerKind": self.issuer.kind,
            "issuerSource": self.issuer.source,
        }


@dataclass(frozen=True)
class Settings:
    """What the profile says about certificates, and the issuer chosen."""

    domain: str
    issuer: Issuer
    wildcard: bool
    dns01: bool
    entrypoint: str
    resolver: str

    @classmethod
    def from_profile(cls, profile: Profile, issuer: Issuer) -> Settings:
        acme = profile.acme
        return cls(domain=profile.cluster.domain, issuer=issuer,
                   wildcard=acme.wildcard and acme.challenge == "dns01",
                   dns01=acme.challenge == "dns01", entrypoint=profile.traefik.entrypoint,
                   resolver=profile.traefik.cert_resolver)


@dataclass
class _Tree:
    """What the judging reads besides the route: substitutions, entry point resolvers,
    where files land."""

    repo: Repository
    subs: Substitutions
    entrypoints: dict[str, EntrypointResolver]

    def landing(self, namespace: str | None, path: Path) -> tuple[str | None, Path | None]:
        """Where a namespaced object of `path` lands: the namespace Flux gives it when every
        Kustomization applying the file agrees, else its own, else (none) its folder —
        whatever builds the folder gives all its objects the same one."""
        apps = self.repo.applications.get(os.path.realpath(path), [])
        spaces = {a.effective_namespace(namespace or "") for a in apps}
        if len(spaces) == 1:
            [ns] = spaces
            if ns:
                return (ns, None)
        return _group(namespace, path)


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


Existing = dict[tuple[str | None, Path | None], list[tuple[dict[str, Any], list[Host]]]]


def _existing_certificates(files: list[YamlFile], tree: _Tree) -> Existing:
    """Certificates already in the repository, by where they land, with their names as Flux
    serves them."""
    found: Existing = {}
    for yf in files:
        for doc in yf.documents:
            obj = doc.data
            if (isinstance(obj, dict) and obj.get("kind") == "Certificate"
                    and str(obj.get("apiVersion", "")).startswith("cert-manager.io/")):
                ns = (obj.get("metadata") or {}).get("namespace")
                names = []
                for name in (obj.get("spec") or {}).get("dnsNames") or []:
                    try:
                        names.append(resolve(str(name), tree.subs.scopes(yf.path), obj))
                    except HostError:
                        names.append(Host(str(name), None))
                found.setdefault(tree.landing(ns, yf.path), []).append((obj, names))
    return found


def _group(namespace: str | None, path: Path) -> tuple[str | None, Path | None]:
    """Where a namespaced object lands: its namespace, or (without one) whatever builds its
    folder, which is the same for everything in that folder."""
    return (namespace, None) if namespace else (None, path.parent)


def plan_migration(root: Path, profile: Profile,
                   issuer: Issuer | str | None = None) -> Migration:
    """Every Traefik route under `root`, judged, with the edits prepared (not written) in
    `migration.files`. `issuer`: a name (a ClusterIssuer) or an Issuer the user chose; None
    finds the one the repository uses (`IssuerUnknown`, exit 2, when a Certificate must be
    written and the repository does not say which)."""
    mig = Migration()
    files: list[YamlFile] = []
    base = root if root.is_dir() else root.parent
    paths, left_alone, repo = applied_files(root, yaml_edit.walk(root))
    if left_alone:
        mig.notes.append(left_alone)
    for path in paths:
        try:
            files.append(yaml_edit.read(path))
        except UnreadableFile as err:
            mig.skipped.append(f"{_rel(path, base)}: {err}; skipped")
    problem: IssuerUnknown | None = None
    if isinstance(issuer, str):
        chosen = Issuer(CLUSTER_ISSUER, issuer, "given")
    elif issuer is not None:
        chosen = issuer
        if issuer.source == STAGING_SOURCE:
            try:
                chosen = staging([d.data for yf in files for d in yf.documents], issuer)
            except IssuerUnknown as err:
                chosen, problem = Issuer(CLUSTER_ISSUER, "?"), err
    else:
        try:
            # Last resort: the profile's issuer (outfitter's, or an adopted cert-manager's).
            chosen = discover([d.data for yf in files for d in yf.documents],
                              make_context(profile).issuer)
        except IssuerUnknown as err:
            chosen, problem = Issuer(CLUSTER_ISSUER, "?"), err
    mig.issuer = chosen
    settings = Settings.from_profile(profile, chosen)
    tree = _Tree(repo, Substitutions(repo), {})
    tree.entrypoints = traefik_entrypoints.find(
        files, release_tree.scan(repo, files, base), lambda path, ns: tree.landing(ns, path)[0])
    ctx = Context(profile=profile, object_store=None)
    existing = _existing_certificates(files, tree)
    planned: dict[tuple[str | None, Path | None], dict[str, Any]] = {}
    names: dict[tuple[str | None, Path | None], set[str]] = {}
    patches = _route_patches(repo, files, base)
    for yf in files:
        if read_only(repo, yf.path):  # kustomize patches: parts of routes, not routes
            continue
        for doc in yf.documents:
            obj = doc.data
            if not (isinstance(obj, dict) and obj.get("kind") in ROUTE_KINDS
                    and str(obj.get("apiVersion", "")).startswith(GROUPS)):
                continue
            route = _judge(obj, yf.path, doc.index, f"{_rel(yf.path, base)}:{doc.line}",
                           settings, tree)
            patched = patches.get((route.kind, route.name))
            if patched and route.status == "migrate":
                route.status, route.reason = "left alone", (
                    f"the kustomize patch {patched} changes it (hosts or TLS may differ in "
                    f"what Flux applies): migrate it by hand")
            mig.routes.append(route)
            if route.status == "migrate":
                _choose_certificate(route, settings, ctx, existing, planned, names)
    if problem is not None and any(r.certificate is not None for r in mig.to_migrate):
        raise problem
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
    mig.notes += _entrypoint_notes(mig, tree)
    if chosen.kind != CLUSTER_ISSUER and mig.to_migrate:
        mig.notes.append(f"{chosen.ref} is namespaced: each namespace a Certificate is "
                         f"written in needs an Issuer of that name")
    return mig


def _route_patches(repo: Repository, files: list[YamlFile], base: Path
                   ) -> dict[tuple[str, str], str]:
    """(kind, name) of each route a kustomize patch file changes → that file."""
    found: dict[tuple[str, str], str] = {}
    for yf in files:
        if not read_only(repo, yf.path):
            continue
        for doc in yf.documents:
            obj = doc.data
            if isinstance(obj, dict) and obj.get("kind") in ROUTE_KINDS:
                name = str((obj.get("metadata") or {}).get("name", ""))
                found.setdefault((str(obj["kind"]), name), _rel(yf.path, base))
    return found


def _entrypoint_notes(mig: Migration, tree: _Tree) -> list[str]:
    """What the entry point resolvers serve, and when they can go."""
    notes = []
    for ep in sorted(tree.entrypoints.values(), key=lambda e: e.entrypoint):
        served = [r for r in mig.routes if r.entrypoint_resolver == ep]
        if not served:
            continue
        moving = [r for r in served if r.status == "migrate"]
        staying = [r.ref for r in served if r.status != "migrate"]
        note = (f"entry point {ep.entrypoint} gets certificates from resolver {ep.resolver} "
                f"({ep.where}): {len(moving)} of the {len(served)} route(s) it serves move "
                f"to cert-manager")
        if staying:
            note += f"; it still serves {', '.join(staying)}, keep it until they move"
        else:
            note += "; once they are moved and Flux applied them, the resolver can be " \
                    "removed there"
        notes.append(note)
    return notes


def _entrypoint_of(spec: dict[str, Any], tree: _Tree) -> EntrypointResolver | None:
    """The resolver of an entry point the route is on (a route that names none is on every
    entry point)."""
    entrypoints = spec.get("entryPoints") or sorted(tree.entrypoints)
    for name in entrypoints:
        if str(name) in tree.entrypoints:
            return tree.entrypoints[str(name)]
    return None


def _judge(obj: dict[str, Any], path: Path, index: int, where: str,
           settings: Settings, tree: _Tree) -> Route:
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    tcp = obj["kind"] == "IngressRouteTCP"
    route = Route(kind=str(obj["kind"]), api_version=str(obj.get("apiVersion")),
                  name=str(meta.get("name", "?")), namespace=meta.get("namespace"),
                  where=where, path=path, index=index, status="left alone",
                  group=tree.landing(meta.get("namespace"), path))
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
    served = None if tcp else _entrypoint_of(spec, tree)
    if tls is not None and not tls.get("certResolver"):
        if served is None:
            route.reason = "uses Traefik's default certificate (TLSStore); left as it is"
            return route
        route.entrypoint_resolver = served
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
        route.entrypoint_resolver = served
    elif tls.get("certResolver"):
        route.resolver = str(tls["certResolver"])
    if not _hosts(route, obj, spec, tls, tcp, tree):
        return route
    hosts = route.names
    wildcards = [h.shown for h in hosts if h.written.startswith("*.")]
    if wildcards and not settings.dns01:
        route.reason = (f"{', '.join(wildcards)}: a wildcard name needs the DNS-01 challenge "
                        f"(acme.challenge is http01); left on its resolver")
        return route
    outside = [h.shown for h in hosts if h.name is not None
               and not (h.name == settings.domain or h.name.endswith("." + settings.domain))]
    if settings.dns01 and outside:
        route.reason = (f"{', '.join(outside)} outside {settings.domain}: the profile's DNS-01 "
                        f"solver only answers for {settings.domain}; left on its resolver")
        return route
    route.status = "migrate"
    if route.unknown:
        shown = ", ".join(f"${{{v}}}" for v in route.unknown)
        route.notes.append(f"value of {shown} unknown (an encrypted Secret): the Certificate "
                           f"keeps the expression, Flux fills it in as it does the route's")
        if settings.dns01:
            route.notes.append(f"cannot check these names are under {settings.domain}, "
                               f"the only domain the profile's DNS-01 solver answers for")
    if route.entrypoint_resolver is not None:
        ep = route.entrypoint_resolver
        route.notes.append(f"served by entrypoint resolver {ep.resolver} on {ep.entrypoint} "
                           f"({ep.where})")
    elif tls is None:
        route.notes.append(f"had no tls section: it used the {settings.entrypoint} entry "
                           f"point's default certificate or resolver")
    if route.resolver and route.resolver != settings.resolver:
        route.notes.append(f"resolver {route.resolver} is not the profile's "
                           f"traefik.certResolver ({settings.resolver})")
    return route


def _hosts(route: Route, obj: dict[str, Any], spec: dict[str, Any],
           tls: dict[str, Any] | None, tcp: bool, tree: _Tree) -> bool:
    """Fill in the route's hosts as Flux serves them; False (with the reason) when they
    cannot be known."""
    scopes: list[Scope] = tree.subs.scopes(route.path)
    written: list[str] = []
    try:
        for r in spec.get("routes") or []:
            for host in written_hosts_of(str((r or {}).get("match", "")), tcp=tcp):
                if host not in written:
                    written.append(host)
    except RuleError as err:
        route.reason = f"cannot tell its hosts: {err}"
        return False
    if not written:
        route.reason = "no routes"
        return False
    for domain in (tls or {}).get("domains") or []:
        # The resolver's `domains` say which names the certificate was meant to carry.
        for name in [domain.get("main"), *(domain.get("sans") or [])]:
            if name and str(name) not in written:
                written.append(str(name))
    names: list[Host] = []
    try:
        for value in written:
            resolved = resolve(value, scopes, obj)
            if all(h.written != resolved.written for h in names):
                names.append(resolved)
    except HostError as err:
        route.reason = f"cannot tell its hosts: {err}"
        return False
    route.names = names
    route.hosts = [h.shown for h in names]
    return True


def _choose_certificate(
    route: Route, settings: Settings, ctx: Context, existing: Existing,
    planned: dict[tuple[str | None, Path | None], dict[str, Any]],
    names: dict[tuple[str | None, Path | None], set[str]],
) -> None:
    group = route.group
    for cert, cert_names in existing.get(group, []):
        if all(any(host_covered(n, h) for n in cert_names) for h in route.names):
            route.secret = str(cert["spec"].get("secretName"))
            route.notes.append(f"reuses Certificate {cert['metadata'].get('name')} "
                               f"already in the repository")
            return
    domain = settings.domain
    wildcard_names = [domain, f"*.{domain}"]
    if settings.wildcard and all(h.name is not None and any(covers(n, h.name)
                                                            for n in wildcard_names)
                                 for h in route.names):
        shared = planned.get(group)
        route.secret = WILDCARD_SECRET
        if shared is None:
            # Written as the route writes the domain (`${DOMAIN}`), so Flux fills both in.
            suffix = suffix_for(domain, route.names)
            cert = ctx.certificate(WILDCARD_SECRET, route.namespace or "",
                                   [suffix, f"*.{suffix}"])
            _finish(cert, route.namespace, settings)
            planned[group] = cert
            route.certificate = cert
        else:
            route.notes.append(f"shares Certificate {WILDCARD_SECRET} with another route "
                               f"of this namespace")
        return
    taken = {str(c["metadata"]["name"]) for c, _ in existing.get(group, [])} | \
        names.setdefault(group, set())
    secret = f"{route.name}-tls"
    if secret in taken:  # an IngressRoute and an IngressRouteTCP may share a name
        secret = f"{route.name}-{route.kind.lower()}-tls"
    if secret in taken:
        route.status = "left alone"
        route.reason = f"a Certificate named {secret} already exists here for other names"
        return
    names[group].add(secret)
    route.secret = secret
    cert = ctx.certificate(route.secret, route.namespace or "", [h.written for h in route.names])
    _finish(cert, route.namespace, settings)
    route.certificate = cert


def _finish(cert: dict[str, Any], namespace: str | None, settings: Settings) -> None:
    if not namespace:
        # No namespace on the route: the Certificate beside it gets the one its build sets.
        cert["metadata"].pop("namespace", None)
    cert["spec"]["issuerRef"] = {"kind": settings.issuer.kind, "name": settings.issuer.name}


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
                ep = route.entrypoint_resolver
                was = (f"certResolver {route.resolver}" if route.resolver
                       else f"resolver {ep.resolver} of entry point {ep.entrypoint}" if ep
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
                and other.group == route.group
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
        if "certResolver" not in mapping:
            # `tls: {}` (or options only): the entry point's resolver served it.
            mapping.insert(0, "secretName", secret)
            return
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
    """Write every prepared edit (none when one of them does not read back); the files
    written."""
    return yaml_edit.save_all([yf for _, yf in sorted(mig.files.items())])
