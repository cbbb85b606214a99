"""Falco: runtime security. A DaemonSet watches every node's system calls with the modern eBPF
probe (built into Falco: no kernel module, no driver download, no privileged init container)
and raises events on the upstream stable rules plus a few homelab rules; Falcosidekick (the
falco chart's subchart) forwards them to Alertmanager and, when the `loki` add-on is enabled,
to Loki, where the chart's Loki dashboard shows them in Grafana.

The Falcosidekick web UI stays off: it needs its own Redis (redis-stack with a volume) and two
more pods, and shows what Grafana (Loki) and Alertmanager already show.

Falco's pods need the host (eBPF, /proc, the container runtime's socket) and must start before
anything else on a node: no Linkerd proxy in its namespace.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field

from outfitter import yamlio
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
from outfitter.addons.context import Context
from outfitter.config import Profile
from outfitter.helm.checks import MetricCatalogue

FalcoPriority = Literal[
    "emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug"]

RELEASE = "falco"  # the DaemonSet and ConfigMaps are named after it (chart fullname)
RULES_FILE = "homelab_rules.yaml"
LOKI_ADDON = "loki"
IMAGE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9./_-]*$")
NAMESPACE_PATTERN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

# Processes that start shells by design: container init wrappers and supervisors.
SHELL_SPAWNERS = ("tini", "dumb-init", "catatonit", "s6-supervise", "s6-svscan", "supervisord",
                  "runsv", "gosu", "su-exec", "cron", "crond")
# Sensitive files beyond the stable ruleset's `sensitive_files` macro.
SENSITIVE_FILES = ("/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/etc/ssh/ssh_host_rsa_key",
                   "/etc/ssh/ssh_host_ecdsa_key", "/etc/ssh/ssh_host_ed25519_key")
# Programs that read those files for a living (logins, PAM, user management at start-up, as
# in the linuxserver.io images' init).
SENSITIVE_FILE_READERS = (
    "sshd", "sudo", "su", "login", "unix_chkpwd", "passwd", "chpasswd", "chage", "usermod",
    "useradd", "userdel", "groupmod", "groupadd", "groupdel", "pwck", "grpck", "cron", "crond",
    "nscd", "sssd")
# Tools that fetch a second stage or open a reverse shell.
NETWORK_TOOLS = ("curl", "wget", "nc", "ncat", "netcat", "socat", "telnet", "ftp", "tftp",
                 "nmap")

CONTAINER_FIELDS = ("k8s_ns=%k8s.ns.name k8s_pod=%k8s.pod.name container=%container.name "
                    "image=%container.image.repository")


class FalcoOptions(AddonOptions):
    alert_priority: FalcoPriority = Field(
        "warning", alias="alertPriority",
        description="lowest priority of the events forwarded to Alertmanager")
    log_priority: FalcoPriority = Field(
        "notice", alias="logPriority",
        description="lowest priority of the events shipped to Loki (with the loki add-on)")
    least_privileged: bool = Field(
        True, alias="leastPrivileged",
        description="run Falco with the capabilities the modern eBPF probe needs (BPF, "
                    "PERFMON, SYS_RESOURCE, SYS_PTRACE) instead of a privileged container")
    homelab_rules: bool = Field(
        True, alias="homelabRules",
        description="add the homelab rules (shells spawned by applications, sensitive file "
                    "reads, outbound connections by shells and download tools)")
    trusted_images: list[str] = Field(
        default_factory=list, alias="trustedImages",
        description="image repositories (no tag) the homelab rules never flag, e.g. a DDNS "
                    "updater that curls the internet")
    no_egress_namespaces: list[str] = Field(
        default_factory=list, alias="noEgressNamespaces",
        description="namespaces whose containers never talk to the internet: any public "
                    "connection from them is flagged")


def _options(profile: Profile) -> FalcoOptions:
    return options_of(profile, "falco", FalcoOptions)


def _resources(cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> dict[str, Any]:
    return {"requests": {"cpu": cpu, "memory": memory},
            "limits": {"cpu": cpu_limit, "memory": memory_limit}}


FALCO_RESOURCES = _resources("100m", "256Mi", "1", "1Gi")
FALCOCTL_RESOURCES = _resources("10m", "32Mi", "100m", "128Mi")
SIDEKICK_RESOURCES = _resources("10m", "32Mi", "200m", "128Mi")


def loki_url(ctx: Context) -> str | None:
    """Loki's address (where it runs, adopted or not) when a loki add-on is enabled (it may
    not be registered at all: Falco works without it)."""
    return ctx.endpoints.get(LOKI_ADDON, {}).get("url")


def _falco_list(items: tuple[str, ...] | list[str]) -> list[str]:
    return sorted(set(items))


def homelab_rules(opts: FalcoOptions) -> str:
    """The homelab rules file: a Falco rules YAML document. It builds on macros and lists of
    the stable ruleset (spawned_process, container, container_entrypoint, shell_procs,
    shell_binaries, open_read, sensitive_files, outbound), which Falco loads first; with
    `rule_matching: first` an event already matched by a stable rule is not raised twice."""
    trusted = "not container.image.repository in (homelab_trusted_images)"
    doc: list[dict[str, Any]] = [
        {"list": "homelab_trusted_images", "items": _falco_list(opts.trusted_images)},
        {"list": "homelab_shell_spawners", "items": list(SHELL_SPAWNERS)},
        {"list": "homelab_sensitive_files", "items": list(SENSITIVE_FILES)},
        {"list": "homelab_sensitive_file_readers", "items": list(SENSITIVE_FILE_READERS)},
        {"list": "homelab_network_tools", "items": list(NETWORK_TOOLS)},
        {"list": "homelab_no_egress_namespaces",
         "items": _falco_list(opts.no_egress_namespaces)},
        {
            "rule": "Homelab shell spawned by an application in a container",
            "desc": "A shell started by a long-running application process (not by the "
                    "container runtime, an init wrapper or another shell): the usual sign of "
                    "remote code execution. kubectl exec shells come from the runtime and are "
                    "left to the stable 'Terminal shell in container' rule.",
            "condition": "spawned_process and container and shell_procs\n"
                         "and proc.pname exists\n"
                         "and not proc.pname in (shell_binaries, homelab_shell_spawners)\n"
                         "and not container_entrypoint\n"
                         f"and {trusted}\n",
            "output": "Shell spawned by an application in a container (shell=%proc.name "
                      "parent=%proc.pname command=%proc.cmdline user=%user.name "
                      f"{CONTAINER_FIELDS})",
            "priority": "WARNING",
            "tags": ["homelab", "container", "shell", "mitre_execution", "T1059"],
        },
        {
            "rule": "Homelab sensitive file read in a container",
            "desc": "A container process opened a credentials file (shadow, sudoers, PAM, SSH "
                    "host keys, root's SSH keys) and is not one of the programs that do so "
                    "for a living.",
            "condition": "open_read and container\n"
                         "and (sensitive_files or fd.name in (homelab_sensitive_files)\n"
                         "     or fd.name startswith /root/.ssh/)\n"
                         "and not proc.name in (homelab_sensitive_file_readers)\n"
                         f"and {trusted}\n",
            "output": "Sensitive file read in a container (file=%fd.name process=%proc.name "
                      "parent=%proc.pname command=%proc.cmdline user=%user.name "
                      f"{CONTAINER_FIELDS})",
            "priority": "WARNING",
            "tags": ["homelab", "container", "filesystem", "mitre_credential_access", "T1555"],
        },
        {
            "rule": "Homelab unexpected outbound connection from a container",
            "desc": "A connection to a public address (not loopback, not RFC 1918) made by a "
                    "shell or a download/network tool, or made from a namespace that should "
                    "never reach the internet: a second-stage download or a reverse shell.",
            "condition": "outbound and container\n"
                         "and (shell_procs or proc.name in (homelab_network_tools)\n"
                         "     or k8s.ns.name in (homelab_no_egress_namespaces))\n"
                         f"and {trusted}\n",
            "output": "Unexpected outbound connection from a container (connection=%fd.name "
                      "process=%proc.name parent=%proc.pname command=%proc.cmdline "
                      f"user=%user.name {CONTAINER_FIELDS})",
            "priority": "WARNING",
            "tags": ["homelab", "container", "network", "mitre_command_and_control", "T1105"],
        },
    ]
    return yamlio.dump(doc)


class Falco(Addon):
    name = "falco"
    # What the component exports (from its source, at the pinned version): the names the
    # PrometheusRules may use.
    metrics = MetricCatalogue(
        "Falcosidekick", ("falcosidekick_", "falcosecurity_falcosidekick_",), frozenset({
        "falcosecurity_falcosidekick_falco_events_total",
        "falcosecurity_falcosidekick_inputs_total",
        "falcosecurity_falcosidekick_outputs_total",
    }))
    title = "Falco"
    namespace = "falco"
    mesh = "disabled"
    priority = Priority.LOW
    roadmap_names = ("falco",)
    roadmap_capabilities = ("runtime security", "runtime threat detection", "threat detection",
                            "intrusion detection", "syscall monitoring", "security")
    Options = FalcoOptions
    chart = Chart("falco", "9.1.0", "oci://ghcr.io/falcosecurity/charts/falco")
    release_name = RELEASE
    workloads = (
        Workload("falco", "DaemonSet", "resources"),
        Workload("falco (falcoctl-artifact-follow sidecar)", "DaemonSet",
                 "falcoctl.artifact.follow.resources",
                 enabled_path="falcoctl.artifact.follow.enabled"),
        Workload("falcosidekick", "Deployment", "falcosidekick.resources",
                 replicas_path="falcosidekick.replicaCount",
                 enabled_path="falcosidekick.enabled"),
    )

    def lint_exceptions(self, ctx: Context) -> dict[str, str]:
        found = {"host-path": "Falco reads the host's /proc, /sys, /boot, /etc and the "
                              "container runtime's socket: that is its job"}
        if not _options(ctx.profile).least_privileged:
            found["privileged"] = "leastPrivileged: false runs the driver privileged"
        return found

    def check_profile(self, profile: Profile) -> list[ProfileProblem]:
        opts = _options(profile)
        problems = []
        for i, image in enumerate(opts.trusted_images):
            if not IMAGE_PATTERN.match(image):
                problems.append(ProfileProblem(
                    f"trustedImages[{i}]",
                    f"{image!r} is not an image repository (lower case, no tag or digest)"))
        for i, ns in enumerate(opts.no_egress_namespaces):
            if not NAMESPACE_PATTERN.match(ns):
                problems.append(ProfileProblem(
                    f"noEgressNamespaces[{i}]", f"{ns!r} is not a namespace name"))
        return problems

    def sidekick(self, ctx: Context) -> dict[str, Any]:
        """The falcosidekick subchart's values: outputs for what the cluster has."""
        opts = _options(ctx.profile)
        loki = loki_url(ctx)
        config: dict[str, Any] = {}
        if ctx.monitoring:
            config["alertmanager"] = {
                "hostport": ctx.profile.monitoring.alertmanager_url.rstrip("/"),
                # Alertmanager dropped its v1 API (0.27); the chart still defaults to it.
                "endpoint": "/api/v2/alerts",
                "minimumpriority": opts.alert_priority,
            }
        if loki is not None:
            config["loki"] = {
                "hostport": loki,
                "minimumpriority": opts.log_priority,
                "grafanaDashboard": {"enabled": ctx.monitoring},
            }
        if not config:
            # Nowhere to forward to: Falco's own stdout (collected by the cluster's log
            # shipper) is the only output, and no Falcosidekick pod runs.
            return {"enabled": False}
        return {
            "enabled": True,
            "replicaCount": 1,
            "resources": SIDEKICK_RESOURCES,
            "config": config,
            "webui": {"enabled": False},
            "serviceMonitor": {"enabled": ctx.monitoring,
                               "additionalLabels": ctx.monitoring_labels},
            "grafana": {"dashboards": {"enabled": ctx.monitoring}},
        }

    def values(self, ctx: Context) -> dict[str, Any]:
        opts = _options(ctx.profile)
        values: dict[str, Any] = {
            "driver": {
                "kind": "modern_ebpf",
                "modernEbpf": {"leastPrivileged": opts.least_privileged},
            },
            "resources": FALCO_RESOURCES,
            "falcoctl": {"artifact": {
                "install": {"resources": FALCOCTL_RESOURCES},
                # Rule updates within the falco-rules major version the chart pins.
                "follow": {"enabled": True, "resources": FALCOCTL_RESOURCES},
            }},
            "metrics": {"enabled": True},
            "serviceMonitor": {"create": ctx.monitoring, "labels": ctx.monitoring_labels},
            "grafana": {"dashboards": {"enabled": ctx.monitoring}},
            "falcosidekick": self.sidekick(ctx),
        }
        if opts.homelab_rules:
            values["customRules"] = {RULES_FILE: homelab_rules(opts)}
        return values

    def resources(self, ctx: Context) -> Rendered:
        if not ctx.monitoring:
            return Rendered()
        ns = self.namespace
        rules = [
            ctx.alert(
                "FalcoNotOnEveryNode",
                f'kube_daemonset_status_desired_number_scheduled{{namespace="{ns}",'
                f'daemonset="{RELEASE}"}} - kube_daemonset_status_number_ready'
                f'{{namespace="{ns}",daemonset="{RELEASE}"}} > 0',
                "15m", "warning",
                "Falco is not running on {{ $value }} node(s): they are not watched"),
        ]
        if self.sidekick(ctx)["enabled"]:
            # Falcosidekick registers its counters under the `falcosecurity_falcosidekick`
            # namespace: the outputs counter is exported as this name, nothing shorter.
            rules.append(ctx.alert(
                "FalcosidekickOutputFailing",
                'sum by (destination) (rate(falcosecurity_falcosidekick_outputs_total'
                f'{{namespace="{ns}",status="error"}}[5m])) > 0',
                "15m", "warning",
                "Falcosidekick cannot deliver Falco events to {{ $labels.destination }}"))
        return Rendered(app=[ctx.prometheus_rule("falco", ns, rules)])

    def notes(self, ctx: Context) -> list[str]:
        opts = _options(ctx.profile)
        notes = [
            "Driver: modern eBPF (needs kernel >= 5.8 with BTF); "
            + ("capabilities instead of a privileged container (set leastPrivileged: false "
               "if Falco cannot attach on your kernel)."
               if opts.least_privileged else "privileged container."),
        ]
        if ctx.profile.cluster.nodes.os == "talos":
            notes.append(
                "Talos: the modern eBPF driver is the one that fits (Talos kernels carry BTF; "
                "the kernel-module driver cannot load there, Talos only loads signed modules "
                f"from system extensions), so nothing is downloaded at start. Talos enforces "
                f"the baseline Pod Security Standard: label the {self.namespace} namespace "
                "`pod-security.kubernetes.io/enforce: privileged`.")
        targets = []
        if ctx.monitoring:
            targets.append(f"Alertmanager (from {opts.alert_priority})")
        if loki_url(ctx) is not None:
            targets.append(f"Loki (from {opts.log_priority}, with the chart's Grafana "
                           "dashboard)")
        if targets:
            notes.append(f"Falcosidekick forwards events to {' and '.join(targets)}; its web "
                         "UI stays off (it needs its own Redis).")
        else:
            notes.append("No Alertmanager and no loki add-on: events only go to Falco's "
                         "stdout, which the cluster's log shipper collects.")
        if opts.homelab_rules:
            notes.append("Homelab rules: shells spawned by applications, sensitive file "
                         "reads and outbound connections by shells/download tools; "
                         "silence a known-good image with `trustedImages`.")
        return notes


ADDON = Falco()
