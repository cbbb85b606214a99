"""`outfitter certs migrate` on the homelab-style repository in tests/fixtures/flux-repo:
IngressRoutes and IngressRouteTCPs in both API groups, multi-document files, v2 and v3 rule
syntax, routes it must leave alone (HostRegexp, HostSNI(`*`), passthrough, plain HTTP, an
existing Secret), comments and two indentation styles."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import upstream_data
from outfitter import yamlio
from outfitter.cli import main
from outfitter.config import default_profile, parse_profile
from outfitter.ops import certs
from repo_diff import line_changes, snapshot

ROUTES = "kubernetes/apps/network/routes"
JELLYFIN = "kubernetes/apps/media/jellyfin/app/ingressroute.yaml"


def routes(mig: certs.Migration) -> dict[str, certs.Route]:
    return {r.name: r for r in mig.routes}


@pytest.mark.parametrize(("rule", "tcp", "hosts"), [
    ("Host(`a.example.com`)", False, ["a.example.com"]),
    ("Host(`a.example.com`) || Host(`b.example.com`)", False, ["a.example.com", "b.example.com"]),
    ("(Host(`a.example.com`) || Host(\"B.example.com\")) && PathPrefix(`/api`)", False,
     ["a.example.com", "b.example.com"]),
    ("Host(`a.example.com`, `b.example.com`)", False, ["a.example.com", "b.example.com"]),
    ("Host(`a.example.com`) || Host(`a.example.com`)", False, ["a.example.com"]),
    ("HostSNI(`mqtt.example.com`)", True, ["mqtt.example.com"]),
    ("HostSNI(`db.example.com`) || HostSNI(`db2.example.com`)", True,
     ["db.example.com", "db2.example.com"]),
])
def test_hosts_of_match_rules(rule: str, tcp: bool, hosts: list[str]) -> None:
    assert certs.hosts_of(rule, tcp=tcp) == hosts


@pytest.mark.parametrize(("rule", "tcp", "why"), [
    ("HostRegexp(`^.+\\.example\\.com$`)", False, "a pattern"),
    ("PathPrefix(`/`)", False, "matches every host"),
    ("HostSNI(`*`)", True, "matches every host"),
    ("Host(`a.example.com`) && !Host(`b.example.com`)", False, "negated"),
    ("Host(`not a host`)", False, "is not a host name"),
    ("Host()", False, "no quoted host name"),
])
def test_rules_whose_hosts_cannot_be_known(rule: str, tcp: bool, why: str) -> None:
    with pytest.raises(certs.RuleError, match=why):
        certs.hosts_of(rule, tcp=tcp)


def test_covers() -> None:
    assert certs.covers("*.home.example.com", "ha.home.example.com")
    assert not certs.covers("*.home.example.com", "a.b.home.example.com")
    assert not certs.covers("*.home.example.com", "home.example.com")
    assert certs.covers("home.example.com", "home.example.com")


def test_the_migration_plan(repo: Path) -> None:
    mig = certs.plan_migration(repo, default_profile())
    found = routes(mig)
    assert sorted(r.name for r in mig.to_migrate) == [
        "blog", "home-assistant", "jellyfin", "mqtt", "nas", "wiki"]
    assert found["jellyfin"].hosts == ["jellyfin.home.example.com", "media.home.example.com"]
    assert found["jellyfin"].resolver == "letsencrypt"
    cert = found["jellyfin"].certificate
    assert cert == {
        "apiVersion": "cert-manager.io/v1", "kind": "Certificate",
        "metadata": {"name": "jellyfin-tls", "namespace": "media"},
        "spec": {"secretName": "jellyfin-tls",
                 "dnsNames": ["jellyfin.home.example.com", "media.home.example.com"],
                 "issuerRef": {"kind": "ClusterIssuer", "name": "letsencrypt-production"}}}
    # No namespace in the file: the Certificate beside it gets the kustomization's, like the
    # route does.
    assert "namespace" not in (found["home-assistant"].certificate or {})["metadata"]
    assert found["mqtt"].hosts == ["mqtt.home.example.com"]  # HostSNI on a TCP route
    assert found["nas"].hosts == ["nas.home.example.com", "files.home.example.com"]
    assert found["grafana"].status == "done"
    left = {r.name: r.reason for r in mig.routes if r.status == "left alone"}
    assert left == {
        "preview-apps": "cannot tell its hosts: HostRegexp: a pattern, not host names",
        "http-redirect": "no TLS and not on the websecure entry point (web): a plain HTTP "
                         "route",
        "postgres": "TCP route without TLS: no host name to certify",
        "unifi": "TLS passthrough: the backend terminates TLS",
    }
    assert any("traefik.containo.us" in n for n in mig.notes)
    assert "kubernetes/templates/deployment.yaml: not valid YAML (line 6); skipped" \
        in mig.skipped


def test_write_changes_only_the_route_tls_and_adds_certificates(repo: Path) -> None:
    before = snapshot(repo)
    originals = {rel: (repo / rel).read_text() for rel in before if rel.endswith(".yaml")}
    assert main(["certs", "migrate", str(repo), "--write"]) == 0
    after = snapshot(repo)
    assert sorted(rel for rel in before if before[rel] != after[rel]) == [
        JELLYFIN, f"{ROUTES}/legacy.yaml", f"{ROUTES}/routes.yaml", f"{ROUTES}/tcp.yaml"]

    # Every line that went away is a resolver line or the resolver's `domains`.
    for rel in (JELLYFIN, f"{ROUTES}/legacy.yaml", f"{ROUTES}/routes.yaml",
                f"{ROUTES}/tcp.yaml"):
        removed, added = line_changes(originals[rel], (repo / rel).read_text())
        assert all("certResolver: letsencrypt" in line for line in removed
                   if "domains" not in line and "sans" not in line
                   and "example.com" not in line), rel
    removed, added = line_changes(originals[JELLYFIN], (repo / JELLYFIN).read_text())
    assert removed == ["    certResolver: letsencrypt  # the Traefik ACME resolver"]
    assert added[0] == "    secretName: jellyfin-tls"
    assert added[1] == "---"
    removed, added = line_changes(originals[f"{ROUTES}/routes.yaml"],
                                  (repo / f"{ROUTES}/routes.yaml").read_text())
    assert removed == [
        "    certResolver: letsencrypt",  # nas
        "    domains:", "      - main: nas.home.example.com", "        sans:",
        "          - files.home.example.com",
        "    certResolver: letsencrypt",  # blog
    ]
    assert added[:4] == ["  tls:", "    secretName: home-assistant-tls",
                         "    secretName: nas-tls", "    secretName: blog-tls"]
    # The comment above `options` stays above it.
    text = (repo / f"{ROUTES}/routes.yaml").read_text()
    assert "    secretName: nas-tls\n    # modern ciphers only\n    options:\n" in text
    # The 4-space file keeps its style, in the route and in the Certificate added to it.
    legacy = (repo / f"{ROUTES}/legacy.yaml").read_text()
    assert "    tls:\n        secretName: wiki-tls\n---\n" in legacy
    assert "    dnsNames:\n    -   wiki.home.example.com\n" in legacy

    docs = yamlio.load_all(text)
    kinds = [(d["kind"], d["metadata"]["name"]) for d in docs]
    assert kinds[-3:] == [("Certificate", "home-assistant-tls"), ("Certificate", "nas-tls"),
                          ("Certificate", "blog-tls")]
    nas = next(d for d in docs if d["metadata"]["name"] == "nas" and d["kind"] == "IngressRoute")
    assert nas["spec"]["tls"] == {"secretName": "nas-tls", "options": {"name": "modern"}}


def test_migrated_objects_fit_the_upstream_crds(repo: Path, upstream: None) -> None:
    assert main(["certs", "migrate", str(repo), "--write"]) == 0
    index = upstream_data.crd_index()
    checked = 0
    for rel in (JELLYFIN, f"{ROUTES}/routes.yaml", f"{ROUTES}/tcp.yaml"):
        for obj in yamlio.load_all((repo / rel).read_text()):
            problems = index.validate(obj)
            assert problems == [], (rel, obj["metadata"]["name"], problems)
            checked += 1
    assert checked == 16


def test_preview_writes_nothing(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(repo)
    assert main(["certs", "migrate", str(repo)]) == 0
    captured = capsys.readouterr()
    assert snapshot(repo) == before
    assert "-    certResolver: letsencrypt  # the Traefik ACME resolver" in captured.out
    assert "+    secretName: jellyfin-tls" in captured.out
    assert "preview only: 4 file(s) would change" in captured.err


def test_a_second_run_changes_nothing(repo: Path) -> None:
    assert main(["certs", "migrate", str(repo), "--write"]) == 0
    before = snapshot(repo)
    mig = certs.plan_migration(repo, default_profile())
    assert mig.to_migrate == [] and certs.write(mig) == []
    assert snapshot(repo) == before


def test_wildcard_with_dns01_shares_one_certificate_per_namespace(repo: Path) -> None:
    profile = parse_profile({"acme": {"challenge": "dns01", "wildcard": True}})
    mig = certs.plan_migration(repo, profile)
    found = routes(mig)
    # Everything in network/routes (one kustomization, one namespace) shares one wildcard.
    network = [found[n] for n in ("wiki", "home-assistant", "nas", "mqtt")]
    assert {r.secret for r in network} == {"wildcard-tls"}
    assert [r.name for r in network if r.certificate is not None] == ["wiki"]
    assert found["wiki"].certificate is not None
    assert found["wiki"].certificate["spec"]["dnsNames"] == [
        "home.example.com", "*.home.example.com"]
    assert found["jellyfin"].certificate is not None  # media: its own
    # DNS-01 only answers for the profile's domain: the blog stays on its resolver.
    assert found["blog"].status == "left alone"
    assert "outside home.example.com" in (found["blog"].reason or "")
    certs.write(mig)
    wildcards = [d for p in sorted(repo.rglob("*.yaml")) if "templates" not in p.parts
                 for d in yamlio.load_all(p.read_text())
                 if d.get("kind") == "Certificate"]
    assert len(wildcards) == 2


def test_an_existing_certificate_is_reused(repo: Path) -> None:
    (repo / JELLYFIN).write_text((repo / JELLYFIN).read_text() + (
        "---\napiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata:\n"
        "  name: media-names\n  namespace: media\nspec:\n  secretName: media-names-tls\n"
        "  dnsNames: ['*.home.example.com']\n  issuerRef: {kind: ClusterIssuer, "
        "name: letsencrypt-production}\n"))
    found = routes(certs.plan_migration(repo, default_profile()))
    assert found["jellyfin"].secret == "media-names-tls"
    assert found["jellyfin"].certificate is None


def test_staging_issuer_and_json(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["certs", "migrate", str(repo), "--staging", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["issuer"] == "letsencrypt-staging"
    migrated = [r for r in data["routes"] if r["status"] == "migrate"]
    assert {r["certificate"]["spec"]["issuerRef"]["name"] for r in migrated} == {
        "letsencrypt-staging"}


def test_a_route_whose_edit_would_reformat_the_file_is_left_alone(repo: Path) -> None:
    odd = repo / "kubernetes/apps/odd/route.yaml"
    odd.parent.mkdir(parents=True)
    # Two sequence styles in one document and `tls` as a flow mapping with inner spaces,
    # which ruamel.yaml would write as `{certResolver: letsencrypt}`: the edit of that line
    # cannot keep the user's layout.
    odd.write_text("apiVersion: traefik.io/v1alpha1\nkind: IngressRoute\nmetadata:\n"
                   "  name: odd\n  namespace: odd\nspec:\n  entryPoints:\n  - websecure\n"
                   "  routes:\n    - kind: Rule\n      match: Host(`odd.home.example.com`)\n"
                   "      services:\n        - {name: odd, port: 80}\n"
                   "  tls: { certResolver: letsencrypt }\n")
    before = odd.read_text()
    mig = certs.plan_migration(repo, default_profile())
    assert routes(mig)["odd"].status == "left alone"
    assert any(s.startswith("kubernetes/apps/odd/route.yaml:1: IngressRoute odd/odd: "
                            "not edited") for s in mig.skipped)
    certs.write(mig)
    assert odd.read_text() == before


def test_missing_path_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["certs", "migrate", "/nonexistent/repo"]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def _route(kind: str, name: str, match: str, tls: str) -> str:
    return (f"---\napiVersion: traefik.io/v1alpha1\nkind: {kind}\nmetadata:\n  name: {name}\n"
            f"  namespace: apps\nspec:\n  entryPoints:\n    - websecure\n  routes:\n"
            f"    - match: {match}\n      services:\n        - name: {name}\n"
            f"          port: 80\n  tls:\n{tls}")


def test_same_name_http_and_tcp_routes_get_distinct_certificates(tmp_path: Path) -> None:
    (tmp_path / "routes.yaml").write_text(
        _route("IngressRoute", "mqtt", "Host(`mqtt.home.example.com`)",
               "    certResolver: letsencrypt\n")
        + _route("IngressRouteTCP", "mqtt", "HostSNI(`broker.home.example.com`)",
                 "    certResolver: letsencrypt\n"))
    mig = certs.plan_migration(tmp_path, default_profile())
    assert [r.secret for r in mig.routes] == ["mqtt-tls", "mqtt-ingressroutetcp-tls"]
    certs.write(mig)
    names = [d["metadata"]["name"] for d in yamlio.load_all((tmp_path / "routes.yaml")
                                                               .read_text())
             if d["kind"] == "Certificate"]
    assert names == ["mqtt-tls", "mqtt-ingressroutetcp-tls"]


def test_a_wildcard_resolver_domain_needs_dns01(tmp_path: Path) -> None:
    (tmp_path / "route.yaml").write_text(_route(
        "IngressRoute", "apps", "Host(`a.home.example.com`)",
        "    certResolver: letsencrypt\n    domains:\n      - main: '*.home.example.com'\n"))
    [route] = certs.plan_migration(tmp_path, default_profile()).routes
    assert route.status == "left alone"
    assert route.reason == ("*.home.example.com: a wildcard name needs the DNS-01 challenge "
                            "(acme.challenge is http01); left on its resolver")
    dns = parse_profile({"acme": {"challenge": "dns01"}})
    [route] = certs.plan_migration(tmp_path, dns).routes
    assert route.status == "migrate"
    assert route.certificate is not None
    assert route.certificate["spec"]["dnsNames"] == ["a.home.example.com", "*.home.example.com"]


def test_an_existing_certificate_for_other_names_is_not_reused(tmp_path: Path) -> None:
    (tmp_path / "route.yaml").write_text(
        _route("IngressRoute", "app", "Host(`app.home.example.com`)",
               "    certResolver: letsencrypt\n")
        + "---\napiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata:\n"
          "  name: app-tls\n  namespace: apps\nspec:\n  secretName: app-tls\n"
          "  dnsNames: [other.home.example.com]\n"
          "  issuerRef: {kind: ClusterIssuer, name: letsencrypt-production}\n")
    [route] = certs.plan_migration(tmp_path, default_profile()).routes
    assert route.status == "migrate"
    # The name app-tls is taken by a Certificate for other names: a distinct one is chosen.
    assert route.secret == "app-ingressroute-tls"


def test_a_repository_without_traefik_routes_says_so(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "deploy.yaml").write_text(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n"
        "  name: echo\nspec:\n  hostnames: [echo.example.com]\n")
    assert main(["certs", "migrate", str(tmp_path)]) == 0
    out = capsys.readouterr()
    assert "no Traefik IngressRoute or IngressRouteTCP in the files Flux applies: nothing " \
           "to migrate" in out.out + out.err
    assert "issuer:" not in out.out + out.err
