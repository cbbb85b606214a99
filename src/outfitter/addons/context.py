"""What an add-on gets while rendering: the profile, and builders for the objects that wire
add-ons into the platform the cluster already runs (External Secrets or SOPS,
prometheus-operator, Grafana's sidecar, Traefik with cert-manager or a Gateway API gateway).
Add-ons call these instead of writing the same objects eleven times.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from outfitter.addons.credentials import BASIC_AUTH_USER, SopsSecret, Source
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
    endpoints: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Per enabled add-on, the addresses it serves the others (Addon.endpoints): where it
    runs, installed by outfitter or adopted."""
    issuer: str = PRODUCTION_ISSUER
    """The ClusterIssuer Certificates name (the adopted cert-manager's, when declared)."""

    def enabled(self, name: str) -> bool:
        return self.profile.addon_options(name).enabled

    def renders(self, name: str) -> bool:
        """Enabled and installed by outfitter (not adopted): its own objects, such as its
        Grafana datasource and the uid others link to, are in the tree."""
        opts = self.profile.addon_options(name)
        return opts.enabled and opts.adopted is None

    def endpoint(self, addon: str, name: str) -> str:
        """Address `name` of add-on `addon` (e.g. Loki's `push`), wherever it runs."""
        try:
            return self.endpoints[addon][name]
        except KeyError:
            raise RuntimeError(f"{addon} serves no endpoint {name!r} (is it enabled?)") from None

    # --- Credentials: External Secrets or SOPS ---------------------------------------------
    @property
    def sops(self) -> bool:
        return self.profile.secrets.provider == "sops"

    def credential(
        self,
        name: str,
        namespace: str,
        keys: dict[str, Source | tuple[str, str]],
        template: dict[str, str] | None = None,
        labels: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Secret `name` with the keys a chart reads, whatever the secrets provider.

        `keys` maps a variable to its Source (a bare (item, property) is one the user owns).
        Without a template each variable becomes a key of the Secret; with one, the template
        builds the keys. External Secrets: an ExternalSecret from the secret store. SOPS: a
        Secret the render step fills in and encrypts. No value is ever written in the clear.
        """
        sources = {var: s if isinstance(s, Source) else Source(*s) for var, s in keys.items()}
        if not self.sops:
            return self.external_secret(name, namespace, sources, template, labels)
        data = template if template is not None else {var: f"{{{{ .{var} }}}}"
                                                      for var in sources}
        return SopsSecret({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": meta(name, namespace, labels=labels),
            "type": "Opaque",
            "stringData": dict(data),
        }, sources)

    def external_secret(
        self,
        name: str,
        namespace: str,
        keys: dict[str, Source],
        template: dict[str, str] | None = None,
        labels: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """An ExternalSecret producing Secret `name` from the profile's secret store."""
        store = self.profile.secret_store
        spec: dict[str, Any] = {
            "refreshInterval": "1h",
            "secretStoreRef": {"kind": store.kind, "name": store.name},
            "target": {"name": name, "creationPolicy": "Owner"},
            "data": [
                {"secretKey": var,
                 "remoteRef": {"key": source.item, "property": source.prop}}
                for var, source in keys.items()
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
        # An in-cluster server takes whatever keys it is given: outfitter makes them (SOPS).
        made = store.provider != "external"
        return self.credential(
            name, namespace,
            {"access_key_id": Source(store.credentials_item, "access-key-id",
                                     "access-key" if made else None),
             "secret_access_key": Source(store.credentials_item, "secret-access-key",
                                         "secret" if made else None)},
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

    # --- A UI behind authentication: Traefik + cert-manager, or a Gateway API gateway ------
    def host(self, sub: str) -> str:
        return f"{sub}.{self.profile.cluster.domain}"

    @property
    def gateway_api(self) -> bool:
        return self.profile.ingress.provider == "gateway-api"

    def basic_auth(self, name: str, namespace: str, key: str) -> list[dict[str, Any]]:
        """Secret `<name>-basic-auth` holding one htpasswd line under `key`. From the secret
        store (item `<name>-basic-auth`, property htpasswd), or generated with SOPS: then a
        second Secret `<name>-login` keeps the user name and password to log in with."""
        item = f"{name}-basic-auth"
        if not self.sops:
            return [self.credential(item, namespace, {"users": (item, "htpasswd")},
                                    template={key: "{{ .users }}"})]
        return [
            self.credential(item, namespace, {"users": Source(item, "htpasswd", "htpasswd")},
                            template={key: "{{ .users }}"}),
            self.credential(f"{name}-login", namespace,
                            {"password": Source(item, "password", "secret")},
                            template={"username": BASIC_AUTH_USER,
                                      "password": "{{ .password }}"}),
        ]

    def ui_route(
        self, name: str, namespace: str, service: str, port: int, sub: str | None = None
    ) -> list[dict[str, Any]]:
        """A route to the UI that never lets an unauthenticated request through: a Traefik
        IngressRoute with a basic-auth Middleware (and a cert-manager Certificate), or an
        HTTPRoute on the profile's gateway with an envoy-gateway SecurityPolicy."""
        if self.gateway_api:
            return self._gateway_ui_route(name, namespace, service, port, sub)
        host = self.host(sub or name)
        tls_secret = f"{name}-tls"
        auth_secret = f"{name}-basic-auth"
        # Without cert-manager the route keeps the Traefik resolver the cluster uses today.
        with_cert_manager = self.enabled("cert-manager")
        tls = ({"secretName": tls_secret} if with_cert_manager
               else {"certResolver": self.profile.traefik.cert_resolver})
        objects = [
            *self.basic_auth(name, namespace, "users"),
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
            objects.insert(len(objects) - 1, self.certificate(tls_secret, namespace, [host]))
        return objects

    def _gateway_ui_route(
        self, name: str, namespace: str, service: str, port: int, sub: str | None
    ) -> list[dict[str, Any]]:
        # TLS ends at the gateway's HTTPS listener, with the gateway's own certificate.
        gateway = self.profile.ingress.gateway
        return [
            *self.basic_auth(name, namespace, ".htpasswd"),
            {
                "apiVersion": "gateway.networking.k8s.io/v1",
                "kind": "HTTPRoute",
                "metadata": meta(name, namespace),
                "spec": {
                    "parentRefs": [{"name": gateway.name, "namespace": gateway.namespace,
                                    "sectionName": gateway.section_name}],
                    "hostnames": [self.host(sub or name)],
                    "rules": [{"backendRefs": [{"name": service, "port": port}]}],
                },
            },
            {
                "apiVersion": "gateway.envoyproxy.io/v1alpha1",
                "kind": "SecurityPolicy",
                "metadata": meta(f"{name}-auth", namespace),
                "spec": {
                    "targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute",
                                    "name": name}],
                    "basicAuth": {"users": {"name": f"{name}-basic-auth"}},
                },
            },
        ]

    def certificate(self, secret: str, namespace: str, hosts: list[str]) -> dict[str, Any]:
        return {
            "apiVersion": "cert-manager.io/v1",
            "kind": "Certificate",
            "metadata": meta(secret, namespace),
            "spec": {
                "secretName": secret,
                "dnsNames": hosts,
                "issuerRef": {"kind": "ClusterIssuer", "name": self.issuer},
            },
        }
