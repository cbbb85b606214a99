"""An add-on the profile adopts (`installed: {namespace, release}`) is installed by nothing
outfitter renders, and every other add-on reaches it where it really runs: the Service names
its chart derives from the adopted release (Helm's fullname rule), in the adopted namespace,
and the adopted cert-manager's ClusterIssuer."""

from __future__ import annotations

from typing import Any

import pytest

from outfitter import yamlio
from outfitter.addons.base import Placement
from outfitter.config import ProfileError, parse_profile
from outfitter.plan import build_plan
from outfitter.render.flux import render_tree

ADOPTED = {
    # "loki" is in the release: the chart's fullname is the release alone.
    "loki": {"installed": {"namespace": "logging", "release": "loki-stack"}},
    # "tempo" is not: the fullname is <release>-tempo.
    "tempo": {"installed": {"namespace": "tracing", "release": "traces"}},
    "object-storage": {"installed": {"namespace": "storage", "release": "s3"}},
    "cert-manager": {"installed": {"namespace": "certs", "release": "cm"}, "issuer": "home-ca"},
}
CONSUMERS = {"falco": {"enabled": True}, "otel-collector": {"enabled": True}}


def rendered(addons: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    files = render_tree(build_plan(parse_profile({"addons": addons})))
    return {path: yamlio.load_all(text) for path, text in files.items()
            if path.endswith(".yaml")}


def one(tree: dict[str, list[dict[str, Any]]], kind: str, name: str) -> dict[str, Any]:
    found = [o for objs in tree.values() for o in objs
             if o.get("kind") == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, (kind, name, len(found))
    return found[0]


def test_consumers_reach_the_adopted_add_ons_where_they_run() -> None:
    tree = rendered({**ADOPTED, **CONSUMERS})
    otel = one(tree, "HelmRelease", "otel-collector")["spec"]["values"]["alternateConfig"]
    assert otel["exporters"]["otlp/tempo"]["endpoint"] == "traces-tempo.tracing.svc:4317"
    assert otel["exporters"]["otlphttp/loki"]["endpoint"] == \
        "http://loki-stack.logging.svc:3100/otlp"

    alloy = one(tree, "HelmRelease", "log-shipper")["spec"]["values"]["alloy"]
    assert 'url = "http://loki-stack.logging.svc:3100/loki/api/v1/push"' in \
        alloy["configMap"]["content"]

    sidekick = one(tree, "HelmRelease", "falco")["spec"]["values"]["falcosidekick"]
    assert sidekick["config"]["loki"]["hostport"] == "http://loki-stack.logging.svc:3100"

    store = "http://s3-seaweedfs-all-in-one.storage.svc:8333"
    location = one(tree, "BackupStorageLocation", "default")
    assert location["spec"]["config"]["s3Url"] == store

    issuers = {c["spec"]["issuerRef"]["name"] for objs in tree.values() for c in objs
               if c.get("kind") == "Certificate"}
    assert issuers == {"home-ca"}

    # Nothing of the adopted add-ons themselves is rendered.
    for name in ADOPTED:
        assert not any(o.get("kind") == "HelmRelease" and o["metadata"]["name"] == name
                       for objs in tree.values() for o in objs), name
    assert not any(o.get("kind") == "ClusterIssuer" for objs in tree.values() for o in objs)


def test_an_adopted_object_store_is_what_loki_tempo_and_longhorn_write_to() -> None:
    tree = rendered({"object-storage": {"provider": "minio",
                                        "installed": {"namespace": "nas", "release": "bucket"}}})
    endpoint = "bucket-minio.nas.svc:9000"
    loki = one(tree, "HelmRelease", "loki")["spec"]["values"]["loki"]["storage"]["s3"]
    assert loki["endpoint"] == endpoint
    tempo = one(tree, "HelmRelease", "tempo")["spec"]["values"]["tempo"]["storage"]["trace"]
    assert tempo["s3"]["endpoint"] == endpoint
    longhorn = [o for objs in tree.values() for o in objs
                if o.get("kind") == "ExternalSecret"
                and o["metadata"]["name"] == "longhorn-backup-credentials"]
    assert [o["spec"]["target"]["template"]["data"]["AWS_ENDPOINTS"] for o in longhorn] == \
        [f"http://{endpoint}"]
    assert one(tree, "BackupStorageLocation", "default")["spec"]["config"]["s3Url"] == \
        f"http://{endpoint}"


def test_not_adopted_the_addresses_are_outfitters_own() -> None:
    tree = rendered(CONSUMERS)
    sidekick = one(tree, "HelmRelease", "falco")["spec"]["values"]["falcosidekick"]
    assert sidekick["config"]["loki"]["hostport"] == "http://loki.observability.svc:3100"
    issuers = {c["spec"]["issuerRef"]["name"] for objs in tree.values() for c in objs
               if c.get("kind") == "Certificate"}
    assert issuers == {"letsencrypt-production"}


def test_an_issuer_without_an_adopted_cert_manager_is_refused() -> None:
    with pytest.raises(ProfileError) as refused:
        parse_profile({"addons": {"cert-manager": {"issuer": "home-ca"}}})
    assert refused.value.problems == [
        "addons.cert-manager.issuer: names the ClusterIssuer of a cert-manager already "
        "installed: set installed: {namespace, release} too, or remove it (outfitter creates "
        "letsencrypt-production)"]


def test_the_fullname_rule_of_the_charts() -> None:
    assert Placement("ns", "loki").fullname("loki") == "loki"
    assert Placement("ns", "my-loki-2").fullname("loki") == "my-loki-2"
    assert Placement("ns", "logs").fullname("loki") == "logs-loki"
    assert Placement("ns", "x" * 60).fullname("tempo") == "x" * 60 + "-te"  # 63 at most
    assert Placement("ns", "x" * 62).fullname("tempo") == "x" * 62  # no trailing "-"


def test_grafana_links_only_to_datasources_the_tree_provides() -> None:
    def jsondata(tree: dict[str, list[dict[str, Any]]], name: str) -> dict[str, Any]:
        cm = one(tree, "ConfigMap", f"{name}-datasource")
        [ds] = yamlio.load(cm["data"][f"{name}-datasource.yaml"])["datasources"]
        return dict(ds["jsonData"])

    both = rendered({"loki": {"enabled": True}, "tempo": {"enabled": True}})
    assert jsondata(both, "tempo")["tracesToLogsV2"]["datasourceUid"] == "loki"
    assert jsondata(both, "loki")["derivedFields"][0]["datasourceUid"] == "tempo"
    # Loki adopted: its datasource (and uid) is the user's, so Tempo links to nothing.
    tree = rendered({"loki": ADOPTED["loki"], "tempo": {"enabled": True}})
    assert "tracesToLogsV2" not in jsondata(tree, "tempo")
    assert not any(o.get("kind") == "ConfigMap" and o["metadata"]["name"] == "loki-datasource"
                   for objs in tree.values() for o in objs)
    notes = next(ap.notes for ap in build_plan(parse_profile({"addons": {
        "loki": ADOPTED["loki"], "tempo": {"enabled": True}}})).addons
        if ap.addon.name == "tempo")
    assert any("without trace-to-logs links: Loki is adopted" in n for n in notes)
