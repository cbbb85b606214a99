"""What `outfitter validate` reports: findings by rule, and the catalogue of rules.

Severities: `error` — Flux or the API server would reject it; `warning` — it would be
accepted and silently do the wrong thing (or is a security risk); `info` — said for
honesty, not a failure (a kind with no schema is "not validated", never "passed").
The catalogue is the single list of rule ids; docs/validate-rules.md documents it and a test
keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning", "info"]

IGNORE_ANNOTATION = "outfitter.dev/ignore"


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    summary: str


RULES: dict[str, Rule] = {r.id: r for r in (
    # Input (exit 2 when any is present; the rest of the tree is still validated).
    Rule("yaml-syntax", "error", "a file is not valid YAML"),
    Rule("unreadable", "error", "a file cannot be read"),
    # Schemas.
    Rule("schema", "error", "the object does not match its Kubernetes or CRD schema"),
    Rule("unknown-field", "error", "strict mode: a field the schema does not define "
         "(the API server would drop it or reject it)"),
    Rule("not-validated", "info", "no schema is known for the kind: not validated"),
    # How Flux builds the tree.
    Rule("kustomize-build", "error", "a kustomize directory does not build"),
    Rule("flux-path", "error", "a Flux Kustomization's spec.path is not in the repository"),
    Rule("not-included", "warning", "a manifest in a kustomize directory that no "
         "kustomization lists: Flux never applies it"),
    Rule("not-applied", "info", "a file or folder with Kubernetes objects that no Flux "
         "Kustomization (nor Argo CD Application) applies: not validated"),
    Rule("remote-resource", "info", "a remote resource or chart a kustomization names (or an "
         "Argo CD Application's value file of another repository): not fetched (offline), "
         "its objects not checked"),
    Rule("external-source", "info", "a Flux Kustomization (or an Argo CD Application) built "
         "from another source than this repository: not validated here"),
    Rule("argocd-path", "error", "an Argo CD Application's source path is not a folder of "
         "this repository"),
    Rule("argocd-applicationset", "error", "an Argo CD ApplicationSet that Argo CD refuses "
         "(two Applications of one name, a list value that is not a string without "
         "goTemplate, a matrix without two generators, a files generator's file that is "
         "not a map): it makes no Application"),
    Rule("argocd-not-rendered", "info", "an Argo CD Application's source that Argo CD renders "
         "with helm (a Chart.yaml) or a plugin, or an ApplicationSet not expanded here: its "
         "objects are not checked"),
    Rule("substitute-undefined", "warning", "a ${VAR} that postBuild does not define: Flux "
         "replaces it with an empty string"),
    Rule("resourceset", "error", "a flux-operator ResourceSet whose templates do not render: "
         "the operator makes none of its objects"),
    Rule("resourceset-not-rendered", "info", "a ResourceSet whose inputs come from outside "
         "the tree (inputsFrom), or with no kustomize-batch to render it: its objects are not "
         "checked"),
    Rule("sops-no-decryption", "error", "a SOPS-encrypted Secret applied by a Flux "
         "Kustomization without spec.decryption (or by an Argo CD Application)"),
    # References.
    Rule("depends-on", "error", "a dependsOn target that does not exist"),
    Rule("source-ref", "error", "a sourceRef/chartRef object that does not exist"),
    Rule("values-from", "error", "a valuesFrom/substituteFrom ConfigMap or Secret that does "
         "not exist (or lacks the key)"),
    Rule("secret-ref", "warning", "a Secret a workload or HelmRelease names that nothing "
         "provides (no Secret, ExternalSecret or Certificate)"),
    Rule("namespace", "error", "an object in a namespace that neither exists nor is created"),
    Rule("tls-secret", "warning", "an IngressRoute tls.secretName that nothing produces in "
         "its namespace"),
    Rule("unapplied-source", "warning", "a substituteFrom ConfigMap or Secret "
         "defined only in files no Flux Kustomization applies (a bootstrap folder)"),
    Rule("remote-reference", "info", "a reference nothing in the tree satisfies, that a "
         "remote resource of the same build (not fetched) may satisfy"),
    Rule("duplicate", "error", "the same object (kind, namespace, name) from two places"),
    Rule("shared", "warning", "the same object, alike but for labels and annotations, from "
         "two Flux Kustomizations (each app's copy of a shared source): pruning one deletes it "
         "for all"),
    Rule("dual-owner", "error", "an add-on owned by both Flux and an Argo CD Application"),
    # HelmRelease values.
    Rule("values-unknown-key", "warning", "a HelmRelease value the chart does not define: "
         "Helm ignores it"),
    Rule("values-schema", "error", "HelmRelease values that fail the chart's values.schema.json"),
    # Security and hygiene lint.
    Rule("plaintext-secret", "warning", "a Secret with data in plain text (not SOPS-encrypted)"),
    Rule("privileged", "warning", "a privileged container"),
    Rule("host-path", "warning", "a hostPath volume"),
    Rule("host-namespaces", "warning", "hostNetwork, hostPID or hostIPC"),
    Rule("image-latest", "warning", "an image on `latest` or with no tag"),
    Rule("chart-unpinned", "warning", "a chart or chart source without an exact version"),
    # Charts templated (--helm).
    Rule("helm-template", "error", "a HelmRelease whose chart does not template with its "
         "values (helm's message): Flux would fail the release"),
    Rule("helm-chart", "error", "a HelmRelease whose chart cannot be had (not in --charts or "
         "the cache, and not pulled)"),
    Rule("unbounded-container", "warning", "a container a chart creates without CPU and "
         "memory requests or a memory limit"),
    Rule("service-port", "warning", "a `service.namespace.svc:port` that names a port the "
         "Service does not open, or a Service that is not there"),
    Rule("secret-key", "warning", "a workload reads a key the Secret's producer does not "
         "have (the pod cannot start)"),
    Rule("metric-unknown", "warning", "a PrometheusRule metric its component does not "
         "export: the alert can never fire"),
    # Live API server.
    Rule("server-dry-run", "error", "the API server rejects the object (server-side dry run)"),
    Rule("server-skipped", "info", "not sent to the API server: it depends on something this "
         "tree creates first (a namespace, a CRD)"),
)}

INPUT_RULES = frozenset({"yaml-syntax", "unreadable"})
LINT_RULES = ("plaintext-secret", "privileged", "host-path", "host-namespaces", "image-latest",
              "chart-unpinned")


@dataclass
class Finding:
    rule: str
    file: str  # relative to the validated root, with forward slashes
    message: str
    subject: str = ""  # "Kind namespace/name"
    line: int | None = None
    # Where to look for the line: the document index in the file and a field path in it.
    doc: int | None = None
    path: tuple[str | int, ...] = ()
    kind_name: tuple[str, str] | None = None  # (kind, name), to find the document if needed
    applied_by: str = ""  # "namespace/name" of the Flux Kustomization that applies the object

    @property
    def severity(self) -> Severity:
        return RULES[self.rule].severity

    def sort_key(self) -> tuple[str, int, str, str]:
        return (self.file, self.line or 0, self.rule, self.message)

    def as_json(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "rule": self.rule,
                "severity": self.severity, "object": self.subject or None,
                "applied_by": self.applied_by or None, "message": self.message}


@dataclass
class Report:
    root: str
    findings: list[Finding] = field(default_factory=list)
    objects: int = 0
    validated: int = 0  # objects checked against a schema
    files: int = 0
    kubernetes_version: str = ""
    schema_source: str = ""

    def sorted(self) -> list[Finding]:
        return sorted(self.findings, key=Finding.sort_key)

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    @property
    def exit_code(self) -> int:
        if any(f.rule in INPUT_RULES for f in self.findings):
            return 2
        return 1 if any(f.severity != "info" for f in self.findings) else 0


def ignored_rules(obj: dict[str, object]) -> frozenset[str]:
    """Rules silenced on this object by the `outfitter.dev/ignore` annotation."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return frozenset()
    annotations = meta.get("annotations")
    if not isinstance(annotations, dict):
        return frozenset()
    value = annotations.get(IGNORE_ANNOTATION)
    if not isinstance(value, str):
        return frozenset()
    return frozenset(part.strip() for part in value.split(",") if part.strip())
