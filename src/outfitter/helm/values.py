"""The values a HelmRelease gives its chart, composed from the repository as helm-controller
composes them in the cluster: each `valuesFrom` entry in order — the `valuesKey` entry
(`values.yaml` by default) of a ConfigMap or Secret, parsed as YAML and merged, or put as a
string at `targetPath` — then the inline `values` on top. Maps merge key by key; any other
value is replaced (Helm's MergeMaps, which helm-controller uses).

The ConfigMaps and Secrets are looked up in the tree: objects written in applied files, and
the ones a configMapGenerator/secretGenerator of the same build makes (a values.yaml next to
the HelmRelease is the common layout). What cannot be read — a SOPS-encrypted Secret, an
object the cluster makes (an ExternalSecret's target), a missing key — is `Unreadable`, so
the release is reported as not judged instead of judged on half its values.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from outfitter import yamlio
from outfitter.repo.objects import sops_encrypted

DEFAULT_KEY = "values.yaml"


class Unreadable(Exception):
    """The values cannot be composed from the repository (one line: why)."""


@dataclass(frozen=True)
class Data:
    """A ConfigMap's or Secret's entries as the tree gives them."""

    entries: dict[str, str | None]
    """key → content; None: present but unknown (encrypted)."""
    files: dict[str, Path]
    """key → the plain file a generator reads it from (an edit can go there)."""
    encrypted: bool = False


@dataclass(frozen=True)
class ValuesSource:
    """One layer of the composed values, lowest precedence first."""

    label: str
    values: dict[str, Any]
    file: Path | None = None
    """The plain YAML file these values are (a generator's values.yaml), else None."""
    inline: bool = False


Lookup = Callable[[str, str], Data | None]
"""(kind, name) → the object's data in the HelmRelease's namespace, or None."""


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`over` on top of `base` as Helm merges values (and Flux's MergeMaps): mappings merge
    key by key, recursively; anything else replaces."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def compose(spec: dict[str, Any], lookup: Lookup, namespace: str | None = None
            ) -> tuple[dict[str, Any], list[ValuesSource], list[str]]:
    """(the values, the layers they came from, notes). Raises Unreadable, naming the entry
    (`spec.valuesFrom[0] Secret apps/x`; the namespace when given)."""
    layers: list[ValuesSource] = []
    notes: list[str] = []
    refs = spec.get("valuesFrom") or []
    if not isinstance(refs, list):
        raise Unreadable("spec.valuesFrom is not a list")
    for i, ref in enumerate(refs):
        if not isinstance(ref, dict) or ref.get("kind") not in ("ConfigMap", "Secret") \
                or not ref.get("name"):
            raise Unreadable(f"spec.valuesFrom[{i}] {ref!r} names no ConfigMap or Secret")
        kind, name = str(ref["kind"]), str(ref["name"])
        key = str(ref.get("valuesKey") or DEFAULT_KEY)
        optional = bool(ref.get("optional"))
        what = f"spec.valuesFrom[{i}] {kind} {namespace + '/' if namespace else ''}{name}"
        data = lookup(kind, name)
        if data is None:
            if optional:
                notes.append(f"{what} (optional) is not in the repository: judged without "
                             f"it")
                continue
            raise Unreadable(f"{what} is not in the repository (made in the cluster?): its "
                             f"values are unknown")
        if data.encrypted:
            raise Unreadable(f"{what} is SOPS-encrypted: its values are unknown")
        if key not in data.entries:
            if optional:
                notes.append(f"{what} has no key {key!r} (optional): judged without it")
                continue
            raise Unreadable(f"{what} has no key {key!r}")
        text = data.entries[key]
        if text is None:
            raise Unreadable(f"{what}: {key} is encrypted: its values are unknown")
        target = ref.get("targetPath")
        if target:
            layers.append(ValuesSource(f"{what} ({key} at {target})",
                                       at_path(str(target), text)))
            continue
        try:
            loaded = yamlio.load_checked(text) if text.strip() else {}
        except yamlio.YamlInputError:
            raise Unreadable(f"{what}: {key} is not valid YAML") from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise Unreadable(f"{what}: {key} is not a map of values")
        layers.append(ValuesSource(f"{what} ({key})", loaded, file=data.files.get(key)))
    inline = spec.get("values")
    if inline is not None and not isinstance(inline, dict):
        raise Unreadable("spec.values is not a map")
    layers.append(ValuesSource("spec.values", inline or {}, inline=True))
    values: dict[str, Any] = {}
    for layer in layers:
        values = merge(values, layer.values)
    return values, layers, notes


def at_path(path: str, value: str) -> dict[str, Any]:
    """`a.b\\.c` → {"a": {"b.c": value}} (Helm's --set path syntax, without list indexes)."""
    if "[" in path:
        raise Unreadable(f"targetPath {path}: list indexes are not read")
    parts: list[str] = []
    current = ""
    escaped = False
    for char in path:
        if escaped:
            current += char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ".":
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    out: dict[str, Any] = {parts[-1]: value}
    for part in reversed(parts[:-1]):
        out = {part: out}
    return out


def object_data(doc: dict[str, Any]) -> Data:
    """The entries of a ConfigMap or Secret document (a Secret's `data` decoded)."""
    encrypted = sops_encrypted(doc)
    entries: dict[str, str | None] = {}
    for fld in ("binaryData", "data", "stringData"):
        values = doc.get(fld)
        if not isinstance(values, dict):
            continue
        for key, value in values.items():
            if encrypted:
                entries[str(key)] = None
            elif fld != "stringData" and (doc.get("kind") == "Secret" or fld == "binaryData"):
                try:
                    entries[str(key)] = base64.b64decode(str(value), validate=True).decode()
                except (binascii.Error, UnicodeDecodeError):
                    entries[str(key)] = None
            else:
                entries[str(key)] = str(value)
    return Data(entries, {}, encrypted)


def generated_data(files: dict[str, Path], literals: dict[str, str], root: Path) -> Data:
    """The entries a generator makes: its files (read from the repository) and literals."""
    entries: dict[str, str | None] = dict(literals)
    plain: dict[str, Path] = {}
    encrypted = False
    for key, path in files.items():
        if not path.is_relative_to(root.resolve()) or not path.is_file():
            continue  # kustomize would fail the build; the value stays unknown
        try:
            text = yamlio.read_text(str(path))
        except yamlio.YamlInputError:
            entries[key] = None
            continue
        if _sops_file(text):
            encrypted = True
            entries[key] = None
            continue
        entries[key] = text
        plain[key] = path
    return Data(entries, plain, encrypted)


def _sops_file(text: str) -> bool:
    """A file sops encrypted: its top-level `sops:` block with a MAC."""
    return "\nsops:" in f"\n{text}" and "mac:" in text and "ENC[" in text
