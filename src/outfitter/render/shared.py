"""Minimal edits of the files outfitter shares with the user: a parent `kustomization.yaml`
(its `resources`) and the Renovate configuration (its `extends`).

Each edit adds or removes list entries and nothing else; the result is read back and compared
with what was meant, and an edit that would touch any other line is refused (NotEditable),
so the caller can refuse the render or tell the user the line to add.
"""

from __future__ import annotations

import json
import re
from typing import Any

import json5

from outfitter import yamlio
from outfitter.ops.yaml_edit import Document, changed_lines, split
from outfitter.ops.yaml_edit import NotEditable as LayoutNotEditable
from outfitter.render.writer import NotEditable


class KustomizationResources:
    """The `resources` list of a kustomize Kustomization the user owns."""

    required = True

    def _document(self, text: str) -> Document:
        docs = []
        for index, (marker, body, line) in enumerate(split(text)):
            try:
                data = yamlio.load(body)
            except Exception:  # yaml.YAMLError and the C loader's errors
                raise NotEditable("not valid YAML (a template?)") from None
            if data is not None:
                docs.append(Document(index=index, line=line, marker=marker, body=body,
                                     data=data))
        if len(docs) != 1 or not isinstance(docs[0].data, dict):
            raise NotEditable("not a single kustomization document")
        resources = docs[0].data.get("resources")
        if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
            raise NotEditable("it has no `resources:` list to add to")
        return docs[0]

    def entries(self, text: str) -> list[str]:
        return [_norm(r) for r in self._document(text).data["resources"]]

    def edit(self, text: str, add: list[str], remove: list[str]) -> str:
        doc = self._document(text)
        # Kustomize sorts nothing: new entries go after the user's, in our order.
        existing = [str(r) for r in doc.data["resources"]]
        drop = [r for r in existing if _norm(r) in remove]

        def change(tree: Any) -> None:
            seq = tree["resources"]
            for entry in drop:
                seq.remove(entry)
            seq.extend(add)

        try:
            body = doc.edit(change)
        except LayoutNotEditable as err:
            raise NotEditable(str(err)) from None
        removed, added = changed_lines(doc.body, body)
        if sorted(_item(line) for line in removed) != sorted(drop) or sorted(
                _item(line) for line in added) != sorted(add):
            raise NotEditable("the edit would rewrite lines besides outfitter's entries "
                              "(flow-style list or comments in the way)")
        new = text.replace(doc.body, body, 1) if doc.marker or text.count(doc.body) == 1 \
            else None
        if new is None:
            raise NotEditable("the document cannot be located in the file")
        if [_norm(r) for r in yamlio.load_all(new)[0]["resources"]] != [
                _norm(r) for r in existing if r not in drop] + add:
            raise NotEditable("the edited file does not read back as intended")
        return new

    def manual(self, rel: str, add: list[str]) -> str:
        return (f"add {', '.join(add)} to its resources yourself, or render with a "
                f"gitops.path Flux reads on its own" if add else "remove outfitter's entries")


def _norm(entry: str) -> str:
    entry = str(entry).strip()
    return entry if entry.startswith(("./", "../", "/")) or "://" in entry else f"./{entry}"


def _item(line: str) -> str:
    return line.strip().removeprefix("-").strip().strip("'\"")


# --- Renovate ---------------------------------------------------------------------------

# Every file Renovate reads its configuration from, in the order it looks for them.
RENOVATE_FILES = (
    "renovate.json", "renovate.json5", ".github/renovate.json", ".github/renovate.json5",
    ".gitlab/renovate.json", ".gitlab/renovate.json5", ".renovaterc", ".renovaterc.json",
    ".renovaterc.json5", "package.json",
)
PRESET_FILE = ".renovate/outfitter.json5"
_EXTENDS = re.compile(r"""(["']?)extends\1\s*:\s*\[""")


class RenovateExtends:
    """The `extends` list of the user's Renovate configuration."""

    required = False

    def __init__(self, package_json: bool = False, strict: bool = False) -> None:
        self.package_json = package_json
        self.strict = strict
        """Plain JSON (renovate.json, .renovaterc, package.json): no comments, no trailing
        commas after an edit."""

    def _config(self, text: str) -> dict[str, Any]:
        try:
            data = json5.loads(text)
        except ValueError as err:
            raise NotEditable(f"not valid JSON5: {err}") from None
        if self.package_json:
            data = data.get("renovate") if isinstance(data, dict) else None
        if not isinstance(data, dict):
            raise NotEditable("no Renovate configuration object")
        return data

    def entries(self, text: str) -> list[str]:
        extends = self._config(text).get("extends", [])
        if not isinstance(extends, list):
            raise NotEditable("`extends` is not a list")
        return [str(e) for e in extends]

    def edit(self, text: str, add: list[str], remove: list[str]) -> str:
        before = self._config(text)
        matches = list(_EXTENDS.finditer(text))
        if len(matches) != 1:
            raise NotEditable("no single `extends` list to add to")
        start = matches[0].end()  # just after "["
        end = _closing_bracket(text, start)
        inner = text[start:end]
        for entry in remove:
            inner = _drop_item(inner, entry)
        for entry in add:
            inner = _add_item(inner, json.dumps(entry))
        new = text[:start] + inner + text[end:]
        if self.strict:
            try:
                json.loads(new)
            except ValueError:
                raise NotEditable("the edit would not leave plain JSON") from None
        after = self._config(new)
        wanted = dict(before)
        wanted["extends"] = [e for e in before.get("extends", []) if e not in remove] + add
        if after != wanted:
            raise NotEditable("the edited file does not read back as intended")
        return new

    def manual(self, rel: str, add: list[str]) -> str:
        return "".join(f'add "{a}" to the `extends` list of {rel} yourself' for a in add)


def _closing_bracket(text: str, i: int) -> int:
    """Index of the `]` closing the list that starts at i, skipping strings and comments."""
    depth = 1
    while i < len(text):
        c = text[i]
        if c in "\"'":
            i += 1
            while i < len(text) and text[i] != c:
                i += 2 if text[i] == "\\" else 1
        elif text.startswith("//", i):
            i = text.find("\n", i)
            if i < 0:
                break
        elif text.startswith("/*", i):
            i = text.find("*/", i) + 1
            if i <= 0:
                break
        elif c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise NotEditable("the `extends` list is not closed")


def _add_item(inner: str, literal: str) -> str:
    if not inner.strip():
        return literal
    if "\n" not in inner:  # one line: ["a", "b"]
        body = inner.rstrip()
        sep = "" if body.endswith(",") else ","
        return f"{body}{sep} {literal}{inner[len(body):]}"
    # One item per line: a new line in the indentation of the last item, before the
    # closing bracket's line; a comma after the last item unless it has one.
    lines = inner.split("\n")
    closing = lines[-1]  # whitespace before "]"
    items = lines[:-1]
    last = max((n for n, line in enumerate(items) if line.strip()
                and not line.strip().startswith("//")), default=None)
    if last is None:
        raise NotEditable("the `extends` list holds only comments")
    line = items[last]
    indent = line[:len(line) - len(line.lstrip())]
    code, comment = _split_comment(line)
    trailing_comma = code.rstrip().endswith(",")
    if not trailing_comma:
        items[last] = code.rstrip() + "," + (" " + comment if comment else "")
    items.insert(last + 1, f"{indent}{literal}{',' if trailing_comma else ''}")
    return "\n".join([*items, closing])


def _split_comment(line: str) -> tuple[str, str]:
    in_str: str | None = None
    for i, c in enumerate(line):
        if in_str:
            if c == in_str:
                in_str = None
        elif c in "\"'":
            in_str = c
        elif line.startswith("//", i):
            return line[:i], line[i:].strip()
    return line, ""


def _drop_item(inner: str, entry: str) -> str:
    for literal in (json.dumps(entry), f"'{entry}'"):
        # The last item takes the comma before it along (strict JSON allows no trailing one).
        last = re.compile(r",[ \t]*\n?[ \t]*" + re.escape(literal) + r"[ \t]*(?=\s*$)")
        new, n = last.subn("", inner, count=1)
        if n:
            return new
        pattern = re.compile(r"\n?[ \t]*" + re.escape(literal) + r"[ \t]*,?")
        new, n = pattern.subn("", inner, count=1)
        if n:
            return new
    raise NotEditable(f"{entry} not found as written by outfitter")
