"""Profile variants the tests render: each exercises a different branch of the add-ons."""

from __future__ import annotations

from typing import Any

from outfitter.config import Profile, parse_profile

VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "minio": {"addons": {"object-storage": {"provider": "minio"}}},
    "garage": {"addons": {"object-storage": {"provider": "garage"}}},
    "external-s3": {"addons": {"object-storage": {
        "provider": "external", "endpoint": "https://nas.home.example.com:9000"}}},
    "dns01-wildcard": {"acme": {"challenge": "dns01", "wildcard": True}},
    "argocd-owned": {"addons": {"reloader": {"owner": "argocd"}}},
    "trivy-server-falco-privileged": {"addons": {
        "trivy-operator": {"trivyServer": True, "severities": ["CRITICAL", "HIGH", "MEDIUM"],
                           "ignoreUnfixed": False, "excludedNamespaces": ["kube-system"],
                           "concurrentScanJobs": 1, "reportTtl": "72h"},
        "falco": {"leastPrivileged": False, "alertPriority": "error",
                  "trustedImages": ["ghcr.io/qdm12/ddns-updater"],
                  "noEgressNamespaces": ["databases"]},
    }},
    "longhorn-default-class-no-backup": {"addons": {
        "longhorn": {"backup": False, "replicas": 2, "defaultStorageClass": True},
        "renovate": {"automergePatch": False, "timezone": "Europe/Berlin"},
    }},
    "critical-deny": {"addons": {
        "velero": {"criticalNamespaces": ["home-assistant", "paperless"]},
        "kyverno": {"mode": "deny", "policies": {"require-labels": "audit"}},
    }},
    "kubecost-keda-scalers": {
        "monitoring": {"prometheusURL": "https://prometheus.home.example.com"},
        "addons": {
            "cost": {"engine": "kubecost"},
            "descheduler": {"schedule": "0 * * * *", "maxEvictionsPerNode": None,
                            "lowThresholds": {"cpu": 30, "memory": 30},
                            "highThresholds": {"cpu": 70, "memory": 70}},
            "keda": {"scaledObjects": [
                {"name": "office-hours", "namespace": "paperless", "target": "paperless-web",
                 "minReplicas": 0, "maxReplicas": 2,
                 "trigger": {"type": "cron", "timezone": "Europe/Berlin",
                             "start": "0 7 * * *", "end": "0 23 * * *", "desiredReplicas": 1}},
                {"name": "busy-api", "namespace": "apps", "target": "api",
                 "trigger": {"type": "prometheus", "threshold": 50, "activationThreshold": 5,
                             "query": 'sum(rate(http_requests_total{app="api"}[2m]))'}},
                {"name": "jobs", "namespace": "apps", "target": "worker", "maxReplicas": 5,
                 "trigger": {"type": "rabbitmq", "queueName": "jobs",
                             "credentialsItem": "rabbitmq"}},
                {"name": "thumbnails", "namespace": "immich", "target": "thumbnailer",
                 "minReplicas": 0,
                 "trigger": {"type": "redis", "address": "redis.immich.svc:6379",
                             "listName": "thumbnails", "credentialsItem": "immich-redis"}},
            ]},
        },
    },
    "observability-fluent-bit-filesystem": {"addons": {
        "loki": {"shipper": "fluent-bit", "storage": "filesystem", "retention": "14d",
                 "size": "30Gi", "fluentBitNamespace": "fluent-bit"},
        "tempo": {"storage": "filesystem", "retention": "72h"},
        "otel-collector": {"metrics": False},
    }},
    # The stacks beside the roadmap's External Secrets + Traefik (the default): SOPS and/or
    # Gateway API. The first is a cluster-template user's: only Flux and envoy-gateway exist,
    # Flux comes from flux-operator, the nodes run Talos, DNS-01 needs a token they own.
    "sops-gateway-api": {
        "existing": ["flux", "envoy-gateway"],
        "secrets": {"provider": "sops"},
        "ingress": {"provider": "gateway-api"},
        "flux": {"install": "flux-operator"},
        "cluster": {"nodes": {"os": "talos"}},
        "acme": {"challenge": "dns01"},
    },
    "sops-traefik": {
        "secrets": {"provider": "sops"},
        "addons": {"object-storage": {"provider": "external",
                                      "endpoint": "https://nas.home.example.com:9000"}},
    },
    "eso-gateway-api": {
        "existing": ["flux", "kube-prometheus-stack", "external-secrets", "envoy-gateway"],
        "ingress": {"provider": "gateway-api",
                    "gateway": {"name": "envoy-external", "namespace": "gateway"}},
    },
}
STACKS = {"default": ("external-secrets", "traefik"),
          "sops-gateway-api": ("sops", "gateway-api"),
          "sops-traefik": ("sops", "traefik"),
          "eso-gateway-api": ("external-secrets", "gateway-api")}


def variant(name: str) -> Profile:
    return parse_profile(VARIANTS[name])
