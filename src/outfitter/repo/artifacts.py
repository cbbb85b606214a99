"""ExternalArtifacts made by an ArtifactGenerator (source.extensions.fluxcd.io) from the
repository's own source, mapped back to the repository's folders.

Two forms of copy rule are mapped, with source-watcher's `cp`-like semantics:

- `from: "@alias/dir/**"`, `to: "@artifact/dest/"` puts the tree under `dir` at `dest/`
  in the artifact (the layout kept): a Kustomization building `./dest/sub` of the artifact
  builds the repository's `dir/sub`;
- `from: "@alias/dir/"` (a folder named without a glob), `to: "@artifact/dest/"` copies the
  folder itself, as `dest/<its name>/` (like `cp -r dir dest/`): `./dest/<name>/sub` builds
  `dir/sub`, and `./dest`, which then holds that folder alone, builds it as a whole (Flux's
  generated kustomization takes a folder's kustomization, or its YAML files, as they are).

A rule copying single files or a glob of names, one with `exclude` or another strategy than
Overwrite, or two rules writing into the same artifact folder (composition) leave the
artifact's content unlike any one folder of the tree, and a Kustomization built from there
stays external. The model checks that a folder mapped to is one (a file named without a
glob looks like a folder here).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any

from outfitter.repo.objects import ObjKey, Origin

GENERATOR_API = "source.extensions.fluxcd.io"


@dataclass(frozen=True, slots=True)
class CopyRule:
    source: ObjKey  # the source the rule copies from
    src: str  # folder in that source ("" its root)
    dest: str  # folder in the artifact ("" its root)
    # "contents": a whole tree (`dir/**`) copied into dest as it is; "folder": a folder
    # named without a glob, copied as dest/<its name>; "other": anything else. Only the
    # first two copy without exclusions or merging.
    mode: str


@dataclass(frozen=True, slots=True)
class Artifact:
    """One ExternalArtifact a generator makes."""

    key: ObjKey
    rules: tuple[CopyRule, ...]
    origin: Origin

    def folder(self, path: str, own: ObjKey) -> str | None:
        """The repository folder (relative, "" its root) the artifact's `path` holds, when
        one rule copying a whole tree of the own source covers it and no other rule
        writes there; None otherwise."""
        rel = _clean(path)
        covering = [r for r in self.rules if _under(rel, r.dest) or _under(r.dest, rel)]
        if len(covering) != 1:
            return None
        rule = covering[0]
        if rule.source != own:
            return None
        placed = rule.dest
        if rule.mode == "folder" and rule.src:
            if rel == rule.dest:
                return rule.src  # holds the copied folder alone: built as a whole
            placed = posixpath.join(rule.dest, posixpath.basename(rule.src)).strip("/")
        elif rule.mode not in ("contents", "folder"):
            return None
        if not _under(rel, placed):
            return None
        rest = rel[len(placed):].lstrip("/") if placed else rel
        return posixpath.join(rule.src, rest).strip("/") if rest else rule.src


def _clean(path: str) -> str:
    norm = posixpath.normpath("/" + path.strip()).strip("/")
    return "" if norm == "." else norm


def _under(path: str, folder: str) -> bool:
    return folder == "" or path == folder or path.startswith(folder + "/")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def parse_generator(doc: Any, origin: Origin) -> list[Artifact]:
    """The ExternalArtifacts an ArtifactGenerator document makes (none if it is not one)."""
    if not isinstance(doc, dict) or doc.get("kind") != "ArtifactGenerator" or \
            not str(doc.get("apiVersion", "")).startswith(GENERATOR_API + "/"):
        return []
    meta = _dict(doc.get("metadata"))
    spec = _dict(doc.get("spec"))
    ns = str(meta.get("namespace") or "default")
    aliases: dict[str, ObjKey] = {}
    for src in _list(spec.get("sources")):
        if isinstance(src, dict) and src.get("alias") and src.get("name"):
            aliases[str(src["alias"])] = ObjKey(str(src.get("kind") or "GitRepository"),
                                                str(src.get("namespace") or ns),
                                                str(src["name"]))
    out = []
    for art in _list(spec.get("artifacts")):
        if not isinstance(art, dict) or not art.get("name"):
            continue
        rules = []
        for copy in _list(art.get("copy")):
            rule = _rule(copy, aliases)
            if rule is not None:
                rules.append(rule)
        out.append(Artifact(ObjKey("ExternalArtifact", ns, str(art["name"])), tuple(rules),
                            origin))
    return out


def _rule(copy: Any, aliases: dict[str, ObjKey]) -> CopyRule | None:
    if not isinstance(copy, dict):
        return None
    frm, to = str(copy.get("from") or ""), str(copy.get("to") or "")
    if not frm.startswith("@") or not to.startswith("@artifact"):
        return None
    alias, _, src = frm[1:].partition("/")
    source = aliases.get(alias)
    if source is None:
        return None
    dest = _clean(to[len("@artifact"):])
    plain = not copy.get("exclude") and copy.get("strategy") in (None, "", "Overwrite")
    if src.endswith("**") and not any(c in src[:-2] for c in "*?[{") and plain and \
            (src == "**" or src.endswith("/**")) and (to.endswith("/") or to == "@artifact"):
        return CopyRule(source, _clean(src[:-2]), dest, "contents")
    if not any(c in src for c in "*?[{") and plain:
        return CopyRule(source, _clean(src), dest, "folder")
    return CopyRule(source, _clean(src), dest, "other")


__all__ = ["GENERATOR_API", "Artifact", "CopyRule", "parse_generator"]
