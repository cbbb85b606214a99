"""What an add-on gets while rendering: the profile, and builders for the objects that wire
add-ons into the platform the cluster already runs (External Secrets, prometheus-operator,
Grafana's sidecar, Traefik with cert-manager). Add-ons call these instead of writing the
same objects eleven times.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from outfitter.addons.storage_contract import ObjectStore

if TYPE_CHECKING:
    from outfitter.config import Profile

PRODUCTION_ISSUER = "letsencrypt-production"
STAGING_ISSUER = "letsencrypt-staging"


def meta(name: str, namespace: str | None = None, **extra: Any) -> dict[str, Any]:
    m: dict[str, Any] = {"name": name}
    if namespace is not None:
        m["namespace"] = namespace
    for key, value in extra.items():
        if value:
            m[key] = value
    return m


@dataclass(frozen=True)
class Context:
    profile: Profile
    object_store: ObjectStore | None
    buckets: tuple[str, ...] = ()
    """All buckets every enabled add-on asked for (the object storage add-on creates them)."""

    def enabled(self, name: str) -> bool:
        return self.profile.addon_options(name).enabled

    # --- External Secrets -----------------------------------------------------------------
    def external_secret(
        self,
        name: str,
        namespace: str,
        keys: dict[str, tuple[str, str]],
        template: dict[str, str] | None = None,
        labels: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """An ExternalSecret producing Secret `name` from the profile's secret store.

        `keys` maps a variable to (store item, property). Without a template each variable
        becomes a key of the Secret; with one, the template builds the keys. No value is
        ever written to the tree.
        """
        store = self.profile.secret_store
        spec: dict[str, Any] = {
            "refreshInterval": "1h",
            "secretStoreRef": {"kind": store.kind, "name": store.name},
            "target": {"name": name, "creationPolicy": "Owner"},
            "data": [
                {"secretKey": var, "remoteRef": {"key": item, "property": prop}}
                for var, (item, prop) in keys.items()
            ],
        }
        if template is not None or labels:
            tmpl: dict[str, Any] = {"engineVersion": "v2"}
            if labels:
                tmpl["metadata"] = {"labels": labels}
            if template is not None:
                tmpl["data"] = template
            spec["target"]["template"] = tmpl
        return {
            "apiVersion": "external-secrets.io/v1",
            "kind": "ExternalSecret",
            "metadata": meta(name, namespace),
            "spec": spec,
        }

    def object_store_secret(
        self, name: str, namespace: str, template: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """Object storage credentials for a consumer, as `access_key_id`/`secret_access_key`
        variables (templated into whatever shape the consumer's chart reads)."""
        store = self.require_object_store()
        return self.external_secret(
            name, namespace,
            {"access_key_id": (store.credentials_item, "access-key-id"),
             "secret_access_key": (store.credentials_item, "secret-access-key")},
            template=template,
        )

    def require_object_store(self) -> ObjectStore:
        if self.object_store is None:
            raise RuntimeError("object storage is disabled; the profile check should refuse this")
        return self.object_store

    # --- prometheus-operator (kube-prometheus-stack) ----------------------------------------
    @property
    def monitoring(self) -> bool:
        """The cluster runs kube-prometheus-stack: ServiceMonitors, rules and dashboards have
        somewhere to go. Without it add-ons render none (their CRDs would be missing)."""
        return self.profile.has("kube-prometheus-stack")

    @property
    def monitoring_labels(self) -> dict[str, str]:
        """kube-prometheus-stack selects ServiceMonitors/Rules by `release: <its release>`."""
        return {"release": self.profile.monitoring.prometheus_release}

    def prometheus_rule(
        self, name: str, namespace: str, rules: list[dict[str, Any]]
    ) -> dict[str, Any]:
        return {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PrometheusRule",
            "metadata": meta(name, namespace, labels=self.monitoring_labels),
            "spec": {"groups": [{"name": name, "rules": rules}]},
        }

    @staticmethod
    def alert(name: str, expr: str, for_: str, severity: str, summary: str) -> dict[str, Any]:
        return {
            "alert": name,
            "expr": expr,
            "for": for_,
            "labels": {"severity": severity},
            "annotations": {"summary": summary},
        }

    # --- Grafana (kube-prometheus-stack's sidecar) -----------------------------------------
    def grafana_datasource(self, name: str, datasource: dict[str, Any]) -> dict[str, Any]:
        """A ConfigMap the kps Grafana sidecar loads. Datasources are only searched in
        Grafana's own namespace by kps default, so it goes there."""
        from outfitter import yamlio

        body = yamlio.dump({"apiVersion": 1, "datasources": [datasource]})
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta(f"{name}-datasource", self.profile.monitoring.namespace,
                             labels={"grafana_datasource": "1"}),
            "data": {f"{name}-datasource.yaml": body},
        }

    def grafana_dashboard(self, name: str, namespace: str, dashboard_json: str) -> dict[str, Any]:
        """kps sets the dashboard sidecar to search ALL namespaces for grafana_dashboard=1."""
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta(f"{name}-dashboard", namespace, labels={"grafana_dashboard": "1"}),
            "data": {f"{name}.json": dashboard_json},
        }

    # --- Traefik + cert-manager: a UI behind authentication ---------------------------------
    def host(self, sub: str) -> str:
        return f"{sub}.{self.profile.cluster.domain}"

    def ui_route(
        self, name: str, namespace: str, service: str, port: int, sub: str | None = None
    ) -> list[dict[str, Any]]:
        """IngressRoute + cert-manager Certificate + basic-auth Middleware whose users come
        from the secret store. Never a UI without authentication."""
        host = self.host(sub or name)
        tls_secret = f"{name}-tls"
        auth_secret = f"{name}-basic-auth"
        # Without cert-manager the route keeps the Traefik resolver the cluster uses today.
        with_cert_manager = self.enabled("cert-manager")
        tls = ({"secretName": tls_secret} if with_cert_manager
               else {"certResolver": self.profile.traefik.cert_resolver})
        objects = [
            self.external_secret(
                auth_secret, namespace,
                {"users": (f"{name}-basic-auth", "htpasswd")},
                template={"users": "{{ .users }}"},
            ),
            {
                "apiVersion": "traefik.io/v1alpha1",
                "kind": "Middleware",
                "metadata": meta(f"{name}-auth", namespace),
                "spec": {"basicAuth": {"secret": auth_secret, "removeHeader": True}},
            },
            {
                "apiVersion": "traefik.io/v1alpha1",
                "kind": "IngressRoute",
                "metadata": meta(name, namespace),
                "spec": {
                    "entryPoints": [self.profile.traefik.entrypoint],
                    "routes": [{
                        "kind": "Rule",
                        "match": f"Host(`{host}`)",
                        "middlewares": [{"name": f"{name}-auth"}],
                        "services": [{"name": service, "port": port}],
                    }],
                    "tls": tls,
                },
            },
        ]
        if with_cert_manager:
            objects.insert(2, self.certificate(tls_secret, namespace, [host]))
        return objects

    def certificate(self, secret: str, namespace: str, hosts: list[str]) -> dict[str, Any]:
        return {
            "apiVersion": "cert-manager.io/v1",
            "kind": "Certificate",
            "metadata": meta(secret, namespace),
            "spec": {
                "secretName": secret,
                "dnsNames": hosts,
                "issuerRef": {"kind": "ClusterIssuer", "name": PRODUCTION_ISSUER},
            },
        }
