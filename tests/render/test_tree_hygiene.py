"""Tree-wide promises, under every profile variant: nothing secret is written, and no UI is
exposed without authentication."""

from __future__ import annotations

import re
from typing import Any

import pytest

from outfitter import yamlio
from outfitter.plan import build_plan
from outfitter.render.flux import render_tree
from profiles import VARIANTS, variant

# A key that names a credential, with a literal value (templates and references are fine).
SECRET_KEY = re.compile(r"(password|passwd|secret_?access_?key|api_?key|token)$", re.I)


def objects(name: str) -> list[tuple[str, dict[str, Any]]]:
    files = render_tree(build_plan(variant(name)))
    return [(path, obj) for path, text in files.items() if path.endswith(".yaml")
            for obj in yamlio.load_all(text)]


def literal_credentials(node: Any, path: str = "") -> list[str]:
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}"
            if (isinstance(value, str) and SECRET_KEY.search(str(key)) and value
                    and "{{" not in value and not value.startswith(("$", "/"))):
                found.append(f"{here}={value!r}")
            found += literal_credentials(value, here)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            found += literal_credentials(item, f"{path}[{i}]")
    return found


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_no_secret_is_written(name: str) -> None:
    for path, obj in objects(name):
        # With SOPS a Secret is rendered with templates only (render/sops.py fills and
        # encrypts it), in a file of its own that .sops.yaml rules match.
        assert obj["kind"] != "Secret" or path.endswith(".sops.yaml"), path
        assert literal_credentials(obj) == [], path


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_ui_route_is_behind_an_auth_middleware(name: str) -> None:
    objs = [obj for _, obj in objects(name)]
    auth = {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in objs
            if o["kind"] == "Middleware"
            and ({"basicAuth", "forwardAuth"} & set(o.get("spec") or {}))}
    routes = [o for o in objs if o["kind"] == "IngressRoute"]
    assert routes or name != "default", "the default tree exposes some UI"
    for route in routes:
        ns = route["metadata"]["namespace"]
        for rule in route["spec"]["routes"]:
            names = {m["name"] for m in rule.get("middlewares", [])}
            assert any((ns, n) in auth for n in names), route["metadata"]["name"]


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_http_route_is_behind_a_security_policy(name: str) -> None:
    objs = [obj for _, obj in objects(name)]
    guarded = {(o["metadata"]["namespace"], ref["name"]) for o in objs
               if o["kind"] == "SecurityPolicy"
               and ({"basicAuth", "extAuth", "oidc"} & set(o.get("spec") or {}))
               for ref in o["spec"].get("targetRefs", []) if ref["kind"] == "HTTPRoute"}
    routes = [o for o in objs if o["kind"] == "HTTPRoute"]
    gateway = variant(name).ingress.provider == "gateway-api"
    assert bool(routes) == gateway, "UIs go on HTTPRoutes exactly when the gateway is used"
    for route in routes:
        assert (route["metadata"]["namespace"], route["metadata"]["name"]) in guarded, \
            route["metadata"]["name"]


def test_the_checker_would_catch_a_literal_password() -> None:
    assert literal_credentials({"auth": {"password": "hunter2", "passwordFrom": "x"}}) == [
        ".auth.password='hunter2'"]
    assert literal_credentials({"password": "{{ .password }}"}) == []
