"""Falco: modern eBPF DaemonSet, Falcosidekick to Alertmanager (and Loki when the loki add-on
is on), homelab rules that are valid Falco YAML built on stable macros, monitoring wiring."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import pytest

import upstream_data
from outfitter import yamlio
from outfitter.addons import falco, registry
from outfitter.addons.context import Context
from outfitter.addons.falco import ADDON
from outfitter.config import ProfileError, parse_profile
from outfitter.plan import build_plan, make_context
from outfitter.render.flux import render_tree
from outfitter.validate.chart_values import ChartFolder

NO_KPS = ["flux", "argocd", "traefik", "external-secrets", "linkerd"]
# Macros and lists of the stable falco_rules.yaml (falcosecurity/rules) the homelab rules use.
STABLE = {"spawned_process", "container", "container_entrypoint", "shell_procs",
          "shell_binaries", "open_read", "sensitive_files", "outbound"}
OPERATORS = {"and", "or", "not", "in", "exists", "startswith", "endswith", "contains", "glob"}


def ctx_for(options: dict[str, Any] | None = None, **profile: Any) -> Context:
    return make_context(parse_profile({**profile, "addons": {"falco": options or {}}}))


def no_loki(**profile: Any) -> Context:
    """A profile without the loki add-on, whether or not it is registered."""
    addons: dict[str, Any] = {"falco": {}}
    if "loki" in registry.names():
        addons["loki"] = {"enabled": False}
    return make_context(parse_profile({**profile, "addons": addons}))


def rules_doc(values: dict[str, Any]) -> list[dict[str, Any]]:
    doc = yamlio.load(values["customRules"][falco.RULES_FILE])
    assert isinstance(doc, list)
    return doc


@pytest.fixture
def with_loki(monkeypatch: pytest.MonkeyPatch) -> None:
    """A loki add-on registered and enabled, whether or not the real one exists yet."""
    names = registry.names()
    monkeypatch.setattr(registry, "names", lambda: (*names, "loki"))
    get = registry.get
    monkeypatch.setattr(registry, "get", lambda name: SimpleNamespace(namespace="observability")
                        if name == "loki" else get(name))
    real = Context.enabled
    monkeypatch.setattr(Context, "enabled",
                        lambda self, name: True if name == "loki" else real(self, name))


def test_modern_ebpf_with_least_privilege_by_default() -> None:
    v = ADDON.values(ctx_for())
    assert v["driver"] == {"kind": "modern_ebpf", "modernEbpf": {"leastPrivileged": True}}
    v = ADDON.values(ctx_for({"leastPrivileged": False}))
    assert v["driver"]["modernEbpf"]["leastPrivileged"] is False


def test_sidekick_forwards_to_alertmanager_api_v2() -> None:
    url = "http://alertmanager.monitoring.svc:9093/"
    ctx = ctx_for({"alertPriority": "error"}, monitoring={"alertmanagerURL": url})
    sk = ADDON.values(ctx)["falcosidekick"]
    assert sk["enabled"] is True
    assert sk["config"]["alertmanager"] == {
        "hostport": "http://alertmanager.monitoring.svc:9093",
        "endpoint": "/api/v2/alerts",
        "minimumpriority": "error",
    }
    assert sk["webui"] == {"enabled": False}
    assert sk["replicaCount"] == 1
    assert sk["serviceMonitor"] == {"enabled": True,
                                    "additionalLabels": {"release": "kube-prometheus-stack"}}


def test_no_loki_output_without_the_loki_add_on() -> None:
    ctx = no_loki()
    assert falco.loki_url(ctx) is None
    assert "loki" not in ADDON.values(ctx)["falcosidekick"]["config"]


@pytest.mark.usefixtures("with_loki")
def test_loki_output_when_the_loki_add_on_is_on() -> None:
    ctx = ctx_for({"logPriority": "informational"})
    loki = ADDON.values(ctx)["falcosidekick"]["config"]["loki"]
    assert loki["hostport"] == "http://loki.observability.svc:3100"
    assert loki["minimumpriority"] == "informational"
    assert loki["grafanaDashboard"] == {"enabled": True}
    assert any("Loki" in n for n in ADDON.notes(ctx))


def test_without_kps_or_loki_sidekick_is_off_and_no_monitoring_objects() -> None:
    ctx = no_loki(existing=NO_KPS)
    v = ADDON.values(ctx)
    assert v["falcosidekick"] == {"enabled": False}
    assert v["serviceMonitor"]["create"] is False
    assert v["grafana"]["dashboards"]["enabled"] is False
    assert ADDON.resources(ctx).app == []


def test_service_monitor_metrics_and_alerts() -> None:
    ctx = ctx_for()
    v = ADDON.values(ctx)
    assert v["metrics"] == {"enabled": True}
    assert v["serviceMonitor"] == {"create": True,
                                   "labels": {"release": "kube-prometheus-stack"}}
    [rule] = ADDON.resources(ctx).app
    assert rule["kind"] == "PrometheusRule"
    assert rule["metadata"]["labels"] == {"release": "kube-prometheus-stack"}
    alerts = {r["alert"]: r["expr"] for r in rule["spec"]["groups"][0]["rules"]}
    assert 'daemonset="falco"' in alerts["FalcoNotOnEveryNode"]
    assert 'status="error"' in alerts["FalcosidekickOutputFailing"]


def test_daemonset_and_sidecar_count_once_per_node_sidekick_once() -> None:
    ap = build_plan(parse_profile({"cluster": {"nodes": {"count": 5}}})).get("falco")
    pods = {w.workload.name: w.pods for w in ap.workloads}
    assert pods == {"falco": 5, "falco (falcoctl-artifact-follow sidecar)": 5,
                    "falcosidekick": 1}
    assert ap.cost.cpu_request == 5 * 100 + 5 * 10 + 10
    assert all(not w.unset for w in ap.workloads)


def test_homelab_rules_are_falco_yaml_built_on_stable_macros() -> None:
    doc = rules_doc(ADDON.values(ctx_for()))
    defined = {item.get("list") or item.get("macro") for item in doc} - {None}
    rules = [item for item in doc if "rule" in item]
    assert len(rules) == 3
    for rule in rules:
        assert set(rule) == {"rule", "desc", "condition", "output", "priority", "tags"}
        assert rule["priority"] == "WARNING"
        cond = rule["condition"]
        assert cond.count("(") == cond.count(")")
        names = set(re.findall(r"(?<![\w./%-])([a-z_][a-z0-9_]*)(?![\w.])", cond))
        assert names - OPERATORS <= defined | STABLE, rule["rule"]
        assert "container" in names


def test_homelab_rules_take_the_profile_lists() -> None:
    v = ADDON.values(ctx_for({"trustedImages": ["ghcr.io/qdm12/ddns-updater", "b/a"],
                              "noEgressNamespaces": ["databases"]}))
    lists = {i["list"]: i["items"] for i in rules_doc(v) if "list" in i}
    assert lists["homelab_trusted_images"] == ["b/a", "ghcr.io/qdm12/ddns-updater"]
    assert lists["homelab_no_egress_namespaces"] == ["databases"]
    assert "/etc/shadow" in lists["homelab_sensitive_files"]


def test_homelab_rules_can_be_turned_off() -> None:
    assert "customRules" not in ADDON.values(ctx_for({"homelabRules": False}))


def test_bad_trusted_images_and_namespaces_are_reported_with_their_index() -> None:
    with pytest.raises(ProfileError) as err:
        parse_profile({"addons": {"falco": {
            "trustedImages": ["ok/image", "nginx:1.27"], "noEgressNamespaces": ["Bad_NS"]}}})
    assert [p.split(":")[0] for p in err.value.problems] == [
        "addons.falco.trustedImages[1]", "addons.falco.noEgressNamespaces[0]"]


def test_the_namespace_stays_out_of_the_mesh() -> None:
    files = render_tree(build_plan(parse_profile({})))
    [ns] = yamlio.load_all(files["kubernetes/apps/falco/namespace.yaml"])
    assert ns["metadata"]["annotations"]["linkerd.io/inject"] == "disabled"


@pytest.mark.usefixtures("upstream", "with_loki")
def test_sidekick_values_use_only_keys_of_the_falcosidekick_chart() -> None:
    """The falco chart pins falcosidekick 0.12.*, which resolves to 0.12.1 (SOURCES.md F2)."""
    sidekick = ChartFolder(upstream_data.UPSTREAM / "charts" / "falcosidekick")
    assert sidekick.version == "0.12.1"
    for ctx in (ctx_for(), ctx_for({"alertPriority": "critical"})):
        sk = ADDON.values(ctx)["falcosidekick"]
        assert sk["enabled"] is True
        known = {k: v for k, v in sk.items() if k != "enabled"}  # `enabled` is falco's key
        assert sidekick.unknown_keys(known) == []


def test_the_real_loki_add_on_when_registered() -> None:
    if "loki" not in registry.names():
        pytest.skip("no loki add-on registered")
    ctx = ctx_for()
    if not ctx.enabled("loki"):
        pytest.skip("the loki add-on is off by default")
    assert ADDON.values(ctx)["falcosidekick"]["config"]["loki"]["hostport"] == \
        f"http://loki.{registry.get('loki').namespace}.svc:3100"


def test_talos_driver_notes() -> None:
    generic = ADDON.notes(ctx_for())
    talos = ADDON.notes(ctx_for(cluster={"nodes": {"os": "talos"}}))
    assert not any("Talos" in n for n in generic)
    [note] = [n for n in talos if n.startswith("Talos")]
    assert "modern eBPF" in note and "kernel-module driver cannot load" in note
    assert "pod-security.kubernetes.io/enforce: privileged" in note
    # The driver itself is the one Talos needs already: nothing changes in the values.
    assert ADDON.values(ctx_for(cluster={"nodes": {"os": "talos"}})) == ADDON.values(ctx_for())
