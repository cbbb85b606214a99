"""helm-controller's post-renderers: `spec.postRenderers[].kustomize` (`patches`, `images`)
applied to the templated objects in order, with `kubectl kustomize` — the kustomize Flux
embeds — over a folder holding the objects and a kustomization naming the patches."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from typing import Any

from outfitter import yamlio
from outfitter.helm.template import RenderedObject, TemplateError


def _identity(obj: dict[str, Any]) -> tuple[str, str, str, str]:
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    return (str(obj.get("apiVersion")), str(obj.get("kind")),
            str((meta or {}).get("namespace") or ""), str((meta or {}).get("name") or ""))


def post_render(objects: list[RenderedObject], post_renderers: Any,
                kubectl: str | None = None) -> list[RenderedObject]:
    """The objects after each kustomize post-renderer; a TemplateError when one fails."""
    if not isinstance(post_renderers, list):
        return objects
    for i, renderer in enumerate(post_renderers):
        spec = renderer.get("kustomize") if isinstance(renderer, dict) else None
        if not isinstance(spec, dict):
            continue
        kustomization: dict[str, Any] = {"apiVersion": "kustomize.config.k8s.io/v1beta1",
                                         "kind": "Kustomization",
                                         "resources": ["rendered.yaml"]}
        for key in ("patches", "images"):
            if spec.get(key):
                kustomization[key] = spec[key]
        objects = _kustomize(objects, kustomization, f"spec.postRenderers[{i}]", kubectl)
    return objects


def _kustomize(objects: list[RenderedObject], kustomization: dict[str, Any], where: str,
               kubectl: str | None) -> list[RenderedObject]:
    binary = kubectl or shutil.which("kubectl")
    if binary is None:
        raise TemplateError(f"{where}: kubectl is needed to apply the kustomize "
                            f"post-renderer")
    sources = {_identity(item.obj): item.source for item in objects}
    with tempfile.TemporaryDirectory(prefix="outfitter-postrender-") as tmp:
        with open(os.path.join(tmp, "rendered.yaml"), "w", encoding="utf-8") as handle:
            handle.write(yamlio.dump_all(item.obj for item in objects))
        with open(os.path.join(tmp, "kustomization.yaml"), "w", encoding="utf-8") as handle:
            handle.write(yamlio.dump(kustomization))
        done = subprocess.run([binary, "kustomize", tmp], capture_output=True, text=True,
                              check=False)
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        raise TemplateError(f"{where}: {lines[-1] if lines else 'kustomize failed'}")
    out = []
    for obj in yamlio.load_all(done.stdout):
        if isinstance(obj, dict):
            out.append(RenderedObject(obj, sources.get(_identity(obj), "(post-renderer)")))
    return out
