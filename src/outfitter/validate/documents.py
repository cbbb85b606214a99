"""Reading the manifests of a tree: streamed documents, errors with their line, and line
numbers for findings found afterwards.

Documents are parsed with libyaml (outfitter.yamlio.Loader) and kept no longer than their
checks need. Timestamps stay strings, as in Kubernetes' own YAML reader (a `2026-01-01` is
a string to the API server, and JSON Schema knows no dates). Line numbers cost a second,
node-level parse, so it is done only for files that have findings.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from outfitter import yamlio
from outfitter.repo.objects import sops_encrypted
from outfitter.validate import quick_yaml
from outfitter.yamlio import Loader


class ManifestLoader(Loader):
    """yamlio's Loader, timestamps read as strings; the tag of a plain scalar is cached by
    its text (manifests repeat the same few thousand values: `v1`, `true`, names)."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode and implicit[0]:
            tag = _PLAIN_TAGS.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(_PLAIN_TAGS) < 8192:  # bounded: memory must not grow with the tree
                    _PLAIN_TAGS[value] = tag
            return tag
        return super().resolve(kind, value, implicit)


_PLAIN_TAGS: dict[str, str] = {}


def _plain_value(loader: Any, suffix: str, node: yaml.Node) -> Any:
    """A custom tag (`!Find`, `!reference`) read as its plain value, as kustomize keeps it."""
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


ManifestLoader.add_multi_constructor("!", _plain_value)

ManifestLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in Loader.yaml_implicit_resolvers.items()
}

_ComposeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class InputProblem:
    rule: str  # "yaml-syntax" | "unreadable"
    message: str
    line: int | None = None
    # A reading limit refused it (an alias bomb, nesting too deep): hostile or broken
    # whatever the file is meant to be, so always said.
    refused: bool = False
    # The text holds Jinja's or Go's delimiters: a template (an Ansible role's), not YAML
    # yet.
    template: bool = False


# `{{ x }}`, `{{- x }}`, `{{.X}}`, `{% x %}`; not a flow map as a key, `{{a: 1}: 2}`.
_TEMPLATED = re.compile(r"\{\{[\s.-]|\{%")

DocItem = tuple[int, Any] | InputProblem  # (index, document), or the problem that ends a file


def read_text(path: str | os.PathLike[str]) -> str | InputProblem:
    """The file's text (universal newlines), or why it cannot be read: not a regular file
    (a FIFO is never opened for a blocking read), over yamlio.MAX_BYTES, binary, UTF-16/32
    or not UTF-8 — yamlio's limits for untrusted input, with one open and read."""
    try:
        return yamlio.read_text(path)
    except yamlio.YamlInputError as err:
        return InputProblem("unreadable", err.message, err.line)


_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"


def _construct(loader: Any, node: yaml.Node) -> Any:
    """Nodes to Python objects without PyYAML's generic machinery (generators, bookkeeping
    for recursive structures) for the common cases — strings, plain maps and lists — and
    with it for everything else (numbers, booleans, merge keys, explicit tags). The same
    result as yaml.load, at about twice the speed."""
    kind = type(node)
    if kind is yaml.ScalarNode:
        return node.value if node.tag == _STR else loader.construct_object(node, deep=True)
    if kind is yaml.MappingNode and node.tag == _MAP:
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                return loader.construct_object(node, deep=True)
            key = _construct(loader, key_node)
            try:
                if key in out:  # kustomize and the API server refuse it; PyYAML keeps the last
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark,
                        f"duplicate key {key!r}", key_node.start_mark)
                out[key] = _construct(loader, value_node)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    "found unhashable key", key_node.start_mark) from None
        return out
    if kind is yaml.SequenceNode and node.tag == _SEQ:
        return [_construct(loader, item) for item in node.value]
    return loader.construct_object(node, deep=True)


def iter_docs(text: str) -> Iterator[tuple[int, Any] | InputProblem]:
    """(document index, document) for each document, empty ones included in the count;
    a syntax error ends the file with one InputProblem carrying its line."""
    index = 0
    if yamlio.too_deep_to_compose(text):
        # libyaml composes recursively in C: a deep enough text would crash the process.
        yield InputProblem("yaml-syntax", "invalid YAML: nested too deeply to read safely",
                           refused=True)
        return
    quick = quick_yaml.documents(text)
    if quick is not None:
        yield from enumerate(quick)
        return
    aliases = yamlio.may_alias(text)
    if aliases and yamlio.has_duplicate_anchors(text):
        text = yamlio.unique_anchors(text)  # a re-defined anchor is valid YAML
    loader = ManifestLoader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if aliases and node is not None:
                yamlio.check_node(node)  # an alias bomb is refused before it is expanded
            yield index, _construct(loader, node) if node is not None else None
            index += 1
    except yamlio.YamlInputError as err:
        yield InputProblem("yaml-syntax", f"invalid YAML: {err.message}", err.line,
                           refused=True)
    except RecursionError:
        yield InputProblem("yaml-syntax", "invalid YAML: nesting too deep or recursive",
                           refused=True)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = yamlio.yaml_problem(err, text)
        yield InputProblem("yaml-syntax", f"invalid YAML: {problem}", line,
                           template=bool(_TEMPLATED.search(text)))
    finally:
        loader.dispose()


def parse_file(path: str) -> list[DocItem]:
    """A file's documents as the pass reads them (validate.kustomize.Builder.documents)."""
    text = read_text(path)
    if isinstance(text, InputProblem):
        return [text]
    return list(iter_docs(text))


def load_docs(path: str) -> tuple[list[Any], InputProblem | None]:
    """All documents of a small file (kustomization files, Flux objects) and its problem."""
    text = read_text(path)
    if isinstance(text, InputProblem):
        return [], text
    return docs_of(iter_docs(text))


def docs_of(items: Iterable[DocItem]) -> tuple[list[Any], InputProblem | None]:
    """The documents before the first problem, and the problem."""
    docs: list[Any] = []
    for item in items:
        if isinstance(item, InputProblem):
            return docs, item
        docs.append(item[1])
    return docs, None


is_sops = sops_encrypted  # the repository model's test, under validate's older name


def kind_name(obj: dict[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    return str(obj.get("kind", "")), str((meta or {}).get("name", ""))


class LineFinder:
    """Line numbers of documents and fields in one file (a node-level parse, done once)."""

    def __init__(self, text: str) -> None:
        self.nodes: list[yaml.Node | None] = []
        try:
            for node in yaml.compose_all(text, Loader=_ComposeLoader):
                self.nodes.append(node)
        except yaml.YAMLError:
            pass  # a broken tail: the documents before it still have lines

    def line(self, doc: int | None, path: tuple[str | int, ...] = (),
             kind_name_: tuple[str, str] | None = None) -> int | None:
        if doc is None and kind_name_ is not None:
            doc = self._find(kind_name_)
        if doc is None or doc >= len(self.nodes) or self.nodes[doc] is None:
            return None
        node = self.nodes[doc]
        assert node is not None
        best = node.start_mark.line + 1
        for part in path:
            child = _child(node, part)
            if child is None:
                break
            key_node, node = child
            best = key_node.start_mark.line + 1
        return best

    def _find(self, wanted: tuple[str, str]) -> int | None:
        """The document of that kind and name; failing that, of that kind whose name the
        built name contains (kustomize's namePrefix/nameSuffix and generator hashes)."""
        best: tuple[int, int] | None = None  # (name length, index)
        for i, node in enumerate(self.nodes):
            if not isinstance(node, yaml.MappingNode):
                continue
            kind, name = _kind_name_of(node)
            if kind != wanted[0]:
                continue
            if name == wanted[1]:
                return i
            if name and name in wanted[1] and (best is None or len(name) > best[0]):
                best = (len(name), i)
        return best[1] if best else None


def _child(node: yaml.Node, part: str | int) -> tuple[yaml.Node, yaml.Node] | None:
    if isinstance(node, yaml.MappingNode) and isinstance(part, str):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == part:
                return key, value
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) \
            and 0 <= part < len(node.value):
        item = node.value[part]
        return item, item
    return None


def _kind_name_of(node: yaml.MappingNode) -> tuple[str, str]:
    kind = name = ""
    for key, value in node.value:
        if not isinstance(key, yaml.ScalarNode):
            continue
        if key.value == "kind" and isinstance(value, yaml.ScalarNode):
            kind = value.value
        elif key.value == "metadata" and isinstance(value, yaml.MappingNode):
            for k, v in value.value:
                if isinstance(k, yaml.ScalarNode) and k.value == "name" \
                        and isinstance(v, yaml.ScalarNode):
                    name = v.value
    return kind, name
