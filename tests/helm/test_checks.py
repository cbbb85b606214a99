"""What only rendered output shows: bounds, Service ports, Secret keys, metric names."""

from __future__ import annotations

from typing import Any

from outfitter.helm.checks import (
    MetricCatalogue,
    check_metrics,
    check_secret_keys,
    check_services,
    metric_names,
    service_refs,
    unbounded,
)


def deployment(container: dict[str, Any], ns: str = "apps",
               volumes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": ns},
            "spec": {"template": {"spec": {"containers": [container],
                                           "volumes": volumes or []}}}}


def service(name: str, ns: str, *ports: int) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
            "spec": {"ports": [{"port": p} for p in ports]}}


def test_a_container_without_requests_or_memory_limit_is_unbounded() -> None:
    bounded = {"name": "a", "resources": {"requests": {"cpu": "10m", "memory": "8Mi"},
                                          "limits": {"memory": "16Mi"}}}
    assert list(unbounded(deployment(bounded))) == []
    [(message, path)] = unbounded(deployment({"name": "b", "resources": {
        "requests": {"cpu": "10m"}}}))
    assert message == "container 'b' sets no requests.memory, limits.memory: it runs unbounded"
    assert path == ("spec", "template", "spec", "containers", 0, "resources")
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "hook"},
           "spec": {"template": {"spec": {"initContainers": [{"name": "init"}],
                                          "containers": [bounded]}}}}
    assert [m for m, _ in unbounded(job)] == [
        "container 'init' sets no requests.cpu, requests.memory, limits.memory: it runs "
        "unbounded"]


def test_service_references_are_found_in_urls_and_host_port_strings() -> None:
    text = ("url: http://loki.observability.svc.cluster.local:3100/loki/api\n"
            "endpoint: tempo.observability.svc:4317, loki-0.loki-headless.observability.svc"
            " https://grafana.monitoring.svc ${HOST}.x.svc:1 example.svc.home.arpa:9")
    found = [(r.service, r.namespace, r.port) for r in service_refs(text)]
    assert found == [("loki", "observability", 3100), ("tempo", "observability", 4317),
                     ("loki-headless", "observability", None),
                     ("grafana", "monitoring", 443)]


def test_a_wrong_port_and_a_missing_service_are_problems_only_where_the_tree_fills() -> None:
    values = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ds",
                                                                   "namespace": "monitoring"},
              "data": {"ds.yaml": "url: http://tempo.observability.svc:3100\n"
                                  "otlp: tempo.observability.svc:4317\n"
                                  "logs: http://loki.observability.svc:3100\n"
                                  "prom: http://prometheus.monitoring.svc:9090\n"}}
    objs = [values, service("tempo", "observability", 3200, 4317)]
    problems = [p.message for p in check_services(objs, {"observability"})]
    assert problems == [
        "http://tempo.observability.svc:3100: Service observability/tempo does not open port "
        "3100 (it opens 3200, 4317)",
        "http://loki.observability.svc:3100: no Service observability/loki in the tree or its "
        "charts' output"]


def test_a_misspelt_secret_key_is_found_against_every_producer() -> None:
    external = {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                "metadata": {"name": "s3", "namespace": "apps"},
                "spec": {"target": {"name": "s3-creds"},
                         "data": [{"secretKey": "AWS_ACCESS_KEY_ID"},
                                  {"secretKey": "AWS_SECRET_ACCESS_KEY"}]}}
    cert = {"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
            "metadata": {"name": "web", "namespace": "apps"}, "spec": {"secretName": "web-tls"}}
    pod = deployment({"name": "app", "env": [
        {"name": "A", "valueFrom": {"secretKeyRef": {"name": "s3-creds",
                                                     "key": "AWS_ACCESS_KEY_ID"}}},
        {"name": "B", "valueFrom": {"secretKeyRef": {"name": "s3-creds",
                                                     "key": "AWS_SECRET_KEY"}}},
        {"name": "C", "valueFrom": {"secretKeyRef": {"name": "unknown", "key": "x"}}},
    ]}, volumes=[{"name": "tls", "secret": {"secretName": "web-tls",
                                            "items": [{"key": "tls.pem", "path": "a"}]}}])
    problems = [p.message for p in check_secret_keys([external, cert, pod])]
    assert problems == [
        "volume 'tls' reads key 'tls.pem' of Secret apps/web-tls, which has no such key "
        "(it has: ca.crt, tls.crt, tls.key)",
        "container 'app' env 'B' reads key 'AWS_SECRET_KEY' of Secret apps/s3-creds, which "
        "has no such key (it has: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)"]


def test_a_secret_whose_producer_keys_are_unknown_is_not_judged() -> None:
    """An ExternalSecret that takes a whole item (dataFrom) makes keys unknown here, also
    when it is the Secret's only producer (ahinko/home-ops; before: "which has no such key
    (it has: none)" for every key read)."""
    external = {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                "metadata": {"name": "backup", "namespace": "apps"},
                "spec": {"target": {"name": "backup"},
                         "dataFrom": [{"extract": {"key": "backup"}}]}}
    pod = deployment({"name": "app", "env": [
        {"name": "A", "valueFrom": {"secretKeyRef": {"name": "backup", "key": "ACCESS_KEY_ID"}}},
    ]})
    assert list(check_secret_keys([external, pod])) == []
    assert list(check_secret_keys([pod, external])) == []


def test_metric_names_of_an_expression() -> None:
    expr = ('sum by (destination) (rate(falcosecurity_falcosidekick_outputs_total'
            '{namespace="falco",status="error"}[5m])) > 0 or '
            'rate({__name__=~"falcosidekick_outputs(_total)?"}[5m]) '
            'and on(job) up{job="x"} offset 5m')
    assert metric_names(expr) == [("falcosidekick_outputs(_total)?", True),
                                  ("falcosecurity_falcosidekick_outputs_total", False),
                                  ("up", False)]


def rule(expr: str) -> dict[str, Any]:
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
            "metadata": {"name": "r", "namespace": "falco"},
            "spec": {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": expr}]}]}}


SIDEKICK = MetricCatalogue("Falcosidekick", ("falcosidekick_", "falcosecurity_falcosidekick_"),
                           frozenset({"falcosecurity_falcosidekick_outputs_total"}))


def test_a_metric_the_component_does_not_export_can_never_fire() -> None:
    good = rule("rate(falcosecurity_falcosidekick_outputs_total[5m]) > 0")
    assert list(check_metrics([good], [SIDEKICK])) == []
    bad = rule('rate({__name__=~"falcosidekick_outputs(_total)?"}[5m]) > 0')
    [problem] = check_metrics([bad], [SIDEKICK])
    assert problem.message.startswith("A: Falcosidekick exports no metric matching "
                                      "'falcosidekick_outputs(_total)?'")
    assert problem.path == ("spec", "groups", 0, "rules", 0, "expr")
    typo = rule("rate(falcosecurity_falcosidekick_output_total[5m]) > 0")
    [problem] = check_metrics([typo], [SIDEKICK])
    assert "did you mean 'falcosecurity_falcosidekick_outputs_total'" in problem.message
    # A metric of a component with no catalogue is not judged.
    assert list(check_metrics([rule("kube_pod_info > 0")], [SIDEKICK])) == []
