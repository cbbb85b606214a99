"""A credential, whatever the secrets provider: ExternalSecret or a Secret for SOPS, the
templates filled and read back, generated values."""

from __future__ import annotations

import string
from typing import Any

from outfitter.addons.credentials import (
    SopsSecret,
    Source,
    fill,
    generate,
    htpasswd_line,
    placeholder,
    recover,
)
from outfitter.config import parse_profile
from outfitter.plan import build_plan, make_context

VELERO = ("[default]\naws_access_key_id={{ .access_key_id }}\n"
          "aws_secret_access_key={{ .secret_access_key }}\n")


def ctx(data: dict[str, Any] | None = None) -> Any:
    return make_context(parse_profile(data or {}))


def test_a_template_filled_in_gives_its_values_back() -> None:
    values = {"access_key_id": "AKIA0", "secret_access_key": "s3cr=t/with\nlines"}
    filled = fill(VELERO, values)
    assert "{{" not in filled
    assert recover(VELERO, filled) == values
    # Variable names may hold a `-` (a secret store property), and may repeat.
    assert recover("{{ .api-token }}:{{ .api-token }}", "a:a") == {"api-token": "a"}
    assert recover("{{ .api-token }}:{{ .api-token }}", "a:b") is None
    assert recover(VELERO, "[default]\nsomething else\n") is None


def test_generated_values_come_from_the_os_random_source() -> None:
    key = generate(Source("s3", "access-key-id", "access-key"), {})
    secret = generate(Source("s3", "secret-access-key", "secret"), {})
    assert len(key) == 20 and set(key) <= set(string.ascii_uppercase + string.digits)
    assert len(secret) == 40 and set(secret) <= set(string.ascii_letters + string.digits)
    assert generate(Source("s3", "secret-access-key", "secret"), {}) != secret


def test_an_htpasswd_line_is_derived_from_the_items_password() -> None:
    # The SHA form envoy-gateway requires and Traefik accepts (`htpasswd -nbs admin password`).
    assert htpasswd_line("admin", "password") == "admin:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="
    known = {("ui-basic-auth", "password"): "password"}
    assert generate(Source("ui-basic-auth", "htpasswd", "htpasswd"), known) == \
        "admin:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="
    assert placeholder(Source("nas", "secret-access-key")) == "REPLACE-ME-nas-secret-access-key"


def test_one_request_two_providers() -> None:
    keys: dict[str, Source | tuple[str, str]] = {"token": ("dns", "credential")}
    eso = ctx().credential("dns-token", "cert-manager", keys)
    assert eso["kind"] == "ExternalSecret"
    assert eso["spec"]["data"] == [{"secretKey": "token",
                                    "remoteRef": {"key": "dns", "property": "credential"}}]
    sops = ctx({"secrets": {"provider": "sops"}}).credential("dns-token", "cert-manager", keys)
    assert isinstance(sops, SopsSecret)
    assert sops["kind"] == "Secret" and sops["stringData"] == {"token": "{{ .token }}"}
    assert sops.user_owned == [Source("dns", "credential")]


def test_object_storage_keys_are_generated_only_for_a_server_outfitter_installs() -> None:
    in_cluster = ctx({"secrets": {"provider": "sops"}}).object_store_secret("s3", "velero")
    assert isinstance(in_cluster, SopsSecret) and in_cluster.user_owned == []
    nas = ctx({"secrets": {"provider": "sops"}, "addons": {"object-storage": {
        "provider": "external", "endpoint": "https://nas.example.com:9000"}}})
    external = nas.object_store_secret("s3", "velero")
    assert isinstance(external, SopsSecret)
    assert [s.prop for s in external.user_owned] == ["access-key-id", "secret-access-key"]


def test_sops_ui_logins_are_generated_and_kept_beside_the_htpasswd() -> None:
    objs = ctx({"secrets": {"provider": "sops"}}).ui_route("grafana", "monitoring", "svc", 80)
    kinds = [o["kind"] for o in objs]
    assert kinds == ["Secret", "Secret", "Middleware", "Certificate", "IngressRoute"]
    auth, login = objs[0], objs[1]
    assert isinstance(auth, SopsSecret) and isinstance(login, SopsSecret)
    assert auth["stringData"] == {"users": "{{ .users }}"}  # Traefik reads exactly one key
    assert login["stringData"] == {"username": "admin", "password": "{{ .password }}"}
    assert auth.sources["users"].item == login.sources["password"].item


def test_the_plan_lists_a_sops_edit_command_for_each_placeholder() -> None:
    plan = build_plan(parse_profile({"secrets": {"provider": "sops"},
                                     "acme": {"challenge": "dns01"}}))
    assert ("Fill cloudflare-api-token/credential (a placeholder until you do): sops edit "
            "kubernetes/apps/cert-manager/cert-manager/app/acme-dns01-token.sops.yaml"
            ) in plan.get("cert-manager").notes
    assert not any("sops edit" in n for n in plan.get("velero").notes)
    [secrets] = [n for n in plan.stack_notes() if n.startswith("secrets:")]
    assert "no ExternalSecret" in secrets and "1 holding placeholders" in secrets
