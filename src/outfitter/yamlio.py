"""Deterministic YAML output: same objects, same bytes.

PyYAML's safe dumper with insertion order kept (outfitter builds dicts in a fixed order),
no anchors/aliases, block style, and multi-line strings as literal blocks so that
embedded configs (Falco rules, Renovate JSON, policies) stay readable in a diff.
"""

from __future__ import annotations

import codecs
import os
import re
import stat
from collections.abc import Iterable
from typing import Any

import yaml


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # Indent sequences under their key, as kubectl and the Flux community write them.
        super().increase_indent(flow, False)


def str_representer(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    """Multi-line strings as literal blocks (trailing spaces dropped: a block cannot keep
    them), others plain."""
    if "\n" in data:
        text = "\n".join(line.rstrip() for line in data.split("\n"))
        return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, str_representer)


def dump(obj: Any) -> str:
    return yaml.dump(obj, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=120)


def dump_all(objs: Iterable[Any]) -> str:
    return "".join("---\n" + dump(o) for o in objs)


_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present


class Loader(_BaseLoader):  # type: ignore[misc]
    """Safe loading, in C when libyaml is there. A plain `=` is a string, as in YAML 1.2 and
    Kubernetes (PyYAML would otherwise read it as the obsolete `!!value` tag)."""


Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:value"]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}


def load_all(text: str) -> list[Any]:
    """Trusted text (outfitter's own output, already-checked input): no limits."""
    return [d for d in yaml.load_all(text, Loader=Loader) if d is not None]


def load(text: str) -> Any:
    """Trusted text (outfitter's own output, already-checked input): no limits."""
    return yaml.load(text, Loader=Loader)


# --- Input a user or a repository hands us -------------------------------------------------
#
# Everything read from outside goes through read_text + load_checked/load_all_checked: a
# file that is not a regular file (a FIFO would block forever), too large, binary or not
# UTF-8 is refused before parsing; a document nested too deep, expanding its aliases past a
# bound (the "billion laughs"), or repeating a key in one mapping is refused after composing
# and before constructing. Custom tags (`!Find`, `!reference`) are read as their plain value.

MAX_BYTES = 16 << 20
"""Larger than any manifest bundle people commit (the biggest CRD bundles are a few MiB)."""
MAX_DEPTH = 100
"""Nesting levels in one document; Kubernetes objects (CRD schemas included) stay far below."""
MAX_EXPANDED_NODES = 1_000_000
"""Nodes of a document once its aliases are expanded."""


class YamlInputError(ValueError):
    """Input that cannot be read as YAML; `str()` is one line: `where:line: what`."""

    def __init__(self, message: str, *, line: int | None = None, where: str = "") -> None:
        self.message = message
        self.line = line
        self.where = where
        super().__init__(self.one_line())

    def one_line(self) -> str:
        place = f"{self.where}:{self.line}" if self.where and self.line else self.where
        if not place and self.line:
            place = f"line {self.line}"
        return f"{place}: {self.message}" if place else self.message

    def located(self, where: str) -> YamlInputError:
        return YamlInputError(self.message, line=self.line, where=where)


def read_text(path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES,
              keep_newlines: bool = False) -> str:
    """A file's text, refused with one line when it is not a regular file, larger than
    max_bytes, binary, UTF-16/32 or not UTF-8. Newlines normalised, a UTF-8 BOM dropped."""
    where = os.fspath(path)
    try:
        # O_NONBLOCK: opening a FIFO for reading must not wait for a writer.
        fd = os.open(where, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
                     | getattr(os, "O_CLOEXEC", 0))
    except OSError as err:
        raise YamlInputError(f"cannot read: {err.strerror or err}", where=where) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise YamlInputError(f"cannot read: {kind}", where=where)
        if info.st_size > max_bytes:
            raise YamlInputError(
                f"too large to read ({info.st_size / (1 << 20):.1f} MiB; "
                f"the limit is {max_bytes >> 20} MiB)", where=where)
        # One read when the file is as large as fstat says; more if it read short or grew.
        first = os.read(fd, info.st_size + 1)
        chunks = [first]
        total = len(first)
        while total != info.st_size and (chunk := os.read(fd, 1 << 20)):
            total += len(chunk)
            if total > max_bytes:  # grew while we read
                raise YamlInputError(f"too large to read (over {max_bytes >> 20} MiB)",
                                     where=where)
            chunks.append(chunk)
    except OSError as err:
        raise YamlInputError(f"cannot read: {err.strerror or err}", where=where) from None
    finally:
        os.close(fd)
    return decode_text(b"".join(chunks), where=where, keep_newlines=keep_newlines)


_UTF16_32_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE,
                  codecs.BOM_UTF16_BE)


def decode_text(data: bytes, *, where: str = "", keep_newlines: bool = False) -> str:
    if data.startswith(_UTF16_32_BOMS):
        raise YamlInputError("is UTF-16 or UTF-32 text; save it as UTF-8", where=where)
    if b"\0" in data[:8192]:
        raise YamlInputError("is a binary file, not text", where=where)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise YamlInputError(f"is not UTF-8 text (byte {err.start})", line=line,
                             where=where) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text and not keep_newlines:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


class CheckedLoader(Loader):
    """Loader that refuses duplicate keys and reads unknown tags as plain values."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Any:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(
                    key_node, yaml.ScalarNode):
                continue
            key = self.construct_object(key_node)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first on line "
                    f"{seen[key].start_mark.line + 1})", key_node.start_mark)
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


def _plain_value(loader: CheckedLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]


CheckedLoader.add_multi_constructor("!", _plain_value)
CheckedLoader.add_constructor("tag:yaml.org,2002:map", CheckedLoader.construct_yaml_map)


def check_node(node: yaml.Node, *, max_depth: int = MAX_DEPTH,
               max_nodes: int = MAX_EXPANDED_NODES) -> None:
    """Depth and alias-expanded size of a composed document, without expanding it: each
    distinct node is measured once (aliases share their node), so a bomb costs only its own
    size to detect. A node that contains itself (a recursive alias) is refused too."""
    height: dict[int, int] = {}
    size: dict[int, int] = {}
    open_: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(node, False)]
    while stack:
        current, children_done = stack.pop()
        key = id(current)
        children = _children(current)
        if not children_done:
            if key in height:
                continue
            if key in open_:
                raise YamlInputError("an alias refers to a node that contains it",
                                     line=current.start_mark.line + 1)
            open_.add(key)
            stack.append((current, True))
            for child in children:
                if id(child) in open_:
                    raise YamlInputError("an alias refers to a node that contains it",
                                         line=child.start_mark.line + 1)
                if id(child) not in height:
                    stack.append((child, False))
            continue
        open_.discard(key)
        height[key] = 1 + max((height[id(c)] for c in children), default=0)
        size[key] = 1 + sum(size[id(c)] for c in children)
        if height[key] > max_depth:
            raise YamlInputError(f"nested deeper than {max_depth} levels",
                                 line=current.start_mark.line + 1)
        if size[key] > max_nodes:
            raise YamlInputError(
                f"expands to more than {max_nodes:,} nodes (an alias bomb?)",
                line=current.start_mark.line + 1)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def yaml_problem(err: yaml.YAMLError, text: str) -> str:
    """What a YAML error says, in one phrase; an undefined alias named (libyaml leaves its
    name out: "found undefined alias")."""
    problem = str(getattr(err, "problem", None) or str(err).splitlines()[0])
    mark = getattr(err, "problem_mark", None)
    if problem == "found undefined alias" and mark is not None:
        name = re.match(r"\*([^\s,\[\]{}]+)", text[mark.index:mark.index + 256])
        if name:
            problem += f" {name.group(1)!r}"
    return problem


def load_all_checked(text: str, *, where: str = "", max_depth: int = MAX_DEPTH,
                     max_nodes: int = MAX_EXPANDED_NODES) -> list[Any]:
    """Every non-empty document of untrusted text, within the limits above."""
    docs: list[Any] = []
    if _nesting_bound(text) > _SAFE_TO_COMPOSE:
        # libyaml composes recursively in C: a deep enough text would crash the process.
        raise YamlInputError(f"nested too deeply to read safely (over {_SAFE_TO_COMPOSE:,} "
                             "levels)", where=where)
    if may_alias(text) and has_duplicate_anchors(text):
        text = unique_anchors(text)
    loader = CheckedLoader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            check_node(node, max_depth=max_depth, max_nodes=max_nodes)
            doc = loader.construct_document(node)
            if doc is not None:
                docs.append(doc)
    except YamlInputError as err:
        raise err.located(where) from None
    except RecursionError:
        raise YamlInputError(f"nested deeper than {max_depth} levels", where=where) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        problem = yaml_problem(err, text)
        raise YamlInputError(f"not valid YAML: {problem}",
                             line=mark.line + 1 if mark is not None else None,
                             where=where) from None
    finally:
        loader.dispose()
    return docs


_SAFE_TO_COMPOSE = 5000
"""Nesting libyaml composes without exhausting the C stack (100,000 crashes it)."""
SAFE_TO_COMPOSE = _SAFE_TO_COMPOSE


def too_deep_to_compose(text: str) -> bool:
    """_nesting_bound(text) > SAFE_TO_COMPOSE, answered without measuring every line for
    the texts manifests are (few brackets, no line starting with thousands of indicators)."""
    quarter = _SAFE_TO_COMPOSE // 4
    if text.count("[") + text.count("{") < quarter and not _LONG_PREFIX.search(text):
        return False  # at most 2 * (quarter + 1) + quarter levels: below the limit
    return _nesting_bound(text) > _SAFE_TO_COMPOSE


_ANCHOR_OR_ALIAS = re.compile(r"(?:(?<=^)|(?<=[\s\[{,]))([&*])([^\s,\[\]{}]+)")


def unique_anchors(text: str) -> str:
    """The text with each re-defined anchor renamed (and the aliases that follow it): YAML
    lets a later `&name` replace an earlier one, and kustomize reads it so (home-ops files
    reuse `&name` per list item), while libyaml refuses a duplicate anchor."""
    seen: dict[str, int] = {}
    current: dict[str, str] = {}

    def rename(match: re.Match[str]) -> str:
        sigil, name = match.group(1), match.group(2)
        if sigil == "&":
            seen[name] = seen.get(name, 0) + 1
            current[name] = name if seen[name] == 1 else f"{name}__{seen[name]}"
            return "&" + current[name]
        return "*" + current.get(name, name)

    out = []
    for line in text.splitlines(keepends=True):
        cut = _comment_start(line)
        out.append(_ANCHOR_OR_ALIAS.sub(rename, line[:cut]) + line[cut:])
    return "".join(out)


def has_duplicate_anchors(text: str) -> bool:
    names = [m.group(2) for line in text.splitlines()
             for m in _ANCHOR_OR_ALIAS.finditer(line[:_comment_start(line)])
             if m.group(1) == "&"]
    return len(names) != len(set(names))


def _comment_start(line: str) -> int:
    """Where a line's comment begins (its length if none): a `#` at the start or after a
    space, outside quotes. A commented-out `&name` is no anchor (`# HOST: &dbHost "x"`)."""
    if "#" not in line:
        return len(line)
    quote = ""
    i = 0
    while i < len(line):
        char = line[i]
        if quote:
            if char == "\\" and quote == '"':
                i += 1
            elif char == quote:
                quote = ""
        elif char in "\"'" and (i == 0 or line[i - 1] in " \t[{,:-"):
            quote = char
        elif char == "#" and (i == 0 or line[i - 1] in " \t"):
            return i
        i += 1
    return len(line)


def may_alias(text: str) -> bool:
    """An anchor and an alias token in the text (not merely `&` and `*` in prose)."""
    return "&" in text and "*" in text and bool(_ANCHOR.search(text)) and \
        bool(_ALIAS.search(text))


def _nesting_bound(text: str) -> int:
    """An upper bound of a text's nesting, cheap to compute: block collections nest only by
    indentation and compact indicators at a line's start (`- - - x`; at most two levels per
    column), flow collections only by brackets (counted as if none were quoted, which can
    only raise the bound)."""
    widest = max((len(m.group()) for m in _BLOCK_PREFIX.finditer(text)), default=0)
    flow = text.count("[") + text.count("{")
    if flow > _SAFE_TO_COMPOSE:  # many brackets: measure their nesting, stop once too deep
        depth = flow = 0
        for match in _BRACKETS.finditer(text):
            depth += 1 if match.group() in "[{" else -1
            if depth > flow:
                flow = depth
                if flow > _SAFE_TO_COMPOSE:
                    break
    return 2 * (widest + 1) + flow


_BLOCK_PREFIX = re.compile(r"^[ \t?:-]+", re.MULTILINE)  # `---` or `-1` only raise it
_BRACKETS = re.compile(r"[\[\]{}]")
_LONG_PREFIX = re.compile(r"^[ \t?:-]{" + str(_SAFE_TO_COMPOSE // 4) + "}", re.MULTILINE)
_ANCHOR = re.compile(r"(?:^|[\s\[{,])&[^\s,\[\]{}]")
_ALIAS = re.compile(r"(?:^|[\s\[{,])\*[^\s,\[\]{}]")


def load_checked(text: str, *, where: str = "", max_depth: int = MAX_DEPTH,
                 max_nodes: int = MAX_EXPANDED_NODES) -> Any:
    """The one document of untrusted text (None when empty); several documents refused."""
    docs = load_all_checked(text, where=where, max_depth=max_depth, max_nodes=max_nodes)
    if len(docs) > 1:
        raise YamlInputError(f"holds {len(docs)} YAML documents; expected one", where=where)
    return docs[0] if docs else None


def load_file(path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES) -> Any:
    """read_text + load_checked, errors naming the file."""
    return load_checked(read_text(path, max_bytes=max_bytes), where=os.fspath(path))


def load_all_file(path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES) -> list[Any]:
    """read_text + load_all_checked, errors naming the file."""
    return load_all_checked(read_text(path, max_bytes=max_bytes), where=os.fspath(path))
