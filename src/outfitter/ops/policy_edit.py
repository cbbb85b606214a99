"""`outfitter policy enforce`: switch ValidatingPolicies from Audit to Deny in the GitOps
tree, so the change goes through Git.

Only the lines that carry the change are touched. ruamel.yaml's round-trip parser finds
where `validationActions` and `failurePolicy` sit (and where the profile's
`addons.kyverno.policies` is); the new text is spliced in at those positions and everything
else stays byte for byte, comments, quoting and long CEL lines included. (A full round-trip
dump would re-wrap the rendered multi-line CEL scalars and drop the header comment.) Each
edit is checked by parsing the result: the files must say exactly what they said before,
except the intended keys, or nothing is written.

With a profile, `addons.kyverno.policies.<name>: deny` is set in it too and the record of
outfitter's files (.outfitter.json) takes the edited tree file as outfitter's, so the next
`render` writes the same bytes instead of refusing a "changed" file.
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from outfitter import yamlio
from outfitter.errors import InputError
from outfitter.files import UnsafeFile, outside_root, read_exact, write_keeping
from outfitter.ops.applied import applied_only
from outfitter.render.writer import read_record, record_edit, sha256

MANAGED_BY = ("app.kubernetes.io/managed-by", "outfitter")
_TOKEN = re.compile(r"""("[^"]*"|'[^']*'|[^\s#,\[\]{}]+)""")
_SKIP_DIRS = {"node_modules", "vendor"}


class EditProblem(InputError):
    """The tree or the profile cannot be edited as asked; nothing was written."""


@dataclass
class FileEdit:
    path: Path
    rel: str
    before: str
    after: str

    def diff(self) -> str:
        return "".join(difflib.unified_diff(
            self.before.splitlines(keepends=True), self.after.splitlines(keepends=True),
            fromfile=f"a/{self.rel}", tofile=f"b/{self.rel}"))


@dataclass
class PolicyDoc:
    """A ValidatingPolicy found in the tree."""

    name: str
    path: Path
    rel: str
    mode: str
    managed: bool
    """Rendered by outfitter (its label): Deny goes with failurePolicy Fail, as render writes."""


@dataclass
class EnforcePlan:
    edits: list[FileEdit] = field(default_factory=list)
    switched: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    profile_rel: str | None = None

    def diff(self) -> str:
        return "".join(e.diff() for e in self.edits)


def _rt() -> YAML:
    y = YAML(typ="rt")
    y.preserve_quotes = True
    return y


def yaml_files(search: Path) -> list[Path]:
    out = []
    for path in sorted(search.rglob("*")):
        rel = path.relative_to(search).parts
        if any(p.startswith(".") or p in _SKIP_DIRS for p in rel[:-1]):
            continue
        if path.suffix in (".yaml", ".yml") and path.is_file():
            out.append(path)
    return out


def _load_rt(path: Path, text: str) -> list[Any]:
    try:
        return list(_rt().load_all(text))
    except YAMLError as err:
        raise EditProblem([f"{path}: not valid YAML: {err}"]) from None


def _is_vpol(doc: Any) -> bool:
    return (isinstance(doc, CommentedMap) and doc.get("kind") == "ValidatingPolicy"
            and str(doc.get("apiVersion", "")).startswith("policies.kyverno.io/"))


def find_policies(repo: Path, search: Path) -> list[PolicyDoc]:
    """Every ValidatingPolicy in the YAML files under `search`."""
    found = []
    for path in yaml_files(search):
        try:
            text = read_exact(path)
        except UnsafeFile:
            continue
        if "ValidatingPolicy" not in text:
            continue
        try:
            docs = _load_rt(path, text)
        except EditProblem:
            continue  # a template or a broken file: not a policy outfitter can edit
        for doc in docs:
            if not _is_vpol(doc):
                continue
            spec = doc.get("spec") or {}
            actions = list(spec.get("validationActions") or ["Deny"])
            mode = "deny" if "Deny" in actions else "audit" if "Audit" in actions else "warn"
            labels = (doc.get("metadata") or {}).get("labels") or {}
            found.append(PolicyDoc(
                name=str((doc.get("metadata") or {}).get("name")), path=path,
                rel=path.relative_to(repo).as_posix(), mode=mode,
                managed=labels.get(MANAGED_BY[0]) == MANAGED_BY[1]))
    return found


# -- splicing -----------------------------------------------------------------------------------


class _Lines:
    """A text as lines, edited in place by position (0-based line and column)."""

    def __init__(self, text: str) -> None:
        self.lines: list[str | None] = list(text.splitlines(keepends=True))
        self.inserted: dict[int, list[str]] = {}

    def at(self, line: int, col: int) -> str:
        return (self.lines[line] or "")[col:col + 1] if line < len(self.lines) else ""

    def token(self, line: int, col: int) -> tuple[int, int]:
        text = self.lines[line] or ""
        match = _TOKEN.match(text, col)
        if match is None:
            raise EditProblem([f"line {line + 1}: no value at column {col + 1}"])
        return match.start(), match.end()

    def replace_scalar(self, line: int, col: int, value: str) -> None:
        start, end = self.token(line, col)
        text = self.lines[line] or ""
        old = text[start:end]
        quote = old[0] if old[0] in "'\"" else ""
        self.lines[line] = text[:start] + quote + value + quote + text[end:]

    def replace_span(self, line: int, start: int, end: int, value: str) -> None:
        text = self.lines[line] or ""
        self.lines[line] = text[:start] + value + text[end:]

    def delete(self, line: int) -> None:
        self.lines[line] = None

    def insert_after(self, line: int, new: list[str]) -> None:
        self.inserted.setdefault(line, []).extend(new)

    def text(self) -> str:
        out = []
        for number, line in enumerate(self.lines):
            if line is not None:
                out.append(line)
            if number in self.inserted:
                if out and not out[-1].endswith("\n"):
                    out[-1] += "\n"
                out.extend(self.inserted[number])
        return "".join(out) + "".join(self.inserted.get(-1, []))


def _flow_span(lines: _Lines, line: int, col: int, opening: str, closing: str) -> int:
    text = lines.lines[line] or ""
    if text[col:col + 1] != opening:
        raise EditProblem([f"line {line + 1}: expected {opening!r} at column {col + 1}"])
    end = text.find(closing, col)
    if end < 0:
        raise EditProblem([f"line {line + 1}: a flow collection over several lines; "
                           "edit it by hand"])
    return end


def _to_deny(lines: _Lines, doc: CommentedMap, fail: bool) -> None:
    spec = doc["spec"]
    seq = spec.get("validationActions")
    if not isinstance(seq, CommentedSeq) or not len(seq):
        raise EditProblem([f"ValidatingPolicy {doc['metadata']['name']}: validationActions "
                           "is not a list; edit it by hand"])
    if lines.at(*spec.lc.value("validationActions")) == "[":
        line, col = spec.lc.value("validationActions")
        end = _flow_span(lines, line, col, "[", "]")
        lines.replace_span(line, col, end + 1, "[Deny]")
    else:
        positions = [seq.lc.item(i) for i in range(len(seq))]
        if len({line for line, _ in positions}) != len(positions):
            raise EditProblem([f"ValidatingPolicy {doc['metadata']['name']}: "
                               "validationActions items share a line; edit it by hand"])
        first_line, first_col = positions[0]
        lines.replace_scalar(first_line, first_col, "Deny")
        for line, _ in positions[1:]:
            lines.delete(line)  # Warn must not stay beside Deny; Audit is Deny's no more
    if fail and spec.get("failurePolicy") == "Ignore":
        line, col = spec.lc.value("failurePolicy")
        lines.replace_scalar(line, col, "Fail")


def _expected_tree(doc: dict[str, Any], fail: bool) -> dict[str, Any]:
    want = copy.deepcopy(doc)
    want["spec"]["validationActions"] = ["Deny"]
    if fail and want["spec"].get("failurePolicy") == "Ignore":
        want["spec"]["failurePolicy"] = "Fail"
    return want


def edit_tree_file(path: Path, rel: str, names: set[str]) -> FileEdit:
    """Switch the named ValidatingPolicies in one file to Deny."""
    before = _read(path)
    docs = _load_rt(path, before)
    plain = yamlio.load_all(before)
    lines = _Lines(before)
    expected = []
    plain_docs = iter(plain)
    for doc in docs:
        if doc is None:
            continue
        data = next(plain_docs)
        if _is_vpol(doc) and doc["metadata"]["name"] in names:
            labels = doc["metadata"].get("labels") or {}
            fail = labels.get(MANAGED_BY[0]) == MANAGED_BY[1]
            _to_deny(lines, doc, fail)
            expected.append(_expected_tree(data, fail))
        else:
            expected.append(data)
    after = lines.text()
    if _parsed(after, every=True) != expected:
        raise EditProblem([f"{path}: the edit would change more than validationActions "
                           "and failurePolicy; edit it by hand"])
    return FileEdit(path, rel, before, after)


def _read(path: Path) -> str:
    """The file's exact text (CRLF kept), or one line saying why it cannot be edited."""
    try:
        return read_exact(path)
    except UnsafeFile as err:
        raise EditProblem([str(err)]) from None


def _parsed(text: str, every: bool = False) -> Any:
    """What an edited text says, or None when the edit broke it (then it is not written)."""
    try:
        return yamlio.load_all(text) if every else yamlio.load(text)
    except Exception:  # yaml.YAMLError, and the C loader's own errors
        return None


# -- the profile --------------------------------------------------------------------------------


def _set_in(data: Any, keys: list[str], value: str) -> Any:
    data = copy.deepcopy(data) if data is not None else {}
    node = data
    for key in keys[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[keys[-1]] = value
    return data


def edit_profile(path: Path, rel: str, names: Iterable[str]) -> FileEdit:
    """Set `addons.kyverno.policies.<name>: deny` for each name."""
    before = _read(path)
    text = before
    for name in names:
        text = _set_policy(path, text, name)
    return FileEdit(path, rel, before, text)


def _set_policy(path: Path, text: str, name: str) -> str:
    keys = ["addons", "kyverno", "policies", name]
    try:
        root = _rt().load(text)
    except YAMLError as err:
        raise EditProblem([f"{path}: not valid YAML: {err}"]) from None
    if root is not None and not isinstance(root, CommentedMap):
        raise EditProblem([f"{path}: not a mapping"])
    lines = _Lines(text)
    chain: list[CommentedMap] = [root] if root is not None else []
    for key in keys[:-1]:
        node = chain[-1].get(key) if chain else None
        if not isinstance(node, CommentedMap):
            if node is not None:
                raise EditProblem([f"{path}: {'.'.join(keys[:len(chain)])} is not a "
                                   "mapping; set " f"{'.'.join(keys)}: deny by hand"])
            break
        chain.append(node)
    depth = max(len(chain) - 1, 0)  # keys[:depth] exist as mappings
    last = chain[-1] if chain else None
    if depth == len(keys) - 1 and last is not None and name in last:
        line, col = last.lc.value(name)
        lines.replace_scalar(line, col, "deny")
    elif depth > 0 and lines.at(*chain[-2].lc.value(keys[depth - 1])) == "{":
        # A flow mapping (ruamel does not mark an empty `{}` as flow: read the text).
        line, col = chain[-2].lc.value(keys[depth - 1])
        end = _flow_span(lines, line, col, "{", "}")
        inner = (lines.lines[line] or "")[col + 1:end].strip()
        addition = "".join(f"{k}: {{" for k in keys[depth:-1]) + f"{name}: deny" + "}" * (
            len(keys) - 1 - depth)
        lines.replace_span(line, col, end + 1,
                           "{" + (f"{inner}, " if inner else "") + addition + "}")
    else:
        _insert_nested(lines, chain, keys, depth, name)
    after = lines.text()
    if _parsed(after) != _set_in(yamlio.load(text), keys, "deny"):
        raise EditProblem([f"{path}: cannot set {'.'.join(keys)}: deny without changing other "
                           "lines; set it by hand"])
    return after


def _insert_nested(lines: _Lines, chain: list[CommentedMap], keys: list[str], depth: int,
                   name: str) -> None:
    """Insert the missing keys[depth:] as the first entries under the deepest mapping."""
    last_key = next(reversed(chain[depth]), None) if depth > 0 else None
    if depth <= 0:
        at, indent = len(lines.lines) - 1, 0
    elif depth == len(keys) - 1 and last_key is not None and not isinstance(
            chain[depth][last_key], (CommentedMap, CommentedSeq)):
        # A sibling among one-line entries: after the last one, so names keep their order.
        at, indent = chain[depth].lc.key(last_key)
    else:
        parent, mapping = chain[depth - 1], chain[depth]
        at = parent.lc.key(keys[depth - 1])[0]
        indent = (mapping.lc.key(next(iter(mapping)))[1] if len(mapping)
                  else parent.lc.key(keys[depth - 1])[1] + 2)
    step = 2
    new = []
    for offset, key in enumerate(keys[depth:-1]):
        new.append(" " * (indent + offset * step) + f"{key}:\n")
    new.append(" " * (indent + (len(keys) - 1 - depth) * step) + f"{name}: deny\n")
    lines.insert_after(at, new)


# -- planning and writing -----------------------------------------------------------------------


def plan_enforce(repo: Path, names: list[str], search: Path,
                 profile: Path | None) -> EnforcePlan:
    """The edits that switch `names` to Deny; raises EditProblem for a name not found."""
    docs = find_policies(repo, search)
    applied, left_alone = applied_only(repo, [d.path for d in docs])
    docs = [d for d in docs if d.path in applied]
    by_name: dict[str, list[PolicyDoc]] = {}
    for doc in docs:
        by_name.setdefault(doc.name, []).append(doc)
    missing = [n for n in names if n not in by_name]
    if missing:
        raise EditProblem([f"{n}: no ValidatingPolicy of that name under {search}"
                           for n in missing])
    plan = EnforcePlan()
    if left_alone:
        plan.notes.append(left_alone)
    files: dict[Path, set[str]] = {}
    for name in names:
        if all(d.mode == "deny" for d in by_name[name]):
            plan.notes.append(f"{name}: already Deny in the tree")
            continue
        plan.switched.append(name)
        for doc in by_name[name]:
            if doc.mode != "deny":
                files.setdefault(doc.path, set()).add(name)
    for path, wanted in sorted(files.items()):
        plan.edits.append(edit_tree_file(path, path.relative_to(repo).as_posix(), wanted))
    rendered = {d.name for d in docs if d.managed}
    # Every named policy the profile does not yet say deny — also one the tree already has in
    # Deny: an earlier run killed between the tree and the profile is completed by a rerun.
    in_profile = [n for n in names if n in rendered and profile is not None
                  and not _profile_says_deny(profile, n)]
    if profile is not None and in_profile:
        rel = profile.relative_to(repo).as_posix() if profile.is_relative_to(repo) else str(
            profile)
        plan.edits.append(edit_profile(profile, rel, in_profile))
        plan.profile_rel = rel
    return plan


def _profile_says_deny(profile: Path, name: str) -> bool:
    try:
        data = yamlio.load_checked(_read(profile), where=str(profile))
    except yamlio.YamlInputError as err:
        raise EditProblem([str(err)]) from None
    policies = (((data or {}).get("addons") or {}).get("kyverno") or {}).get("policies") or {}
    return isinstance(policies, dict) and policies.get(name) == "deny"


def write_enforce(repo: Path, plan: EnforcePlan) -> list[str]:
    """Write the edited files (each atomically); refresh the record for tree files that were
    as outfitter wrote them. Returns notes for the user."""
    record = read_record(repo)
    untouched = {e.rel for e in plan.edits
                 if e.rel in record and record[e.rel] == sha256(e.before.encode())}
    notes = []
    outside = [why for e in plan.edits if e.rel != plan.profile_rel
               if (why := outside_root(e.path, repo))]
    if outside:  # checked for every file before the first is written
        raise EditProblem([*outside, "nothing written"])
    for edit in plan.edits:
        write_keeping(edit.path, edit.after.encode())
    for edit in plan.edits:
        if edit.rel in untouched:
            record_edit(repo, edit.rel, edit.before.encode())
        elif edit.rel in record:
            notes.append(f"{edit.rel}: you had edited it since outfitter wrote it; the record "
                         "is left as it was, so `render` will still ask before overwriting")
    return notes


def tree_policies(search: Path, plan: EnforcePlan | None = None) -> list[dict[str, Any]]:
    """Kyverno policy objects in the tree as they will be after the plan's edits."""
    edited = {e.path: e.after for e in plan.edits} if plan else {}
    out = []
    for path in yaml_files(search):
        try:
            text = edited.get(path) or read_exact(path)
        except UnsafeFile:
            continue
        if "Policy" not in text:
            continue
        docs = _parsed(text, every=True) or []
        out += [d for d in docs if isinstance(d, dict)
                and str(d.get("apiVersion", "")).split("/")[0] in ("policies.kyverno.io",
                                                                    "kyverno.io")
                and d.get("kind") in ("ValidatingPolicy", "ClusterPolicy", "Policy")]
    return out
