"""The log shipper that feeds Loki, as chosen by `addons.loki.shipper`.

- `alloy`: Grafana Alloy as a DaemonSet, tailing the pods' log files on every node and pushing
  them to Loki. Alloy replaces Promtail, which reached end of life on 2026-03-02.
- `fluent-bit`: the cluster already runs Fluent Bit (its own HelmRelease, which outfitter must
  not edit). outfitter renders the Loki output as a values patch in a ConfigMap beside that
  HelmRelease; the user adds it with `valuesFrom` and one `@INCLUDE` line (see the notes). No
  new agent runs, and Graylog keeps receiving the same logs while Loki is evaluated.

The shipper is an add-on of its own, not a second HelmRelease inside Loki's: the contract
renders one chart per add-on, and this way Alloy's values are checked against its chart, its
DaemonSet is in the budget, and a failing shipper does not hold Loki's Kustomization back.
It follows Loki: when Loki is disabled, so is the shipper.
"""

from __future__ import annotations

from typing import Any

from outfitter import yamlio
from outfitter.addons import loki
from outfitter.addons.base import Addon, AddonOptions, Chart, Priority, Rendered, Workload
from outfitter.addons.context import Context, meta
from outfitter.config import Profile

ALLOY = Chart("alloy", "1.11.1", "https://grafana.github.io/helm-charts")
FLUENT_BIT_CONFIGMAP = "fluent-bit-loki-output"
FLUENT_BIT_FILE = "loki-output.conf"

# Pod logs from this node's files, labelled like the Prometheus targets of the same pods.
ALLOY_CONFIG = """\
discovery.kubernetes "pods" {
  role = "pod"
  selectors {
    role  = "pod"
    field = "spec.nodeName=" + sys.env("NODE_NAME")
  }
}

discovery.relabel "pods" {
  targets = discovery.kubernetes.pods.targets

  rule {
    source_labels = ["__meta_kubernetes_namespace"]
    target_label  = "namespace"
  }
  rule {
    source_labels = ["__meta_kubernetes_pod_name"]
    target_label  = "pod"
  }
  rule {
    source_labels = ["__meta_kubernetes_pod_container_name"]
    target_label  = "container"
  }
  rule {
    source_labels = ["__meta_kubernetes_pod_label_app_kubernetes_io_name"]
    target_label  = "app"
  }
  rule {
    source_labels = ["__meta_kubernetes_pod_node_name"]
    target_label  = "node"
  }
  rule {
    source_labels = ["__meta_kubernetes_pod_uid", "__meta_kubernetes_pod_container_name"]
    separator     = "/"
    target_label  = "__path__"
    replacement   = "/var/log/pods/*$1/*.log"
  }
}

local.file_match "pods" {
  path_targets = discovery.relabel.pods.output
}

loki.source.file "pods" {
  targets    = local.file_match.pods.targets
  forward_to = [loki.process.pods.receiver]
}

loki.process "pods" {
  stage.cri {}
  forward_to = [loki.write.default.receiver]
}

loki.write "default" {
  endpoint {
    url = "PUSH_URL"
  }
}
"""


def alloy_config(push_url: str) -> str:
    return ALLOY_CONFIG.replace("PUSH_URL", push_url)


def fluent_bit_output(match: str, host: str, port: str) -> str:
    """A Fluent Bit `loki` output (classic config) with the same labels Alloy sets."""
    return (
        "[OUTPUT]\n"
        "    Name        loki\n"
        f"    Match       {match}\n"
        f"    Host        {host}\n"
        f"    Port        {port}\n"
        "    Labels      job=fluent-bit, namespace=$kubernetes['namespace_name'], "
        "pod=$kubernetes['pod_name'], container=$kubernetes['container_name']\n"
        "    Line_Format json\n"
        "    Retry_Limit 5\n"
    )


class LogShipper(Addon):
    name = "log-shipper"
    title = "Log shipper for Loki (Grafana Alloy / Fluent Bit)"
    namespace = loki.NAMESPACE
    # Alloy's pods opt out of the mesh themselves (podAnnotations): a proxy per node for a
    # log tailer is waste, and the namespace's other services do want the mesh.
    mesh = None
    priority = Priority.MEDIUM
    roadmap_names = ("grafana alloy", "alloy", "promtail", "log shipper")
    roadmap_capabilities = ("log shipping", "log forwarding")
    depends_on = ("loki",)
    companion = True
    Options = AddonOptions
    release_name = "alloy"

    def lint_exceptions(self, ctx: Context) -> dict[str, str]:
        return {"host-path": "a log shipper reads the node's /var/log"}

    def enabled(self, profile: Profile) -> bool:
        return super().enabled(profile) and profile.addon_options("loki").enabled

    def requires(self, profile: Profile) -> tuple[str, ...]:
        # Loki disabled turns the shipper off (enabled above) instead of being an error.
        return ("loki",) if profile.addon_options("loki").enabled else ()

    def shipper(self, profile: Profile) -> str:
        return loki.options(profile).shipper

    def chart_for(self, ctx: Context) -> Chart | None:
        return ALLOY if self.shipper(ctx.profile) == "alloy" else None

    def workloads_for(self, profile: Profile) -> tuple[Workload, ...]:
        if self.shipper(profile) != "alloy":
            return ()
        return (
            Workload("alloy", "DaemonSet", "alloy.resources"),
            Workload("alloy-config-reloader", "DaemonSet", "configReloader.resources",
                     enabled_path="configReloader.enabled"),
        )

    def values(self, ctx: Context) -> dict[str, Any]:
        if self.shipper(ctx.profile) != "alloy":
            return {}
        controller: dict[str, Any] = {"type": "daemonset"}
        if ctx.profile.has("linkerd"):
            controller["podAnnotations"] = {"linkerd.io/inject": "disabled"}
        values: dict[str, Any] = {
            # Only PodLogs would use Alloy's CRD, and the config below does not.
            "crds": {"create": False},
            "alloy": {
                "configMap": {"create": True,
                              "content": alloy_config(ctx.endpoint("loki", "push"))},
                "extraEnv": [{"name": "NODE_NAME",
                              "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
                "mounts": {"varlog": True},
                "resources": {"requests": {"cpu": "50m", "memory": "128Mi"},
                              "limits": {"cpu": "500m", "memory": "512Mi"}},
            },
            "configReloader": {
                "resources": {"requests": {"cpu": "10m", "memory": "50Mi"},
                              "limits": {"cpu": "50m", "memory": "100Mi"}},
            },
            "controller": controller,
        }
        if ctx.monitoring:
            values["serviceMonitor"] = {"enabled": True,
                                        "additionalLabels": ctx.monitoring_labels}
        return values

    def resources(self, ctx: Context) -> Rendered:
        out = Rendered()
        if self.shipper(ctx.profile) != "fluent-bit":
            return out
        opts = loki.options(ctx.profile)
        patch = {"config": {"extraFiles": {FLUENT_BIT_FILE: fluent_bit_output(
            opts.fluent_bit_match, ctx.endpoint("loki", "host"), ctx.endpoint("loki", "port"))}}}
        out.app.append({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta(FLUENT_BIT_CONFIGMAP, opts.fluent_bit_namespace),
            "data": {"values.yaml": yamlio.dump(patch)},
        })
        return out

    def notes(self, ctx: Context) -> list[str]:
        shipper = self.shipper(ctx.profile)
        if shipper == "alloy":
            return [
                f"Grafana Alloy {ALLOY.version} DaemonSet tails /var/log/pods on every node and "
                f"pushes to {ctx.endpoint('loki', 'push')} with labels namespace, pod, "
                "container, app, node.",
                "Alloy replaces Promtail (end of life 2026-03-02). The cluster's Fluent Bit "
                "keeps shipping to Graylog, so both see the same logs during the evaluation.",
            ]
        opts = loki.options(ctx.profile)
        return [
            "outfitter does not edit the cluster's Fluent Bit HelmRelease. It renders ConfigMap "
            f"{FLUENT_BIT_CONFIGMAP} in namespace {opts.fluent_bit_namespace} (set "
            "addons.loki.fluentBitNamespace if Fluent Bit lives elsewhere) with a values patch "
            f"that adds {FLUENT_BIT_FILE}, a Loki output for tag {opts.fluent_bit_match}.",
            "In the Fluent Bit HelmRelease: add spec.valuesFrom "
            f"[{{kind: ConfigMap, name: {FLUENT_BIT_CONFIGMAP}, valuesKey: values.yaml}}] and "
            f"append the line `@INCLUDE {FLUENT_BIT_FILE}` to config.outputs. Its other "
            "outputs (Graylog) keep running.",
        ]


ADDON = LogShipper()
