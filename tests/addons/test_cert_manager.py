"""cert-manager's issuers for each ACME challenge."""

from __future__ import annotations

from typing import Any

from outfitter.config import parse_profile
from outfitter.plan import build_plan


def rendered(data: dict[str, Any] | None = None) -> Any:
    return build_plan(parse_profile(data or {})).get("cert-manager").rendered


def test_staging_and_production_issuers_with_http01_through_traefik() -> None:
    issuers = {o["metadata"]["name"]: o for o in rendered().config if o["kind"] == "ClusterIssuer"}
    assert sorted(issuers) == ["letsencrypt-production", "letsencrypt-staging"]
    prod = issuers["letsencrypt-production"]["spec"]["acme"]
    assert prod["server"] == "https://acme-v02.api.letsencrypt.org/directory"
    assert prod["email"] == "admin@home.example.com"
    assert prod["solvers"] == [{"http01": {"ingress": {"ingressClassName": "traefik"}}}]
    assert "staging" in issuers["letsencrypt-staging"]["spec"]["acme"]["server"]


def test_dns01_takes_its_token_from_the_secret_store_and_can_issue_a_wildcard() -> None:
    r = rendered({"acme": {"challenge": "dns01", "wildcard": True,
                           "dns01": {"tokenKey": "cf-token"}},
                  "cluster": {"domain": "lab.example.org"}})
    [es] = [o for o in r.app if o["kind"] == "ExternalSecret"]
    assert es["spec"]["data"] == [{"secretKey": "api-token",
                                   "remoteRef": {"key": "cf-token", "property": "credential"}}]
    issuer = next(o for o in r.config if o["kind"] == "ClusterIssuer")
    [solver] = issuer["spec"]["acme"]["solvers"]
    assert solver["dns01"]["cloudflare"]["apiTokenSecretRef"]["name"] == es["metadata"]["name"]
    assert solver["selector"] == {"dnsZones": ["lab.example.org"]}
    [wildcard] = [o for o in r.config if o["kind"] == "Certificate"]
    assert wildcard["spec"]["dnsNames"] == ["lab.example.org", "*.lab.example.org"]


def test_expiry_alert_within_14_days() -> None:
    [rule] = [o for o in rendered().app if o["kind"] == "PrometheusRule"]
    alerts = {r["alert"]: r for r in rule["spec"]["groups"][0]["rules"]}
    assert "14 * 24 * 3600" in alerts["CertificateExpiresSoon"]["expr"]
    assert rule["metadata"]["labels"] == {"release": "kube-prometheus-stack"}


GATEWAY = {"existing": ["flux", "kube-prometheus-stack", "external-secrets", "envoy-gateway"],
           "ingress": {"provider": "gateway-api", "gateway": {
               "name": "envoy-external", "namespace": "network", "httpSectionName": "web"}}}


def test_http01_through_a_gateway_uses_the_gateway_http_route_solver() -> None:
    plan = build_plan(parse_profile(GATEWAY))
    ap = plan.get("cert-manager")
    prod = next(o for o in ap.rendered.config if o["metadata"]["name"] == "letsencrypt-production")
    assert prod["spec"]["acme"]["solvers"] == [{"http01": {"gatewayHTTPRoute": {"parentRefs": [{
        "group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "envoy-external",
        "namespace": "network", "sectionName": "web"}]}}}]
    # cert-manager 1.21 only serves the solver with its Gateway API support switched on.
    assert ap.values["config"]["gatewayAPI"] == {"enabled": True}
    assert "config" not in build_plan(parse_profile({})).get("cert-manager").values
    assert any("gatewayHTTPRoute" in n for n in ap.notes)


def test_dns01_is_the_same_through_a_gateway() -> None:
    with_gateway = rendered({**GATEWAY, "acme": {"challenge": "dns01"}})
    assert with_gateway.config == rendered({"acme": {"challenge": "dns01"}}).config
