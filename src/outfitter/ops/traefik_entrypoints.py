"""Traefik entry points that get a certificate for every route from an ACME resolver.

Set in the Traefik HelmRelease's values: `ports.<ep>.tls.certResolver` (charts up to v3x),
`ports.<ep>.http.tls.certResolver` (later charts), or an `additionalArguments` flag
`--entrypoints.<ep>.http.tls.certresolver=NAME`. Values are read as helm-controller merges
them where that is simple: each `valuesFrom` ConfigMap or Secret of the tree (a plain
object, or a kustomize `configMapGenerator` one; `valuesKey`, `targetPath`), then the inline
`values` on top. A route with `tls: {}` on such an entry point is served by that resolver.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from outfitter import yamlio
from outfitter.ops.yaml_edit import YamlFile

HELM_API = "helm.toolkit.fluxcd.io/"
_FLAG = re.compile(r"^--entrypoints\.([^.=]+)\.http\.tls\.certresolver=(.+)$", re.IGNORECASE)


@dataclass(frozen=True)
class EntrypointResolver:
    entrypoint: str
    resolver: str
    where: str  # the HelmRelease and the values key that set it


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _is_traefik(doc: dict[str, Any], oci_urls: dict[str, str]) -> bool:
    spec = _dict(doc.get("spec"))
    chart = str(_dict(_dict(spec.get("chart")).get("spec")).get("chart") or "")
    ref = _dict(spec.get("chartRef"))
    url = oci_urls.get(str(ref.get("name") or ""), "") if ref else ""
    return chart.rstrip("/").split("/")[-1] == "traefik" or url.rstrip("/").endswith("/traefik")


def merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """Helm's merge of values: mappings merge key by key, anything else is replaced."""
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


class _Objects:
    """The ConfigMaps and Secrets a HelmRelease's valuesFrom can name, by (kind, name)."""

    def __init__(self, files: list[YamlFile]) -> None:
        self.data: dict[tuple[str, str], dict[str, str]] = {}
        by_path = {os.path.realpath(yf.path): yf for yf in files}
        for yf in files:
            for doc in yf.documents:
                obj = doc.data
                if not isinstance(obj, dict):
                    continue
                if obj.get("kind") in ("ConfigMap", "Secret") and obj.get("apiVersion") == "v1":
                    name = str(_dict(obj.get("metadata")).get("name") or "")
                    self.data[(str(obj["kind"]), name)] = _values(obj)
                generators = obj.get("configMapGenerator")
                for gen in generators if isinstance(generators, list) else []:
                    if isinstance(gen, dict) and gen.get("name"):
                        self.data[("ConfigMap", str(gen["name"]))] = _generated(
                            gen, yf.path.parent, by_path)

    def values(self, ref: dict[str, Any]) -> dict[str, Any] | None:
        kind = str(ref.get("kind") or "")
        data = self.data.get((kind, str(ref.get("name") or "")))
        text = (data or {}).get(str(ref.get("valuesKey") or "values.yaml"))
        if text is None:
            return None
        try:
            value = yamlio.load_checked(text)
        except Exception:
            return None
        target = str(ref.get("targetPath") or "")
        if target:
            for key in reversed(target.split(".")):
                value = {key: value}
        return value if isinstance(value, dict) else None


def _values(obj: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in _dict(obj.get("data")).items():
        if obj.get("kind") == "Secret":
            try:
                out[str(key)] = base64.b64decode(str(value), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                continue
        else:
            out[str(key)] = str(value)
    out.update({str(k): str(v) for k, v in _dict(obj.get("stringData")).items()})
    return out


def _generated(gen: dict[str, Any], folder: Path, files: dict[str, YamlFile]
               ) -> dict[str, str]:
    """The data of a generated ConfigMap: its files (only those the repository model says
    Flux reads), and its literals."""
    out: dict[str, str] = {}
    for entry in gen.get("files") or []:
        key, _, rel = str(entry).rpartition("=")
        source = files.get(os.path.realpath(folder / rel))
        if source is not None:
            out[key or Path(rel).name] = source.text
    for literal in gen.get("literals") or []:
        key, _, value = str(literal).partition("=")
        out[key] = value
    return out


def find(files: list[YamlFile], base: Path,
         namespace_of: Callable[[Path, str | None], str | None] | None = None,
         ) -> dict[str, EntrypointResolver]:
    """Entry point name → the resolver Traefik's values set on it. `namespace_of` gives the
    namespace an object of a file lands in (for the messages)."""
    oci = {str(_dict(d.data.get("metadata")).get("name")): str(_dict(d.data.get("spec"))
                                                              .get("url") or "")
           for yf in files for d in yf.documents
           if isinstance(d.data, dict) and d.data.get("kind") == "OCIRepository"}
    objects: _Objects | None = None
    found: dict[str, EntrypointResolver] = {}
    for yf in files:
        for doc in yf.documents:
            hr = doc.data
            if not (isinstance(hr, dict) and hr.get("kind") == "HelmRelease"
                    and str(hr.get("apiVersion", "")).startswith(HELM_API)
                    and _is_traefik(hr, oci)):
                continue
            objects = objects or _Objects(files)
            spec = _dict(hr.get("spec"))
            values: dict[str, Any] = {}
            for ref in spec.get("valuesFrom") or []:
                got = objects.values(ref) if isinstance(ref, dict) else None
                if got is not None:
                    values = merge(values, got)
            values = merge(values, _dict(spec.get("values")))
            meta = _dict(hr.get("metadata"))
            rel = yf.path.relative_to(base).as_posix() if yf.path.is_relative_to(base) \
                else str(yf.path)
            own = str(meta["namespace"]) if meta.get("namespace") else None
            ns = namespace_of(yf.path, own) if namespace_of else own
            label = f"HelmRelease {ns or '?'}/{meta.get('name')} ({rel})"
            for ep, port in sorted(_dict(values.get("ports")).items()):
                for tls, key in ((_dict(_dict(port).get("tls")), "tls"),
                                 (_dict(_dict(_dict(port).get("http")).get("tls")),
                                  "http.tls")):
                    if tls.get("certResolver"):
                        found[str(ep)] = EntrypointResolver(
                            str(ep), str(tls["certResolver"]),
                            f"{label}: ports.{ep}.{key}.certResolver")
            for arg in values.get("additionalArguments") or []:
                match = _FLAG.match(str(arg).strip())
                if match:
                    found[match.group(1)] = EntrypointResolver(
                        match.group(1), match.group(2).strip(),
                        f"{label}: additionalArguments {str(arg).strip()}")
    return found
