"""A parent Flux Kustomization's `spec.patches`, applied to the child Kustomizations its
build produces, so that each child is judged as Flux will apply it (the cluster-template
pattern: a parent adds `decryption` and `postBuild.substituteFrom` to every child).

kustomize's semantics for an object without a schema (a custom resource): a strategic merge
patch merges maps, merges lists of maps that all carry a `name` by that name, replaces other
lists, and `null` deletes; a JSON 6902 patch is add/remove/replace/move/copy/test. A target
selects by group, version, kind, name and namespace (regular expressions, anchored) and
label/annotation selectors; with a target, the patch's own name is ignored.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from outfitter import yamlio


class PatchError(ValueError):
    """A patch that cannot be read or applied (kustomize would fail the build)."""


def apply_patches(doc: dict[str, Any], patches: Any) -> dict[str, Any]:
    """`doc` after every patch of a Flux `spec.patches` list that selects it."""
    out = doc
    for entry in patches if isinstance(patches, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("patch"), str):
            continue
        target = entry.get("target") if isinstance(entry.get("target"), dict) else None
        try:
            parsed = yamlio.load_checked(entry["patch"], where="spec.patches")
        except yamlio.YamlInputError as err:
            raise PatchError(str(err)) from None
        if isinstance(parsed, list):  # JSON 6902
            if target is not None and selects(target, out):
                out = json6902(out, parsed)
        elif isinstance(parsed, dict):
            if target is None:
                if not _same_object(parsed, out):
                    continue
            elif not selects(target, out):
                continue
            body = {k: v for k, v in parsed.items() if k not in ("apiVersion", "kind")}
            if target is not None and isinstance(body.get("metadata"), dict):
                body["metadata"] = {k: v for k, v in body["metadata"].items()
                                    if k not in ("name", "namespace")}
            out = merge(out, body)
    return out


def _same_object(patch: dict[str, Any], doc: dict[str, Any]) -> bool:
    meta_p = patch.get("metadata") if isinstance(patch.get("metadata"), dict) else {}
    meta_d = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    return patch.get("kind") == doc.get("kind") and \
        (meta_p or {}).get("name") == (meta_d or {}).get("name")


def _anchored(pattern: Any, value: str) -> bool:
    if pattern is None or pattern == "":
        return True
    try:
        return re.fullmatch(str(pattern), value) is not None
    except re.error:
        return str(pattern) == value


_SET_REQUIREMENT = re.compile(r"\s*(\S+)\s+(in|notin)\s*\(([^)]*)\)\s*")


def _requirements(expr: str) -> list[str]:
    """The comma-separated requirements of a selector; commas inside `in (a, b)` are the
    set's, not separators."""
    parts, depth, current = [], 0, ""
    for char in expr:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [p.strip() for p in [*parts, current] if p.strip()]


def _selector(expr: Any, values: Any) -> bool:
    """A label/annotation selector in kubernetes' syntax: `a=b,c!=d,e,!f`, and the
    set-based `g in (x,y)`, `h notin (z)`."""
    if not isinstance(expr, str) or not expr.strip():
        return True
    have = {str(k): str(v) for k, v in values.items()} if isinstance(values, dict) else {}
    for part in _requirements(expr):
        in_set = _SET_REQUIREMENT.fullmatch(part)
        if in_set is not None:
            key, op, listed = in_set.groups()
            wanted = {v.strip() for v in listed.split(",")}
            # notin matches an object without the key too, as in kubernetes.
            if (op == "in") != (key in have and have[key] in wanted):
                return False
        elif "!=" in part:
            k, v = part.split("!=", 1)
            if have.get(k.strip()) == v.strip():
                return False
        elif "=" in part:
            k, v = part.replace("==", "=").split("=", 1)
            if have.get(k.strip()) != v.strip():
                return False
        elif part.startswith("!"):
            if part[1:].strip() in have:
                return False
        elif part not in have:
            return False
    return True


def selects(target: dict[str, Any], doc: dict[str, Any]) -> bool:
    api = str(doc.get("apiVersion", ""))
    group, _, version = api.rpartition("/")
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    meta = meta or {}
    return (_anchored(target.get("group"), group) and _anchored(target.get("version"), version)
            and _anchored(target.get("kind"), str(doc.get("kind", "")))
            and _anchored(target.get("name"), str(meta.get("name", "")))
            and _anchored(target.get("namespace"), str(meta.get("namespace") or ""))
            and _selector(target.get("labelSelector"), meta.get("labels"))
            and _selector(target.get("annotationSelector"), meta.get("annotations")))


def merge(base: Any, patch: Any) -> Any:
    """Strategic merge without a schema, as kustomize applies it to custom resources."""
    if isinstance(base, dict) and isinstance(patch, dict):
        if patch.get("$patch") == "replace":
            return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
        out = dict(base)
        for key, value in patch.items():
            if key == "$patch":
                continue
            if value is None:
                out.pop(key, None)
            elif key in out:
                out[key] = merge(out[key], value)
            else:
                out[key] = copy.deepcopy(value)
        return out
    if isinstance(base, list) and isinstance(patch, list) and _keyed(base) and _keyed(patch):
        out_list = list(base)
        index = {item["name"]: i for i, item in enumerate(out_list)}
        for item in patch:
            if item.get("$patch") == "delete":
                if item["name"] in index:
                    out_list = [x for x in out_list if x.get("name") != item["name"]]
                    index = {x["name"]: i for i, x in enumerate(out_list)}
                continue
            if item["name"] in index:
                out_list[index[item["name"]]] = merge(out_list[index[item["name"]]], item)
            else:
                index[item["name"]] = len(out_list)
                out_list.append(copy.deepcopy(item))
        return out_list
    return copy.deepcopy(patch)


def _keyed(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(i, dict) and "name" in i for i in items)


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str) or not path.startswith("/"):
        raise PatchError(f"JSON patch path {path!r} is not a JSON pointer")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: Any, parts: list[str]) -> Any:
    here = doc
    for part in parts[:-1]:
        if isinstance(here, dict) and part in here:
            here = here[part]
        elif isinstance(here, list) and part.isdigit() and int(part) < len(here):
            here = here[int(part)]
        else:
            raise PatchError(f"JSON patch: /{'/'.join(parts)} does not exist")
    return here


def json6902(doc: dict[str, Any], ops: list[Any]) -> dict[str, Any]:
    out: Any = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict):
            raise PatchError("JSON patch: an operation is not a map")
        kind = op.get("op")
        if kind in ("move", "copy"):
            src = _pointer(op.get("from"))
            value = _get(out, src)
            if kind == "move":
                _remove(out, src)
            _add(out, _pointer(op.get("path")), copy.deepcopy(value))
            continue
        parts = _pointer(op.get("path"))
        if kind == "add":
            _add(out, parts, copy.deepcopy(op.get("value")))
        elif kind == "replace":
            _remove(out, parts)
            _add(out, parts, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            _remove(out, parts)
        elif kind == "test":
            if _get(out, parts) != op.get("value"):
                raise PatchError(f"JSON patch test failed at {op.get('path')}")
        else:
            raise PatchError(f"JSON patch: unknown op {kind!r}")
    assert isinstance(out, dict)
    return out


def _get(doc: Any, parts: list[str]) -> Any:
    if not parts:
        return doc
    holder = _parent(doc, parts)
    last = parts[-1]
    if isinstance(holder, dict) and last in holder:
        return holder[last]
    if isinstance(holder, list) and last.isdigit() and int(last) < len(holder):
        return holder[int(last)]
    raise PatchError(f"JSON patch: /{'/'.join(parts)} does not exist")


def _add(doc: Any, parts: list[str], value: Any) -> None:
    holder = _parent(doc, parts)
    last = parts[-1]
    if isinstance(holder, dict):
        holder[last] = value
    elif isinstance(holder, list):
        if last == "-":
            holder.append(value)
        elif last.isdigit() and int(last) <= len(holder):
            holder.insert(int(last), value)
        else:
            raise PatchError(f"JSON patch: index {last} out of range")
    else:
        raise PatchError(f"JSON patch: /{'/'.join(parts)} has no parent")


def _remove(doc: Any, parts: list[str]) -> None:
    holder = _parent(doc, parts)
    last = parts[-1]
    if isinstance(holder, dict) and last in holder:
        del holder[last]
    elif isinstance(holder, list) and last.isdigit() and int(last) < len(holder):
        del holder[int(last)]
    else:
        raise PatchError(f"JSON patch: /{'/'.join(parts)} does not exist")


