"""Security and hygiene lint, one object at a time. Each rule can be silenced per object with
the `outfitter.dev/ignore` annotation; docs/validate-rules.md lists them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from outfitter.validate.documents import is_sops

Path_ = tuple[str | int, ...]

# Where each workload kind keeps its pod spec.
POD_SPEC_PATHS: dict[str, Path_] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
_RANGE = re.compile(r"[*xX^~><|,]|\s-\s|^$")


@dataclass(frozen=True)
class LintHit:
    rule: str
    message: str
    path: Path_


def pod_spec(obj: dict[str, Any]) -> tuple[dict[str, Any], Path_] | None:
    path = POD_SPEC_PATHS.get(str(obj.get("kind", "")))
    if path is None or str(obj.get("apiVersion", "")).count("/") > 1:
        return None
    node: Any = obj
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return (node, path) if isinstance(node, dict) else None


def containers(spec: dict[str, Any], base: Path_) -> Iterator[tuple[dict[str, Any], Path_]]:
    for field in CONTAINER_LISTS:
        items = spec.get(field)
        if isinstance(items, list):
            for i, c in enumerate(items):
                if isinstance(c, dict):
                    yield c, (*base, field, i)


def lint(obj: dict[str, Any], group: str) -> list[LintHit]:
    kind = str(obj.get("kind", ""))
    hits: list[LintHit] = []
    if kind == "Secret" and group == "":
        hits += _secret(obj)
    found = pod_spec(obj) if group in ("", "apps", "batch") else None
    if found is not None:
        hits += _pod(*found)
    if group == "helm.toolkit.fluxcd.io" and kind == "HelmRelease":
        hits += _helmrelease(obj)
    elif group == "source.toolkit.fluxcd.io" and kind == "OCIRepository":
        hits += _ocirepository(obj)
    elif group == "source.toolkit.fluxcd.io" and kind == "HelmChart":
        version = (obj.get("spec") or {}).get("version")
        if not _exact(version):
            hits.append(LintHit("chart-unpinned", f"chart version {_show(version)} is not an "
                                "exact version", ("spec", "version")))
    return hits


# Keys that name settings, not credentials (a generator's `AWS_REGION=garage`, an S3
# endpoint): a Secret holding only these is no secret in Git.
_SETTING_KEY = re.compile(r"(?i)(?:^|[_.-])(?:region|endpoint|host(?:name)?|port|bucket|url|"
                          r"uri|domain|namespace|tz|timezone)$")


_ONLY_VARIABLES = re.compile(r"(?:\$\{[^}]*\})+")


def _secret(obj: dict[str, Any]) -> list[LintHit]:
    if is_sops(obj):
        return []
    keys = [f for f in ("data", "stringData") if obj.get(f)]
    if not keys:
        return []
    names = [str(k) for f in keys if isinstance(obj[f], dict) for k in obj[f]]
    if names and all(_SETTING_KEY.search(name) for name in names):
        return []
    values = [v for f in keys if isinstance(obj[f], dict) for v in obj[f].values()]
    if values and all(isinstance(v, str) and _ONLY_VARIABLES.fullmatch(v) for v in values):
        return []  # `${CLIENT_SECRET}` left for Flux to fill from an encrypted source
    return [LintHit("plaintext-secret",
                    f"Secret holds {keys[0]} in plain text in Git; encrypt it with SOPS or "
                    "produce it with an ExternalSecret", (keys[0],))]


def _pod(spec: dict[str, Any], base: Path_) -> list[LintHit]:
    hits = []
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field) is True:
            hits.append(LintHit("host-namespaces", f"{field}: true shares the node's "
                                "namespace with the pod", (*base, field)))
    for i, volume in enumerate(spec.get("volumes") or []):
        if isinstance(volume, dict) and "hostPath" in volume:
            host = (volume.get("hostPath") or {}).get("path", "")
            hits.append(LintHit("host-path", f"volume {volume.get('name')!r} mounts the "
                                f"node's {host or 'filesystem'}", (*base, "volumes", i)))
    for container, at in containers(spec, base):
        name = container.get("name")
        security = container.get("securityContext") or {}
        if isinstance(security, dict) and security.get("privileged") is True:
            hits.append(LintHit("privileged", f"container {name!r} runs privileged",
                                (*at, "securityContext", "privileged")))
        image = container.get("image")
        problem = image_problem(image)
        if problem:
            hits.append(LintHit("image-latest", f"container {name!r}: {problem}",
                                (*at, "image")))
    return hits


def image_problem(image: Any) -> str | None:
    if not isinstance(image, str) or not image:
        return None
    if "@" in image:
        return None  # pinned by digest
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"image {image!r} has no tag (it means `latest`)"
    if last.rsplit(":", 1)[1] == "latest":
        return f"image {image!r} is on `latest`"
    return None


def _exact(version: Any) -> bool:
    if version is None:
        return False
    text = str(version).strip()
    return not _RANGE.search(text)


def _show(version: Any) -> str:
    return "(none)" if version is None else repr(str(version))


def _helmrelease(obj: dict[str, Any]) -> list[LintHit]:
    spec = obj.get("spec") or {}
    chart = (spec.get("chart") or {}).get("spec") if isinstance(spec.get("chart"), dict) else None
    if not isinstance(chart, dict):
        return []  # chartRef: the version lives on the OCIRepository / HelmChart
    source = chart.get("sourceRef") if isinstance(chart.get("sourceRef"), dict) else {}
    if (source or {}).get("kind") in ("GitRepository", "Bucket"):
        return []  # Flux ignores `version` there: the source's revision pins the chart
    version = chart.get("version")
    if _exact(version):
        return []
    what = "no chart version (Helm takes the newest)" if version is None else \
        f"chart version {_show(version)} is a range"
    return [LintHit("chart-unpinned", what, ("spec", "chart", "spec", "version"))]


def _ocirepository(obj: dict[str, Any]) -> list[LintHit]:
    spec = obj.get("spec") or {}
    ref: dict[str, Any] = spec["ref"] if isinstance(spec.get("ref"), dict) else {}
    if ref.get("digest"):
        return []
    if "semver" in ref and not _exact(ref.get("semver")):
        return [LintHit("chart-unpinned", f"ref.semver {_show(ref.get('semver'))} is a range",
                        ("spec", "ref", "semver"))]
    if "semver" in ref:
        return []
    tag = ref.get("tag")
    if not tag or tag == "latest":
        return [LintHit("chart-unpinned", "no ref.tag, ref.semver or ref.digest: it follows "
                        "`latest`" if not tag else "ref.tag is `latest`", ("spec", "ref"))]
    return []
