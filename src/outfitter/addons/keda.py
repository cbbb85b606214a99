"""KEDA: event-driven autoscaling, sized for a homelab, scraped by kube-prometheus-stack.

The profile can declare ScaledObjects for the user's own Deployments, each with one trigger:
a cron window, a Prometheus query (the cluster's kube-prometheus-stack by default) or a queue
length (RabbitMQ or a Redis list). They go into the user's namespaces, beside the workload
they scale; queue credentials come from the secret store through an ExternalSecret in that
same namespace and reach the scaler through a TriggerAuthentication, never as a value in
the tree.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from outfitter.addons.base import (
    Addon,
    AddonOptions,
    Chart,
    Priority,
    ProfileProblem,
    Rendered,
    Workload,
    options_of,
)
from outfitter.addons.context import Context, meta
from outfitter.config import Profile
from outfitter.helm.checks import MetricCatalogue

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
CRON = re.compile(r"^\S+( \S+){4}$")
TIMEZONE = re.compile(r"^(UTC|[A-Za-z_]+(/[A-Za-z0-9_+-]+)+)$")
API = "keda.sh/v1alpha1"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class CronTrigger(_Model):
    """Scale to `desiredReplicas` between `start` and `end` (cron expressions)."""

    type: Literal["cron"]
    timezone: str = Field("UTC", description="IANA time zone, e.g. Europe/Berlin")
    start: str = Field(description="cron expression, e.g. '0 8 * * 1-5'")
    end: str = Field(description="cron expression, e.g. '0 20 * * 1-5'")
    desired_replicas: int = Field(alias="desiredReplicas", ge=1)


class PrometheusTrigger(_Model):
    """Scale on a PromQL query: replicas = ceil(value / threshold)."""

    type: Literal["prometheus"]
    query: str = Field(min_length=1)
    threshold: float = Field(gt=0, description="target value per replica")
    activation_threshold: float | None = Field(
        None, alias="activationThreshold", ge=0,
        description="above this value the workload wakes from zero replicas")
    server_address: str | None = Field(
        None, alias="serverAddress",
        description="Prometheus URL; default: the profile's monitoring.prometheusURL")


class RabbitMQTrigger(_Model):
    """Scale on the length of a RabbitMQ queue."""

    type: Literal["rabbitmq"]
    queue_name: str = Field(alias="queueName", min_length=1)
    queue_length: int = Field(20, alias="queueLength", ge=1,
                              description="target messages per replica")
    credentials_item: str = Field(
        alias="credentialsItem",
        description="secret store item whose `url` property is the connection URL, "
                    "amqp://user:password@host:5672/vhost")


class RedisTrigger(_Model):
    """Scale on the length of a Redis list."""

    type: Literal["redis"]
    address: str = Field(pattern=r"^[^:/\s]+:[0-9]+$", description="host:port")
    list_name: str = Field(alias="listName", min_length=1)
    list_length: int = Field(5, alias="listLength", ge=1,
                             description="target list items per replica")
    database_index: int = Field(0, alias="databaseIndex", ge=0)
    credentials_item: str | None = Field(
        None, alias="credentialsItem",
        description="secret store item whose `password` property is the Redis password; "
                    "none for a Redis without authentication")


Trigger = Annotated[
    CronTrigger | PrometheusTrigger | RabbitMQTrigger | RedisTrigger,
    Field(discriminator="type"),
]


class ScaledObjectSpec(_Model):
    name: str = Field(pattern=DNS_LABEL)
    namespace: str = Field(pattern=DNS_LABEL, description="the workload's namespace")
    target: str = Field(pattern=DNS_LABEL, description="name of the Deployment to scale")
    min_replicas: int = Field(1, alias="minReplicas", ge=0,
                              description="0 lets KEDA scale the workload to zero")
    max_replicas: int = Field(3, alias="maxReplicas", ge=1)
    trigger: Trigger


class KedaOptions(AddonOptions):
    scaled_objects: list[ScaledObjectSpec] = Field(
        default_factory=list, alias="scaledObjects",
        description="ScaledObjects for your Deployments, one trigger each")


def _options(profile: Profile) -> KedaOptions:
    return options_of(profile, "keda", KedaOptions)


def _resources(cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> dict[str, Any]:
    return {"requests": {"cpu": cpu, "memory": memory},
            "limits": {"cpu": cpu_limit, "memory": memory_limit}}


def _number(value: float) -> str:
    """KEDA trigger metadata are strings: 5.0 -> '5', 0.5 -> '0.5'."""
    return str(int(value)) if float(value).is_integer() else str(value)


def auth_name(so: ScaledObjectSpec) -> str:
    return f"{so.name}-{so.trigger.type}-auth"


class Keda(Addon):
    name = "keda"
    # What the component exports (from its source, at the pinned version): the names the
    # PrometheusRules may use.
    metrics = MetricCatalogue(
        "KEDA", ("keda_",), frozenset({
        "keda_scaled_object_errors_total",
        "keda_scaled_job_errors_total",
        "keda_scaler_errors_total",
        "keda_scaler_detail_errors_total",
        "keda_scaler_metrics_value",
        "keda_scaler_metrics_latency_seconds",
        "keda_scaler_active",
        "keda_scaled_object_paused",
        "keda_internal_scale_loop_latency_seconds",
        "keda_resource_registered_total",
        "keda_trigger_registered_total",
        "keda_build_info",
    }))
    title = "KEDA"
    namespace = "keda"
    # The metrics server is an APIService the kube-apiserver calls, and the admission
    # webhooks must answer before the mesh is up: both stay out of Linkerd.
    mesh = "disabled"
    priority = Priority.LOW
    roadmap_names = ("keda",)
    roadmap_capabilities = ("event-driven autoscaling", "event driven autoscaling",
                            "event-driven scaling", "event driven scaling", "scale to zero",
                            "queue-based autoscaling", "queue-based scaling")
    crds = ("keda.sh", "eventing.keda.sh")
    Options = KedaOptions
    chart = Chart("keda", "2.20.2", "oci://ghcr.io/kedacore/charts/keda")
    workloads = (
        Workload("keda-operator", "Deployment", "resources.operator",
                 replicas_path="operator.replicaCount"),
        Workload("keda-operator-metrics-apiserver", "Deployment", "resources.metricServer",
                 replicas_path="metricsServer.replicaCount", enabled_path="metricsServer.enabled"),
        Workload("keda-admission-webhooks", "Deployment", "resources.webhooks",
                 replicas_path="webhooks.replicaCount", enabled_path="webhooks.enabled"),
    )

    def lint_exceptions(self, ctx: Context) -> dict[str, str]:
        return {"secret-ref": "the operator generates its webhook and metrics-server "
                              "certificates (Secret kedaorg-certs) when it starts"}

    def check_profile(self, profile: Profile) -> list[ProfileProblem]:
        problems = []
        seen: set[tuple[str, str]] = set()
        for i, so in enumerate(_options(profile).scaled_objects):
            at = f"scaledObjects[{i}]"
            if (so.namespace, so.name) in seen:
                problems.append(ProfileProblem(
                    f"{at}.name", f"{so.namespace}/{so.name} is declared twice"))
            seen.add((so.namespace, so.name))
            if so.min_replicas > so.max_replicas:
                problems.append(ProfileProblem(
                    f"{at}.minReplicas",
                    f"{so.min_replicas} is above maxReplicas ({so.max_replicas})"))
            trigger = so.trigger
            if isinstance(trigger, CronTrigger):
                for key, expr in (("start", trigger.start), ("end", trigger.end)):
                    if not CRON.match(expr):
                        problems.append(ProfileProblem(
                            f"{at}.trigger.{key}", "must be a 5-field cron expression"))
                if not TIMEZONE.match(trigger.timezone):
                    problems.append(ProfileProblem(
                        f"{at}.trigger.timezone",
                        "must be an IANA time zone name such as Europe/Berlin, or UTC"))
                if trigger.desired_replicas > so.max_replicas:
                    problems.append(ProfileProblem(
                        f"{at}.trigger.desiredReplicas",
                        f"{trigger.desired_replicas} is above maxReplicas ({so.max_replicas})"))
            elif isinstance(trigger, PrometheusTrigger):
                if trigger.server_address is None and not profile.has("kube-prometheus-stack"):
                    problems.append(ProfileProblem(
                        f"{at}.trigger.serverAddress",
                        "needed: kube-prometheus-stack is not in existing, so there is no "
                        "default Prometheus to query"))
                elif trigger.server_address is not None and not trigger.server_address.startswith(
                        ("http://", "https://")):
                    problems.append(ProfileProblem(
                        f"{at}.trigger.serverAddress", "must start with http:// or https://"))
        return problems

    def values(self, ctx: Context) -> dict[str, Any]:
        labels = ctx.monitoring_labels

        def scraped() -> dict[str, Any]:
            return {"enabled": True,
                    "serviceMonitor": {"enabled": ctx.monitoring, "additionalLabels": labels}}

        return {
            # One replica each: only one operator leads anyway, and the metrics server and
            # webhooks serve a homelab's handful of ScaledObjects easily.
            "operator": {"replicaCount": 1},
            "metricsServer": {"replicaCount": 1},
            "webhooks": {"replicaCount": 1},
            "resources": {
                "operator": _resources("50m", "96Mi", "500m", "384Mi"),
                "metricServer": _resources("25m", "64Mi", "500m", "256Mi"),
                "webhooks": _resources("10m", "48Mi", "250m", "128Mi"),
            },
            "prometheus": {
                "operator": scraped(),
                "metricServer": scraped(),
                "webhooks": scraped(),
            },
        }

    def scaled_object(self, ctx: Context, so: ScaledObjectSpec) -> dict[str, Any]:
        trigger: dict[str, Any] = {"type": so.trigger.type}
        t = so.trigger
        if isinstance(t, CronTrigger):
            trigger["metadata"] = {"timezone": t.timezone, "start": t.start, "end": t.end,
                                   "desiredReplicas": str(t.desired_replicas)}
        elif isinstance(t, PrometheusTrigger):
            metadata = {"serverAddress": t.server_address or ctx.profile.monitoring.prometheus_url,
                        "query": t.query, "threshold": _number(t.threshold)}
            if t.activation_threshold is not None:
                metadata["activationThreshold"] = _number(t.activation_threshold)
            trigger["metadata"] = metadata
        elif isinstance(t, RabbitMQTrigger):
            trigger["metadata"] = {"protocol": "auto", "queueName": t.queue_name,
                                   "mode": "QueueLength", "value": str(t.queue_length)}
            trigger["authenticationRef"] = {"name": auth_name(so)}
        else:
            trigger["metadata"] = {"address": t.address, "listName": t.list_name,
                                   "listLength": str(t.list_length),
                                   "databaseIndex": str(t.database_index)}
            if t.credentials_item is not None:
                trigger["authenticationRef"] = {"name": auth_name(so)}
        return {
            "apiVersion": API,
            "kind": "ScaledObject",
            "metadata": meta(so.name, so.namespace),
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                   "name": so.target},
                "minReplicaCount": so.min_replicas,
                "maxReplicaCount": so.max_replicas,
                "triggers": [trigger],
            },
        }

    def _credentials(self, so: ScaledObjectSpec) -> tuple[str, str, str] | None:
        """(TriggerAuthentication parameter, secret store item, property) for a queue."""
        t = so.trigger
        if isinstance(t, RabbitMQTrigger):
            return ("host", t.credentials_item, "url")
        if isinstance(t, RedisTrigger) and t.credentials_item is not None:
            return ("password", t.credentials_item, "password")
        return None

    def resources(self, ctx: Context) -> Rendered:
        out = Rendered()
        if ctx.monitoring:
            out.app.append(ctx.prometheus_rule("keda", self.namespace, [
                ctx.alert(
                    "KedaScaledObjectErrors",
                    "sum by (namespace, scaledObject) "
                    "(rate(keda_scaled_object_errors_total[5m])) > 0",
                    "15m", "warning",
                    "KEDA cannot evaluate ScaledObject {{ $labels.namespace }}/"
                    "{{ $labels.scaledObject }}"),
            ]))
        objects = sorted(_options(ctx.profile).scaled_objects,
                         key=lambda so: (so.namespace, so.name))
        for so in objects:
            creds = self._credentials(so)
            if creds is not None:
                parameter, item, prop = creds
                secret = auth_name(so)
                out.app.append(ctx.credential(secret, so.namespace, {parameter: (item, prop)}))
                out.config.append({
                    "apiVersion": API,
                    "kind": "TriggerAuthentication",
                    "metadata": meta(secret, so.namespace),
                    "spec": {"secretTargetRef": [
                        {"parameter": parameter, "name": secret, "key": parameter}]},
                })
            out.config.append(self.scaled_object(ctx, so))
        return out

    def notes(self, ctx: Context) -> list[str]:
        objects = _options(ctx.profile).scaled_objects
        if not objects:
            return ["No ScaledObjects declared: add `scaledObjects` to addons.keda to scale "
                    "Deployments on a cron window, a Prometheus query or a queue."]
        namespaces = sorted({so.namespace for so in objects})
        notes = [f"ScaledObjects go into your namespaces ({', '.join(namespaces)}), which must "
                 "exist; queue credentials come from the secret store into the same namespace."]
        for so in sorted(objects, key=lambda so: (so.namespace, so.name)):
            notes.append(f"{so.namespace}/{so.target}: {so.min_replicas}-{so.max_replicas} "
                         f"replicas on {so.trigger.type}.")
        if any(so.min_replicas == 0 for so in objects):
            notes.append("minReplicas 0 scales a workload to zero: its first request waits "
                         "for a pod to start.")
        notes.append("A ScaledObject owns its Deployment's replica count (through an HPA): "
                     "remove `replicas` from those Deployments' manifests, or Flux and KEDA "
                     "will fight over it.")
        return notes


ADDON = Keda()
