"""cert-manager: Let's Encrypt staging and production ClusterIssuers for the profile's
challenge (HTTP-01 through Traefik, or DNS-01 with a token from the secret store), metrics,
and an alert for certificates close to expiry.

cert-manager does not watch Traefik IngressRoutes: routes get their certificates through
Certificate objects (`outfitter certs migrate` writes them for existing routes).
"""

from __future__ import annotations

from typing import Any

from outfitter.addons.base import Addon, Chart, Priority, Rendered, Workload
from outfitter.addons.context import PRODUCTION_ISSUER, STAGING_ISSUER, Context, meta

ACME_SERVERS = {
    STAGING_ISSUER: "https://acme-staging-v02.api.letsencrypt.org/directory",
    PRODUCTION_ISSUER: "https://acme-v02.api.letsencrypt.org/directory",
}
DNS_TOKEN_SECRET = "acme-dns01-token"


def _small(cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> dict[str, Any]:
    return {"requests": {"cpu": cpu, "memory": memory},
            "limits": {"cpu": cpu_limit, "memory": memory_limit}}


class CertManager(Addon):
    name = "cert-manager"
    title = "cert-manager"
    namespace = "cert-manager"
    mesh = "disabled"
    priority = Priority.HIGH
    roadmap_names = ("cert-manager", "certmanager", "cert manager")
    crds = ("cert-manager.io", "acme.cert-manager.io")
    chart = Chart("cert-manager", "v1.21.1", "oci://quay.io/jetstack/charts/cert-manager")
    workloads = (
        Workload("cert-manager", "Deployment", "resources"),
        Workload("cert-manager-webhook", "Deployment", "webhook.resources"),
        Workload("cert-manager-cainjector", "Deployment", "cainjector.resources"),
    )

    def values(self, ctx: Context) -> dict[str, Any]:
        return {
            "crds": {"enabled": True, "keep": True},
            "resources": _small("20m", "64Mi", "200m", "256Mi"),
            "webhook": {"resources": _small("10m", "32Mi", "100m", "128Mi")},
            "cainjector": {"resources": _small("10m", "64Mi", "100m", "256Mi")},
            "prometheus": {
                "enabled": True,
                "servicemonitor": {"enabled": ctx.monitoring, "labels": ctx.monitoring_labels},
            },
        }

    def _solver(self, ctx: Context) -> dict[str, Any]:
        acme = ctx.profile.acme
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
            out.app.append(ctx.external_secret(
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

    def notes(self, ctx: Context) -> list[str]:
        acme = ctx.profile.acme
        how = ("HTTP-01 through Traefik" if acme.challenge == "http01"
               else f"DNS-01 ({acme.dns01.provider}, token from item '{acme.dns01.token_key}')")
        return [f"ClusterIssuers {STAGING_ISSUER} and {PRODUCTION_ISSUER} with {how}.",
                "IngressRoutes still on a Traefik certResolver: `outfitter certs migrate`."]


ADDON = CertManager()
