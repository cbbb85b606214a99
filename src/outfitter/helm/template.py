"""`helm template` for one release, and its output read back as objects.

Each object keeps the chart file it came from (helm's `# Source:` comment). Objects the chart
leaves without a namespace get the release's, as Helm does when it installs them, unless
their kind is cluster-scoped. Flux's own labels (`helm.toolkit.fluxcd.io/name` and
`/namespace`) are added as helm-controller's post-renderer does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from outfitter import yamlio
from outfitter.helm.release import Release

FLUX_NAME_LABEL = "helm.toolkit.fluxcd.io/name"
FLUX_NAMESPACE_LABEL = "helm.toolkit.fluxcd.io/namespace"
HOOK_ANNOTATION = "helm.sh/hook"


class HelmMissing(Exception):
    """No helm binary where it was looked for."""


class TemplateError(Exception):
    """helm could not template the chart; the message is helm's."""


@dataclass
class RenderedObject:
    obj: dict[str, Any]
    source: str  # the chart file, e.g. "tempo/templates/service.yaml"

    @property
    def is_hook(self) -> bool:
        meta = self.obj.get("metadata") if isinstance(self.obj.get("metadata"), dict) else {}
        annotations = (meta or {}).get("annotations")
        return isinstance(annotations, dict) and HOOK_ANNOTATION in annotations


@dataclass
class Rendered:
    release: Release
    chart: str  # name-version from the chart's own metadata, when known
    objects: list[RenderedObject] = field(default_factory=list)


def find_helm(explicit: str | None = None) -> str:
    """The helm to run: --helm-bin, else `helm` on PATH, else the one tools/build.sh built."""
    if explicit:
        if os.path.isfile(explicit) and os.access(explicit, os.X_OK):
            return explicit
        found = shutil.which(explicit)
        if found:
            return found
        raise HelmMissing(f"--helm-bin {explicit}: not an executable file")
    found = shutil.which("helm")
    if found:
        return found
    base = os.environ.get("OUTFITTER_TOOLS_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache"),
        "outfitter", "tools")
    built = os.path.join(base, "bin", "helm")
    if os.access(built, os.X_OK):
        return built
    raise HelmMissing("--helm needs helm 3.8 or newer: install it (e.g. your package "
                      "manager's `helm`), put it on PATH or give --helm-bin; tools/build.sh "
                      "in outfitter's repository builds one")


def helm_version(helm: str) -> str:
    done = subprocess.run([helm, "version", "--short"], capture_output=True, text=True,
                          check=False)
    return done.stdout.strip() if done.returncode == 0 else ""


def template(helm: str, release: Release, chart: Path, values: dict[str, Any], *,
             kube_version: str | None = None, api_versions: Iterable[str] = (),
             cluster_scoped: Callable[[str, str], bool] = lambda group, kind: False
             ) -> list[RenderedObject]:
    """The chart templated for the release; TemplateError with helm's message on failure."""
    with tempfile.TemporaryDirectory(prefix="outfitter-helm-") as tmp:
        values_file = os.path.join(tmp, "values.json")
        with open(values_file, "w", encoding="utf-8") as handle:
            json.dump(values, handle, sort_keys=True)  # JSON is YAML, and exact for helm
        args = [helm, "template", release.release_name, str(chart),
                "--namespace", release.target_namespace, "--values", values_file,
                "--skip-tests"]
        if release.include_crds:
            args.append("--include-crds")
        if kube_version:
            args += ["--kube-version", kube_version]
        for api in sorted(set(api_versions)):
            args += ["--api-versions", api]
        env = {**os.environ, "HELM_CACHE_HOME": os.path.join(tmp, "cache"),
               "HELM_CONFIG_HOME": os.path.join(tmp, "config"),
               "HELM_DATA_HOME": os.path.join(tmp, "data")}
        done = subprocess.run(args, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise TemplateError(helm_message(done.stderr))
    return parse(done.stdout, release, cluster_scoped)


def helm_message(stderr: str) -> str:
    """helm's error, one line: its `Error:` line without the prefix (else the last line)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        if line.startswith("Error:"):
            return line.removeprefix("Error:").strip()
    return lines[-1] if lines else "helm template failed with no message"


def _chunks(text: str) -> Iterable[tuple[str, str]]:
    """(source, document text) for each document of helm's output."""
    source = ""
    lines: list[str] = []
    for line in text.splitlines():
        if line.startswith("---"):
            if lines:
                yield source, "\n".join(lines)
            source, lines = "", []
            continue
        if line.startswith("# Source: "):
            source = line.removeprefix("# Source: ").strip()
        lines.append(line)
    if lines:
        yield source, "\n".join(lines)


def parse(text: str, release: Release,
          cluster_scoped: Callable[[str, str], bool] = lambda group, kind: False
          ) -> list[RenderedObject]:
    out = []
    for source, chunk in _chunks(text):
        for obj in yamlio.load_all(chunk):
            if not isinstance(obj, dict) or not obj.get("kind"):
                continue
            meta = obj.setdefault("metadata", {})
            if not isinstance(meta, dict):
                continue
            group = str(obj.get("apiVersion", "")).rpartition("/")[0]
            if not meta.get("namespace") and not cluster_scoped(group, str(obj["kind"])):
                meta["namespace"] = release.target_namespace
            labels = meta.get("labels") if isinstance(meta.get("labels"), dict) else {}
            meta["labels"] = {**(labels or {}), FLUX_NAME_LABEL: release.name,
                              FLUX_NAMESPACE_LABEL: release.namespace}
            out.append(RenderedObject(obj, source))
    return out
