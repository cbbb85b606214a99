"""The stack a cluster already runs, one record per component: the profile's `existing` key,
the name people know it by, how roadmaps write it, how its workloads are recognised on a
cluster, and the namespaces it always runs in. The profile, `init --from-roadmap`, status's
detection and the add-ons that keep out of its way all read these records."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Matcher = Callable[[str, str, str], bool]
"""(kind, namespace, name) of a workload -> whether it belongs to the component."""


@dataclass(frozen=True)
class Component:
    key: str
    """The profile's `existing` entry."""
    title: str
    roadmap_names: tuple[str, ...]
    """How roadmaps write it (matched case-insensitively on whole words)."""
    runs: Matcher
    """Recognises one of its workloads on a live cluster."""
    namespaces: tuple[str, ...] = ()
    """Namespaces it always runs in whatever the install (empty: the user's choice)."""
    in_roadmap_stack: bool = True
    """Part of the roadmap's own "Already Implemented" stack (the default profile's)."""


COMPONENTS: tuple[Component, ...] = (
    Component("flux", "Flux CD", ("flux cd", "fluxcd", "flux"),
              lambda k, ns, n: n in ("source-controller", "kustomize-controller")),
    Component("argocd", "Argo CD", ("argocd", "argo cd"),
              lambda k, ns, n: n in ("argocd-server", "argocd-application-controller")),
    Component("kube-prometheus-stack", "kube-prometheus-stack",
              ("kube-prometheus-stack", "kube prometheus stack", "prometheus", "grafana",
               "alertmanager", "alert manager"),
              lambda k, ns, n: n.endswith("-operator") and "prometheus" in n),
    Component("traefik", "Traefik", ("traefik",),
              lambda k, ns, n: n == "traefik" or n.endswith("-traefik")),
    Component("external-secrets", "External Secrets Operator",
              ("external secrets operator", "external-secrets", "external secrets", "eso"),
              lambda k, ns, n: n == "external-secrets" or n.endswith("-external-secrets")),
    Component("goldilocks", "Goldilocks/VPA", ("goldilocks", "vpa"),
              lambda k, ns, n: n.startswith("goldilocks-")),
    Component("graylog", "Graylog/OpenSearch", ("graylog",),
              lambda k, ns, n: "graylog" in n),
    Component("fluent-bit", "Fluent Bit", ("fluent bit", "fluent-bit", "fluentbit"),
              lambda k, ns, n: k == "DaemonSet" and "fluent-bit" in n),
    # Linkerd's control plane, CNI plugin and viz extension have fixed namespaces.
    Component("linkerd", "Linkerd", ("linkerd",),
              lambda k, ns, n: n == "linkerd-destination",
              namespaces=("linkerd", "linkerd-cni", "linkerd-viz")),
    Component("headlamp", "Headlamp", ("headlamp",),
              lambda k, ns, n: n == "headlamp" or n.endswith("-headlamp")),
    Component("envoy-gateway", "Envoy Gateway", ("envoy gateway", "envoy-gateway"),
              lambda k, ns, n: n == "envoy-gateway", in_roadmap_stack=False),
)

BY_KEY: dict[str, Component] = {c.key: c for c in COMPONENTS}
KEYS: tuple[str, ...] = tuple(c.key for c in COMPONENTS)
ROADMAP_STACK: tuple[str, ...] = tuple(c.key for c in COMPONENTS if c.in_roadmap_stack)
