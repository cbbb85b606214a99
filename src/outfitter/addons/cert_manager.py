"""cert-manager: Let's Encrypt staging and production ClusterIssuers for the profile's
challenge (HTTP-01 through Traefik or through the Gateway API gateway's HTTP listener, or
DNS-01 with a token from the secret store or a SOPS Secret), metrics, and an alert for
certificates close to expiry.

cert-manager does not watch Traefik IngressRoutes: routes get their certificates through
Certificate objects (`outfitter certs migrate` writes them for existing routes).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from outfitter.addons.base import (
    Addon,
    AddonOptions,
    Chart,
    Priority,
    ProfileProblem,
    Rendered,
    Workload,
    options_of,
)
from outfitter.addons.context import PRODUCTION_ISSUER, STAGING_ISSUER, Context, meta
from outfitter.cluster.reader import ClusterReader, Kind
from outfitter.config import Profile
from outfitter.helm.checks import MetricCatalogue
from outfitter.status.checks import (
    Check,
    Read,
    Result,
    is_ready,
    items,
    name_of,
    now,
    parse_time,
    summarize,
)

ACME_SERVERS = {
    STAGING_ISSUER: "https://acme-staging-v02.api.letsencrypt.org/directory",
    PRODUCTION_ISSUER: "https://acme-v02.api.letsencrypt.org/directory",
}
DNS_TOKEN_SECRET = "acme-dns01-token"
CLUSTER_ISSUERS = Kind("cert-manager.io", "v1", "clusterissuers", "ClusterIssuer",
                       namespaced=False)
CERTIFICATES = Kind("cert-manager.io", "v1", "certificates", "Certificate")
INGRESS_ROUTES = (Kind("traefik.io", "v1alpha1", "ingressroutes", "IngressRoute"),
                  Kind("traefik.containo.us", "v1alpha1", "ingressroutes", "IngressRoute"))


def _small(cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> dict[str, Any]:
    return {"requests": {"cpu": cpu, "memory": memory},
            "limits": {"cpu": cpu_limit, "memory": memory_limit}}


class CertManagerOptions(AddonOptions):
    issuer: str | None = Field(
        None, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
        description="with installed: the ClusterIssuer of the cert-manager already running, "
                    f"named in every Certificate outfitter writes (default {PRODUCTION_ISSUER})")


class CertManager(Addon):
    name = "cert-manager"
    # What the component exports (from its source, at the pinned version): the names the
    # PrometheusRules may use.
    metrics = MetricCatalogue(
        "cert-manager", ("certmanager_",), frozenset({
        "certmanager_certificate_expiration_timestamp_seconds",
        "certmanager_certificate_ready_status",
        "certmanager_certificate_renewal_timestamp_seconds",
        "certmanager_certificate_not_after_timestamp_seconds",
        "certmanager_certificate_not_before_timestamp_seconds",
        "certmanager_clock_time_seconds",
        "certmanager_clock_time_seconds_gauge",
        "certmanager_controller_sync_call_count",
        "certmanager_controller_sync_error_count",
        "certmanager_http_acme_client_request_count",
        "certmanager_http_acme_client_request_duration_seconds",
    }))
    title = "cert-manager"
    namespace = "cert-manager"
    mesh = "disabled"
    priority = Priority.HIGH
    roadmap_names = ("cert-manager", "certmanager", "cert manager")
    roadmap_aliases = ("jetstack cert-manager",)
    roadmap_capabilities = ("certificate", "certificate management", "certificates manager", "tls",
                            "tls certificate", "ssl certificate", "ssl", "https", "let's encrypt",
                            "lets encrypt", "letsencrypt", "acme")
    crds = ("cert-manager.io", "acme.cert-manager.io")
    Options = CertManagerOptions
    chart = Chart("cert-manager", "v1.21.1", "oci://quay.io/jetstack/charts/cert-manager")
    workloads = (
        Workload("cert-manager", "Deployment", "resources"),
        Workload("cert-manager-webhook", "Deployment", "webhook.resources"),
        Workload("cert-manager-cainjector", "Deployment", "cainjector.resources"),
    )

    def cluster_issuer(self, profile: Profile) -> str:
        # outfitter's own production ClusterIssuer, or the one the adopted cert-manager has.
        opts = options_of(profile, self.name, CertManagerOptions)
        return (opts.issuer if opts.adopted is not None else None) or PRODUCTION_ISSUER

    def check_profile(self, profile: Profile) -> list[ProfileProblem]:
        # Runs only when cert-manager is not adopted: outfitter makes its own issuers then.
        if options_of(profile, self.name, CertManagerOptions).issuer is not None:
            return [ProfileProblem("issuer", "names the ClusterIssuer of a cert-manager already "
                                   "installed: set installed: {namespace, release} too, or "
                                   f"remove it (outfitter creates {PRODUCTION_ISSUER})")]
        return []

    def values(self, ctx: Context) -> dict[str, Any]:
        values: dict[str, Any] = {
            "crds": {"enabled": True, "keep": True},
            "resources": _small("20m", "64Mi", "200m", "256Mi"),
            "webhook": {"resources": _small("10m", "32Mi", "100m", "128Mi")},
            "cainjector": {"resources": _small("10m", "64Mi", "100m", "256Mi")},
            # The post-install hook Job that waits for the webhook: bounded like the rest.
            "startupapicheck": {"resources": _small("10m", "32Mi", "100m", "64Mi")},
            "prometheus": {
                "enabled": True,
                "servicemonitor": {"enabled": ctx.monitoring, "labels": ctx.monitoring_labels},
            },
        }
        if ctx.gateway_api:
            # The gatewayHTTPRoute solver needs the controller's Gateway API support
            # (`gatewayAPI.enabled` since 1.21; `enableGatewayAPI` is deprecated there).
            values["config"] = {"apiVersion": "controller.config.cert-manager.io/v1alpha1",
                                "kind": "ControllerConfiguration",
                                "gatewayAPI": {"enabled": True}}
        return values

    def _solver(self, ctx: Context) -> dict[str, Any]:
        acme = ctx.profile.acme
        if acme.challenge == "http01" and ctx.gateway_api:
            gateway = ctx.profile.ingress.gateway
            return {"http01": {"gatewayHTTPRoute": {"parentRefs": [{
                "group": "gateway.networking.k8s.io", "kind": "Gateway", "name": gateway.name,
                "namespace": gateway.namespace, "sectionName": gateway.http_section_name}]}}}
        if acme.challenge == "http01":
            return {"http01": {"ingress": {"ingressClassName": "traefik"}}}
        ref = {"name": DNS_TOKEN_SECRET, "key": "api-token"}
        providers: dict[str, dict[str, Any]] = {
            "cloudflare": {"cloudflare": {"apiTokenSecretRef": ref}},
            "digitalocean": {"digitalocean": {"tokenSecretRef": ref}},
            "route53": {"route53": {"region": "us-east-1",
                                    "secretAccessKeySecretRef": ref}},
        }
        return {"dns01": providers[acme.dns01.provider],
                "selector": {"dnsZones": [ctx.profile.cluster.domain]}}

    def resources(self, ctx: Context) -> Rendered:
        out = Rendered()
        acme = ctx.profile.acme
        if acme.challenge == "dns01":
            out.app.append(ctx.credential(
                DNS_TOKEN_SECRET, self.namespace,
                {"api-token": (acme.dns01.token_key, "credential")}))
        for issuer, server in ACME_SERVERS.items():
            out.config.append({
                "apiVersion": "cert-manager.io/v1",
                "kind": "ClusterIssuer",
                "metadata": meta(issuer),
                "spec": {"acme": {
                    "server": server,
                    "email": acme.email,
                    "privateKeySecretRef": {"name": f"{issuer}-account-key"},
                    "solvers": [self._solver(ctx)],
                }},
            })
        if acme.wildcard and acme.challenge == "dns01":
            domain = ctx.profile.cluster.domain
            out.config.append(ctx.certificate(
                "wildcard-tls", self.namespace, [domain, f"*.{domain}"]))
        if not ctx.monitoring:
            return out
        out.app.append(ctx.prometheus_rule("cert-manager", self.namespace, [
            ctx.alert(
                "CertificateExpiresSoon",
                "certmanager_certificate_expiration_timestamp_seconds - time() < 14 * 24 * 3600",
                "1h", "warning",
                "Certificate {{ $labels.namespace }}/{{ $labels.name }} expires within 14 days"),
            ctx.alert(
                "CertificateNotReady",
                'certmanager_certificate_ready_status{condition="False"} == 1',
                "30m", "warning",
                "Certificate {{ $labels.namespace }}/{{ $labels.name }} is not Ready"),
        ]))
        return out

    def checks(self, ctx: Context) -> list[Check]:
        issuers, certs = Read(CLUSTER_ISSUERS), Read(CERTIFICATES)

        def issuers_ready(reader: ClusterReader) -> Result:
            live = {o["metadata"]["name"]: o for o in items(reader, issuers)}
            want = [STAGING_ISSUER, PRODUCTION_ISSUER]
            missing = [n for n in want if n not in live]
            if missing:
                return Result("fail", f"missing ClusterIssuer {', '.join(missing)}",
                              "commit cert-manager-config")
            down = [n for n in want if not is_ready(live[n])]
            if down:
                return Result("fail", f"not Ready: {', '.join(down)}",
                              "kubectl describe clusterissuer NAME (ACME account)")
            return Result("pass", f"{', '.join(want)} Ready")

        def certificates(reader: ClusterReader) -> Result:
            all_certs = items(reader, certs)
            if not all_certs:
                return Result("fail", "no Certificates yet", "outfitter certs migrate PATH")
            down = [name_of(c) for c in all_certs if not is_ready(c)]
            expiries = [(parse_time(c["status"]["notAfter"]), name_of(c)) for c in all_certs
                        if (c.get("status") or {}).get("notAfter")]
            soonest = ""
            if expiries:
                when, who = min(expiries)
                soonest = f"; soonest expiry {who} in {(when - now()).days}d"
            if down:
                return Result("fail", f"not Ready: {summarize(down)}{soonest}")
            return Result("pass", f"{len(all_certs)} Certificates Ready{soonest}")

        routes = tuple(Read(k) for k in INGRESS_ROUTES)

        def routes_migrated(reader: ClusterReader) -> Result:
            usable = [items(reader, r) for r in routes if reader.list(r.kind).state == "ok"]
            if not usable:
                return Result("unknown", "no IngressRoute API is served (is Traefik installed?)")
            on_resolver = [name_of(r) for rs in usable for r in rs
                           if ((r.get("spec") or {}).get("tls") or {}).get("certResolver")]
            total = sum(len(rs) for rs in usable)
            if on_resolver:
                return Result("fail", f"{len(on_resolver)} of {total} IngressRoutes still on a "
                              f"Traefik certResolver: {summarize(on_resolver)}",
                              "outfitter certs migrate PATH --write")
            return Result("pass", f"none of {total} IngressRoutes uses a certResolver")

        return [
            Check("cert-manager.issuers", "ClusterIssuers Ready", (issuers,), issuers_ready,
                  roadmap=("clusterissuer",)),
            Check("cert-manager.certificates", "Certificates Ready", (certs,), certificates),
            Check("cert-manager.ingressroutes", "IngressRoutes on cert-manager", routes,
                  routes_migrated, roadmap=("migrate ingressroutes",), absent_ok=True),
        ]

    def notes(self, ctx: Context) -> list[str]:
        acme = ctx.profile.acme
        gateway = ctx.profile.ingress.gateway
        token = ("a SOPS Secret you fill" if ctx.sops
                 else f"item '{acme.dns01.token_key}'")
        if acme.challenge == "dns01":
            how = f"DNS-01 ({acme.dns01.provider}, token from {token})"
        elif ctx.gateway_api:
            how = (f"HTTP-01 through Gateway {gateway.namespace}/{gateway.name} (listener "
                   f"{gateway.http_section_name}, gatewayHTTPRoute solver)")
        else:
            how = "HTTP-01 through Traefik"
        notes = [f"ClusterIssuers {STAGING_ISSUER} and {PRODUCTION_ISSUER} with {how}."]
        if ctx.gateway_api:
            notes.append(f"UIs get no Certificate of their own: TLS ends at the listener "
                         f"{gateway.section_name} of Gateway {gateway.namespace}/{gateway.name}, "
                         f"with the gateway's certificate (a wildcard, as cluster-template "
                         f"issues it). `outfitter certs migrate` is for Traefik routes.")
        else:
            notes.append("IngressRoutes still on a Traefik certResolver: "
                         "`outfitter certs migrate`.")
        return notes


ADDON = CertManager()
