"""`outfitter certs migrate` on a repository laid out as onedr0p/cluster-template and
home-ops lay theirs out (tests/fixtures/certs-repo): hosts written with Flux variables, the
variables from a parent's patch adding `substituteFrom` (a SOPS-encrypted `cluster-secrets`
Secret and a `cluster-settings` ConfigMap) and from each app's own `postBuild.substitute`;
ClusterIssuers and the issuer the repository uses; a Traefik HelmRelease whose generated
values set a resolver for a whole entry point; a folder no Flux Kustomization applies."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from outfitter import yamlio
from outfitter.cli import main
from outfitter.config import default_profile, parse_profile
from outfitter.ops import certs, release_tree, traefik_entrypoints, yaml_edit
from outfitter.ops.certs_issuer import Issuer
from outfitter.repo import model as repo_model
from outfitter.repo.envsubst import substitute
from repo_diff import line_changes, snapshot

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "certs-repo"
APPS = "kubernetes/apps"
GITEA = f"{APPS}/dev/gitea/app/ingressroute.yaml"
ECHO = f"{APPS}/network/echo/app/ingressroute.yaml"
HASS = f"{APPS}/home/home-assistant/app/ingressroute.yaml"
BLOG = "kubernetes/archive/blog/ingressroute.yaml"
ISSUERS = f"{APPS}/cert-manager/cert-manager/issuers/issuers.yaml"
TRAEFIK = "HelmRelease network/traefik (kubernetes/apps/network/traefik/app/helmrelease.yaml)"


@pytest.fixture
def home_ops(tmp_path: Path) -> Path:
    root = tmp_path / "home-ops"
    shutil.copytree(FIXTURE, root)
    return root


def routes(mig: certs.Migration) -> dict[str, certs.Route]:
    return {r.name: r for r in mig.routes}


def _certificates(path: Path) -> list[dict[str, object]]:
    return [d for d in yamlio.load_all(path.read_text()) if d.get("kind") == "Certificate"]


def test_the_plan_resolves_flux_variables(home_ops: Path) -> None:
    mig = certs.plan_migration(home_ops, default_profile())
    found = routes(mig)
    assert sorted(found) == ["echo", "esphome", "gitea", "home-assistant", "whoami"]
    assert sorted(r.name for r in mig.to_migrate) == ["echo", "gitea", "home-assistant"]

    # ${APP} from the app's own postBuild.substitute, ${DOMAIN_INTERNAL} from the
    # cluster-settings ConfigMap the parent's patch adds to every child.
    echo = found["echo"]
    assert echo.hosts == ["echo.home.example.com", "whoami-echo.home.example.com"]
    assert echo.certificate == {
        "apiVersion": "cert-manager.io/v1", "kind": "Certificate",
        "metadata": {"name": "echo-tls"},
        "spec": {"secretName": "echo-tls",
                 "dnsNames": ["${APP}.${DOMAIN_INTERNAL}", "whoami-echo.${DOMAIN_INTERNAL}"],
                 "issuerRef": {"kind": "ClusterIssuer", "name": "letsencrypt-production"}}}
    # the namespace comes from the Flux Kustomization's targetNamespace
    assert echo.group == ("network", None)

    # ${SECRET_DOMAIN} is in the SOPS-encrypted cluster-secrets: migrated, expression kept.
    gitea = found["gitea"]
    assert gitea.hosts == ["git.${SECRET_DOMAIN}"]
    assert gitea.unknown == ["SECRET_DOMAIN"]
    assert gitea.certificate is not None
    assert gitea.certificate["spec"]["dnsNames"] == ["git.${SECRET_DOMAIN}"]
    assert any(n.startswith("value of ${SECRET_DOMAIN} unknown") for n in gitea.notes)

    # Covered by the Certificate already in its namespace (`*.${DOMAIN_INTERNAL}`).
    hass = found["home-assistant"]
    assert hass.hosts == ["hass.home.example.com"]
    assert hass.secret == "home-internal-tls" and hass.certificate is None

    left = {r.name: r.reason for r in mig.routes if r.status == "left alone"}
    assert left == {
        "whoami": "cannot tell its hosts: 'whoami.${PUBLIC_DOMAIN}': ${PUBLIC_DOMAIN} is not "
                  "defined by Flux Kustomization default/whoami (substitutes from: Secret "
                  "cluster-secrets, ConfigMap cluster-settings)",
        "esphome": "uses Traefik's default certificate (TLSStore); left as it is",
    }
    assert mig.issuer == Issuer("ClusterIssuer", "letsencrypt-production",
                                "the issuer the repository already uses: 2 Certificate(s) "
                                "and cert-manager annotation(s)")
    assert mig.notes[0] == ("1 file(s) no Flux Kustomization applies were left alone "
                            f"(not-applied: Flux never reads them): {BLOG}")


def test_entry_point_resolvers_are_reported(home_ops: Path) -> None:
    mig = certs.plan_migration(home_ops, default_profile())
    found = routes(mig)
    echo, hass = found["echo"], found["home-assistant"]
    assert echo.entrypoint_resolver == traefik_entrypoints.EntrypointResolver(
        "websecure", "cloudflare", f"{TRAEFIK}: ports.websecure.tls.certResolver")
    assert hass.entrypoint_resolver == traefik_entrypoints.EntrypointResolver(
        "internal", "cloudflare",
        f"{TRAEFIK}: additionalArguments --entrypoints.internal.http.tls.certresolver=cloudflare")
    assert f"served by entrypoint resolver cloudflare on websecure ({TRAEFIK}: " \
           f"ports.websecure.tls.certResolver)" in echo.notes
    # esphome is on `web`, which has no resolver: Traefik's default certificate.
    assert found["esphome"].entrypoint_resolver is None
    assert [n for n in mig.notes if n.startswith("entry point websecure")] == [
        f"entry point websecure gets certificates from resolver cloudflare ({TRAEFIK}: "
        f"ports.websecure.tls.certResolver): 1 of the 1 route(s) it serves move to "
        f"cert-manager; once they are moved and Flux applied them, the resolver can be "
        f"removed there"]


def test_write_changes_only_the_lines_meant_to_and_a_second_run_nothing(
        home_ops: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(home_ops)
    originals = {rel: (home_ops / rel).read_text() for rel in (GITEA, ECHO, HASS)}
    assert main(["certs", "migrate", str(home_ops), "--write"]) == 0
    out = capsys.readouterr().out
    assert "issuer: ClusterIssuer letsencrypt-production (from the issuer the repository " \
           "already uses" in out
    after = snapshot(home_ops)
    assert sorted(rel for rel in before if before[rel] != after[rel]) == sorted(
        [GITEA, ECHO, HASS])

    removed, added = line_changes(originals[GITEA], (home_ops / GITEA).read_text())
    assert removed == ["    certResolver: cloudflare # Traefik's ACME resolver"]
    assert added == [
        "    secretName: gitea-tls", "---",
        "# Certificate for IngressRoute gitea (outfitter certs migrate; was certResolver "
        "cloudflare)",
        "apiVersion: cert-manager.io/v1", "kind: Certificate", "metadata:",
        "  name: gitea-tls", "spec:", "  secretName: gitea-tls", "  dnsNames:",
        "    - git.${SECRET_DOMAIN}", "  issuerRef:", "    kind: ClusterIssuer",
        "    name: letsencrypt-production"]
    removed, added = line_changes(originals[ECHO], (home_ops / ECHO).read_text())
    assert removed == ["  tls: {}"]
    assert added[:3] == ["  tls:", "    secretName: echo-tls", "---"]
    assert added[3] == ("# Certificate for IngressRoute echo (outfitter certs migrate; was "
                        "resolver cloudflare of entry point websecure)")
    # home-assistant reuses the Certificate beside it: one line, in its tls.
    removed, added = line_changes(originals[HASS], (home_ops / HASS).read_text())
    assert (removed, added) == ([], ["    secretName: home-internal-tls"])

    # The file nobody applies is untouched, and the route keeps every other line.
    assert before[BLOG] == after[BLOG]

    mig = certs.plan_migration(home_ops, default_profile())
    assert mig.to_migrate == [] and certs.write(mig) == []
    assert {r.name: r.status for r in mig.routes} == {
        "echo": "done", "gitea": "done", "home-assistant": "done", "whoami": "left alone",
        "esphome": "left alone"}
    assert snapshot(home_ops) == after


def test_flux_substitutes_the_certificate_as_it_does_the_route(home_ops: Path) -> None:
    """Substituted with the values Flux has, the Certificate names the route's hosts."""
    certs.write(certs.plan_migration(home_ops, default_profile()))
    values = {"APP": "echo", "DOMAIN_INTERNAL": "home.example.com"}
    text = substitute((home_ops / ECHO).read_text(), values)
    docs = yamlio.load_all(text)
    route = next(d for d in docs if d["kind"] == "IngressRoute")
    [cert] = [d for d in docs if d["kind"] == "Certificate"]
    assert certs.hosts_of(route["spec"]["routes"][0]["match"]) == cert["spec"]["dnsNames"] == [
        "echo.home.example.com", "whoami-echo.home.example.com"]


def test_wildcard_keeps_the_domain_expression(home_ops: Path) -> None:
    profile = parse_profile({"acme": {"challenge": "dns01", "wildcard": True}})
    mig = certs.plan_migration(home_ops, profile)
    found = routes(mig)
    echo = found["echo"]
    assert echo.secret == "wildcard-tls" and echo.certificate is not None
    assert echo.certificate["spec"]["dnsNames"] == ["${DOMAIN_INTERNAL}",
                                                   "*.${DOMAIN_INTERNAL}"]
    # Its value unknown, gitea's host cannot be shown to fit the wildcard: its own
    # Certificate, and a note that the DNS-01 domain could not be checked.
    gitea = found["gitea"]
    assert gitea.secret == "gitea-tls"
    assert ("cannot check these names are under home.example.com, the only domain the "
            "profile's DNS-01 solver answers for") in gitea.notes


def _use_issuer(root: Path, rel: str, name: str) -> None:
    path = root / rel
    path.write_text(path.read_text().replace("letsencrypt-production", name))


def test_several_issuers_in_use_exit_2_listing_them(
        home_ops: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _use_issuer(home_ops, f"{APPS}/home/home-assistant/app/certificate.yaml", "letsencrypt-staging")
    before = snapshot(home_ops)
    assert main(["certs", "migrate", str(home_ops), "--write"]) == 2
    err = capsys.readouterr().err
    assert ("the repository uses several issuers: ClusterIssuer letsencrypt-production (1), "
            "ClusterIssuer letsencrypt-staging (1); pass --issuer NAME") in err
    assert len([line for line in err.splitlines() if "several issuers" in line]) == 1
    assert "Traceback" not in err
    assert snapshot(home_ops) == before

    # The user names one: it is used, and the output says so.
    assert main(["certs", "migrate", str(home_ops), "--issuer", "letsencrypt-staging",
                 "--write"]) == 0
    assert "issuer: ClusterIssuer letsencrypt-staging (from --issuer)" in \
        capsys.readouterr().out
    [cert] = _certificates(home_ops / GITEA)
    assert cert["spec"]["issuerRef"] == {"kind": "ClusterIssuer",  # type: ignore[index]
                                         "name": "letsencrypt-staging"}


def test_ambiguity_does_not_matter_when_no_certificate_is_written(home_ops: Path) -> None:
    _use_issuer(home_ops, f"{APPS}/home/home-assistant/app/certificate.yaml", "internal-ca")
    for rel in (GITEA, ECHO):
        (home_ops / rel).unlink()
        kfile = (home_ops / rel).parent / "kustomization.yaml"
        kfile.write_text(kfile.read_text().replace("  - ./ingressroute.yaml\n", ""))
    # home-assistant reuses the Certificate beside it: nothing names an issuer.
    mig = certs.plan_migration(home_ops, default_profile())
    assert [r.name for r in mig.to_migrate] == ["home-assistant"]
    assert routes(mig)["home-assistant"].certificate is None


def _no_issuer_in_use(root: Path) -> None:
    (root / f"{APPS}/home/home-assistant/app/certificate.yaml").unlink()
    kfile = root / f"{APPS}/home/home-assistant/app/kustomization.yaml"
    kfile.write_text(kfile.read_text().replace("  - ./certificate.yaml\n", ""))
    grafana = root / f"{APPS}/observability/grafana/app/helmrelease.yaml"
    grafana.write_text(grafana.read_text().replace(
        "        cert-manager.io/cluster-issuer: letsencrypt-production\n",
        "        gethomepage.dev/enabled: \"true\"\n"))


def test_several_cluster_issuers_defined_and_none_used_exit_2(
        home_ops: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _no_issuer_in_use(home_ops)
    assert main(["certs", "migrate", str(home_ops)]) == 2
    assert ("the repository defines several ClusterIssuers and uses none: "
            "letsencrypt-production, letsencrypt-staging; pass --issuer NAME") in \
        capsys.readouterr().err


def test_the_single_cluster_issuer_defined_decides(home_ops: Path) -> None:
    _no_issuer_in_use(home_ops)
    issuers = home_ops / ISSUERS
    issuers.write_text(issuers.read_text().split("---\n")[1].replace(
        "letsencrypt-production", "cloudflare-dns").join(["---\n", ""]))
    mig = certs.plan_migration(home_ops, default_profile())
    assert mig.issuer == Issuer("ClusterIssuer", "cloudflare-dns",
                                "the only ClusterIssuer the repository defines")
    # One defined in a folder Flux does not apply does not count.
    (home_ops / "kubernetes/archive/blog/issuer.yaml").write_text(
        "apiVersion: cert-manager.io/v1\nkind: ClusterIssuer\nmetadata:\n  name: old\n"
        "spec:\n  selfSigned: {}\n")
    assert certs.plan_migration(home_ops, default_profile()).issuer.name == "cloudflare-dns"
    # None at all: the profile's, and it says why.
    issuers.unlink()
    kfile = issuers.parent / "kustomization.yaml"
    kfile.write_text(kfile.read_text().replace("  - ./issuers.yaml\n", ""))
    issuer = certs.plan_migration(home_ops, default_profile()).issuer
    assert (issuer.kind, issuer.name) == ("ClusterIssuer", "letsencrypt-production")
    assert issuer.source.startswith("the profile's")


def test_a_namespaced_issuer_is_named_with_its_kind(home_ops: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["certs", "migrate", str(home_ops), "--issuer", "internal-ca",
                 "--issuer-kind", "Issuer", "--write"]) == 0
    assert "Issuer internal-ca is namespaced" in capsys.readouterr().out
    [cert] = _certificates(home_ops / GITEA)
    assert cert["spec"]["issuerRef"] == {"kind": "Issuer",  # type: ignore[index]
                                         "name": "internal-ca"}


@pytest.mark.parametrize(("args", "message"), [
    (["--issuer", "a", "--staging"], "--issuer and --staging both name the issuer"),
    (["--issuer-kind", "Issuer"], "--issuer-kind goes with --issuer NAME"),
    (["--issuer", "a", "--issuer-kind", "CA"], "--issuer-kind CA: must be ClusterIssuer"),
])
def test_issuer_options_misused_exit_2(home_ops: Path, capsys: pytest.CaptureFixture[str],
                                       args: list[str], message: str) -> None:
    assert main(["certs", "migrate", str(home_ops), *args]) == 2
    assert message in capsys.readouterr().err


def test_variables_flux_would_not_substitute(tmp_path: Path) -> None:
    """A loose folder (no Flux Kustomization), a default in the expression, substitution
    disabled on the object."""
    route = ("apiVersion: traefik.io/v1alpha1\nkind: IngressRoute\nmetadata:\n  name: {name}\n"
             "  namespace: apps\n{meta}spec:\n  entryPoints: [websecure]\n  routes:\n"
             "    - match: Host(`{host}`)\n      services: [{{name: app, port: 80}}]\n"
             "  tls:\n    certResolver: letsencrypt\n")
    (tmp_path / "a.yaml").write_text(route.format(name="a", meta="", host="a.${DOMAIN}"))
    [a] = certs.plan_migration(tmp_path, default_profile()).routes
    assert a.reason == ("cannot tell its hosts: 'a.${DOMAIN}': ${DOMAIN} is not defined (no "
                        "Flux Kustomization with postBuild substitution applies this file)")

    app = tmp_path / "app"
    app.mkdir()
    (tmp_path / "ks.yaml").write_text(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n"
        "  name: app\n  namespace: flux-system\nspec:\n  path: ./app\n"
        "  sourceRef: {kind: GitRepository, name: flux-system}\n"
        "  postBuild:\n    substitute: {ZONE: home.example.com}\n")
    (tmp_path / "a.yaml").unlink()
    (app / "b.yaml").write_text(route.format(name="b", meta="",
                                             host="b.${DOMAIN:=home.example.com}"))
    (app / "c.yaml").write_text(route.format(
        name="c", meta="  annotations:\n    kustomize.toolkit.fluxcd.io/substitute: disabled\n",
        host="c.${ZONE}"))
    (app / "d.yaml").write_text(route.format(name="d", meta="", host="D.${ZONE}."))
    found = routes(certs.plan_migration(tmp_path, default_profile()))
    assert found["b"].hosts == ["b.home.example.com"]
    assert found["c"].reason == ("cannot tell its hosts: 'c.${ZONE}' is not a host name "
                                 "(Flux substitution is disabled on this object)")
    assert found["d"].hosts == ["d.home.example.com"]
    assert found["d"].certificate is not None
    assert found["d"].certificate["spec"]["dnsNames"] == ["D.${ZONE}"]


def _traefik(tmp_path: Path, values: str, extra: str = "") -> dict[
        str, traefik_entrypoints.EntrypointResolver]:
    (tmp_path / "hr.yaml").write_text(
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n"
        "  name: traefik\n  namespace: network\nspec:\n  chartRef:\n    kind: OCIRepository\n"
        "    name: traefik\n  valuesFrom:\n    - kind: Secret\n      name: traefik-extra\n"
        "      valuesKey: resolver\n      targetPath: ports.websecure.tls.certResolver\n"
        f"  values:\n{values}" + extra)
    files = [yaml_edit.read(p) for p in sorted(tmp_path.glob("*.yaml"))]
    tree = release_tree.scan(repo_model.load(tmp_path), files, tmp_path)
    return traefik_entrypoints.find(files, tree)


def test_entry_point_resolver_in_each_place_traefik_values_put_it(tmp_path: Path) -> None:
    oci = ("---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n"
           "  name: traefik\nspec:\n  url: oci://charts.example.com/traefik/helm/traefik\n")
    # charts after v3x: ports.<ep>.http.tls
    got = _traefik(tmp_path, "    ports:\n      websecure:\n        http:\n          tls:\n"
                             "            certResolver: le\n", oci)
    assert got["websecure"].resolver == "le"
    assert got["websecure"].where.endswith("ports.websecure.http.tls.certResolver")
    # a Secret's valuesKey at a targetPath (one flat value, as Flux puts it), under the
    # inline values (which win)
    secret = ("---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: traefik-extra\n"
              "stringData:\n  resolver: from-secret\n")
    got = _traefik(tmp_path, "    deployment: {replicas: 2}\n", oci + secret)
    assert got["websecure"].resolver == "from-secret"
    got = _traefik(tmp_path, "    ports: {websecure: {tls: {certResolver: inline}}}\n",
                   oci + secret)
    assert got["websecure"].resolver == "inline"
    # not Traefik's chart: nothing
    (tmp_path / "hr.yaml").unlink()
    got = _traefik(tmp_path, "    ports: {websecure: {tls: {certResolver: inline}}}\n",
                   oci.replace("/traefik\n", "/other\n"))
    assert got == {}


def test_migrated_files_fit_the_upstream_crds_once_flux_substituted(
        home_ops: Path, upstream: None) -> None:
    import upstream_data

    assert main(["certs", "migrate", str(home_ops), "--write"]) == 0
    values = {"APP": "echo", "DOMAIN_INTERNAL": "home.example.com",
              "SECRET_DOMAIN": "example.net"}
    index = upstream_data.crd_index()
    kinds = []
    for rel in (GITEA, ECHO, HASS):
        for obj in yamlio.load_all(substitute((home_ops / rel).read_text(), values)):
            assert index.validate(obj) == [], (rel, obj["metadata"]["name"])
            kinds.append(obj["kind"])
    assert sorted(kinds) == ["Certificate", "Certificate", "IngressRoute", "IngressRoute",
                             "IngressRoute", "IngressRoute"]


def test_a_file_applied_twice_with_different_values_is_not_guessed() -> None:
    from outfitter.ops.certs_hosts import Host, HostError, Scope, resolve, suffix_for

    prod = Scope("Flux Kustomization flux-system/app-prod", {"DOMAIN": "example.com"}, "")
    lab = Scope("Flux Kustomization flux-system/app-lab", {"DOMAIN": "lab.example.com"}, "")
    assert resolve("a.${DOMAIN}", [prod, prod]) == Host("a.${DOMAIN}", "a.example.com")
    with pytest.raises(HostError, match=re.escape(
            "becomes a.example.com under Flux Kustomization flux-system/app-prod and "
            "a.lab.example.com under")):
        resolve("a.${DOMAIN}", [prod, lab])
    with pytest.raises(HostError, match="becomes 'a' under ks: not a host name"):
        resolve("a.${DOMAIN}", [Scope("ks", {"DOMAIN": ""}, "")])
    hosts = [Host("a.${DOMAIN}", "a.example.com")]
    assert suffix_for("example.com", hosts) == "${DOMAIN}"
    assert suffix_for("other.com", hosts) == "other.com"


def test_staging_names_the_repositorys_own_staging_issuer(
        home_ops: Path, capsys: pytest.CaptureFixture[str]) -> None:
    issuers = home_ops / f"{APPS}/cert-manager/cert-manager/issuers/issuers.yaml"
    issuers.write_text(issuers.read_text().replace("name: letsencrypt-staging",
                                                   "name: le-staging"))
    mig = certs.plan_migration(home_ops, default_profile(),
                               Issuer("ClusterIssuer", "letsencrypt-staging", "--staging"))
    assert mig.issuer == Issuer("ClusterIssuer", "le-staging", "--staging: the repository's "
                                "ClusterIssuer on an ACME staging directory")
    assert {r.certificate["spec"]["issuerRef"]["name"] for r in mig.to_migrate
            if r.certificate is not None} == {"le-staging"}
    # None of its own: outfitter's staging issuer, as before.
    issuers.write_text(issuers.read_text().replace("acme-staging-v02", "acme-v02"))
    mig = certs.plan_migration(home_ops, default_profile(),
                               Issuer("ClusterIssuer", "letsencrypt-staging", "--staging"))
    assert mig.issuer.name == "letsencrypt-staging"
