"""Edit the user's multi-document YAML files so that only the intended lines change.

ruamel.yaml's round trip keeps comments, key order and quoting, but it re-indents a whole
document to one style, which would touch lines nobody meant to edit. So a file is split at
its `---` markers, each document is round-tripped on its own with the indentation that
reproduces it byte for byte (found by trying the usual styles), and only the documents an
edit changes are re-dumped; the others are kept as they were. For a document no style
reproduces (two indentations, `{ drop: ["ALL"] }` with inner spaces), the edit is made in the
nearest style and only its changed lines are carried onto the user's text, which must then
read as the same data; when the edit touches a line ruamel.yaml would write differently, the
document is not edited and the caller lists it instead of rewriting the user's layout.
"""

from __future__ import annotations

import difflib
import io
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import ReusedAnchorWarning, YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from outfitter import yamlio
from outfitter.files import UnsafeFile, read_exact

_MARKER = re.compile(r"^(---|\.\.\.)(\s*(#.*)?)$")
# (mapping indent, sequence indent, dash offset): the styles seen in Kubernetes repositories
# first (`  - a` and `- a` under a key, with 2 spaces), then the rest.
_COMMON = ((2, 4, 2), (2, 2, 0), (4, 4, 0), (4, 6, 4), (4, 4, 2))
_STYLES = _COMMON + tuple(
    (m, s, o) for m in (2, 4, 3) for o in range(5) for s in sorted({o + 2, m, o + m})
    if s > o and (m, s, o) not in _COMMON)


def quoted(value: str) -> str:
    """A string written with double quotes (`"true"`), as annotations are in manifests."""
    return cast(str, DoubleQuotedScalarString(value))


class NotEditable(Exception):
    """This document cannot be edited without rewriting lines the edit does not touch."""


NO_ROUND_TRIP = ("the edit would rewrite lines a YAML round trip does not keep as written "
                 "(tabs, flow mappings with inner spaces, or another construct ruamel.yaml "
                 "rewrites)")


def _yaml(style: tuple[int, int, int]) -> YAML:
    y = YAML()
    y.preserve_quotes = True
    y.width = 4096  # never re-wrap a long line
    mapping, sequence, offset = style
    y.indent(mapping=mapping, sequence=sequence, offset=offset)
    return y


def _guess_style(body: str) -> tuple[int, int, int]:
    """The (mapping, sequence, offset) indentation the first nested blocks of a text show."""
    mapping = sequence = offset = None
    prev_col: int | None = None
    for raw in body.splitlines():
        text = raw.split(" #", 1)[0].rstrip()
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        col = len(text) - len(text.lstrip(" "))
        stripped = text.strip()
        if prev_col is not None and col >= prev_col:
            if stripped.startswith("- ") and offset is None:
                offset = col - prev_col
                sequence = offset + len(stripped) - len(stripped[1:].lstrip(" "))
            elif not stripped.startswith("-") and mapping is None and col > prev_col:
                mapping = col - prev_col
        if stripped.endswith(":"):
            # the key's column: after the dash when the line is a sequence item
            prev_col = col + (len(stripped) - len(stripped[1:].lstrip(" "))
                              if stripped.startswith("- ") else 0)
        else:
            prev_col = None
        if mapping is not None and offset is not None:
            break
    m = mapping or 2
    o = offset if offset is not None else 2
    return (m, sequence if sequence is not None else o + 2, o)


def _load(y: YAML, body: str) -> Any:
    """The round-trip tree. A re-defined anchor is legal YAML (yamlio.unique_anchors) that
    ruamel reads as YAML says, with a warning on stderr this keeps quiet."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReusedAnchorWarning)
        return y.load(body)


def _dump(y: YAML, data: Any) -> str:
    buf = io.StringIO()
    y.dump(data, buf)
    return buf.getvalue()


@dataclass
class Document:
    """One document of a file: its `---` line (if any) and its body, kept as text."""

    index: int
    line: int
    """1-based line of the document's first body line in the file."""
    marker: str
    body: str
    data: Any = None
    """The plain (PyYAML) value, for reading. None for an empty document."""
    _style: tuple[int, int, int] | None = field(default=None, repr=False)
    _style_known: bool = field(default=False, repr=False)

    @property
    def _text(self) -> str:
        """The body as ruamel writes a document: ending with a newline. A file's last line
        often has none; an edit adds it back only if the edit ends the document."""
        return self.body if not self.body or self.body.endswith("\n") else self.body + "\n"

    def _as_written(self, text: str) -> str:
        """An edited text without the final newline the body did not have."""
        if text.endswith("\n") and self._text != self.body:
            return text[:-1]
        return text

    def style(self) -> tuple[int, int, int] | None:
        """The indentation that round-trips this body exactly, or None. The tree is loaded
        once and dumped in each candidate style, the one the text suggests first."""
        if not self._style_known:
            self._style_known = True
            try:
                tree = _load(_yaml(_COMMON[0]), self._text)
            except YAMLError:
                return None
            guess = _guess_style(self._text)
            for style in dict.fromkeys([guess, *_STYLES]):
                if _dump(_yaml(style), tree) == self._text:
                    self._style = style
                    break
        return self._style

    def with_body(self, body: str) -> Document:
        """The same document after an edit (written in its style, so that is kept)."""
        return Document(index=self.index, line=self.line, marker=self.marker, body=body,
                        _style=self._style, _style_known=self._style_known)

    def tree(self) -> Any:
        """A round-trip tree of the body, for reading what is where."""
        return _load(_yaml(self.style() or _COMMON[0]), self.body)

    def loads(self) -> bool:
        """Whether the round-trip loader reads the body at all."""
        if self.style() is not None:
            return True
        try:
            _load(_yaml(_COMMON[0]), self.body)
        except YAMLError:
            return False
        return True

    def edit(self, change: Callable[[Any], None]) -> str:
        """The body after `change` mutates a fresh round-trip copy of it."""
        style = self.style()
        if style is not None:
            y = _yaml(style)
            tree = _load(y, self._text)
            change(tree)
            return self._as_written(_dump(y, tree))
        # No style writes this body back byte for byte (`{ drop: ["ALL"] }` comes back as
        # `{drop: [ALL]}`): the change is made in the nearest style and only the lines it
        # changes are carried onto the user's text, which must then mean the same.
        if "\r" in self.body or self.body.startswith("\ufeff"):
            raise NotEditable("CRLF line endings or a byte-order mark: an edit would mix "
                              "line endings")
        y = _yaml(_guess_style(self._text))
        try:
            tree = _load(y, self._text)
        except YAMLError:
            raise NotEditable(NO_ROUND_TRIP) from None
        baseline = _dump(y, tree)
        change(tree)
        carried = carry_over(self._text, baseline, _dump(y, tree))
        if carried is None:
            raise NotEditable(NO_ROUND_TRIP)
        return self._as_written(carried)


def carry_over(original: str, baseline: str, changed: str) -> str | None:
    """`original` with the edit that turned `baseline` (original as ruamel writes it) into
    `changed`, or None when that edit touches a line ruamel writes differently from the
    user, or the result would not mean what `changed` means."""
    o_lines = original.splitlines(keepends=True)
    b_lines = baseline.splitlines(keepends=True)
    c_lines = changed.splitlines(keepends=True)
    same: dict[int, int] = {}  # baseline line -> the identical original line
    for tag, i1, i2, j1, _ in difflib.SequenceMatcher(
            a=b_lines, b=o_lines, autojunk=False).get_opcodes():
        if tag == "equal":
            same.update({i1 + k: j1 + k for k in range(i2 - i1)})
    edits: list[tuple[int, int, list[str]]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(
            a=b_lines, b=c_lines, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        if i1 == i2:  # lines inserted before baseline line i1
            before = same.get(i1 - 1, -1) + 1 if i1 > 0 else 0
            after = same.get(i1, len(o_lines) if i1 == len(b_lines) else -1)
            if (i1 > 0 and i1 - 1 not in same) or after != before:
                return None  # beside a line the user wrote differently: ambiguous
            edits.append((before, before, c_lines[j1:j2]))
            continue
        # Lines changed or removed: each the user's own line, written as ruamel writes it.
        start = same.get(i1)
        if start is None or any(same.get(i1 + k) != start + k for k in range(i2 - i1)):
            return None
        edits.append((start, start + i2 - i1, c_lines[j1:j2]))
    for start, end, lines in reversed(edits):
        o_lines[start:end] = lines
    result = "".join(o_lines)
    try:
        # The user's text read as validate reads it (an anchor defined again is valid).
        if yamlio.load_all_checked(result) != yamlio.load_all_checked(changed):
            return None
    except Exception:  # yaml.YAMLError, YamlInputError and the C loader's errors
        return None
    return result


@dataclass
class YamlFile:
    path: Path
    text: str
    documents: list[Document]
    new_bodies: dict[int, str] = field(default_factory=dict)
    appended: list[str] = field(default_factory=list)
    """Documents added at the end of the file."""

    @property
    def changed(self) -> bool:
        return self.render() != self.text

    def set_body(self, index: int, body: str) -> None:
        self.new_bodies[index] = body

    def append_document(self, body: str) -> None:
        """Add a document at the end of the file (after a `---`)."""
        self.appended.append(body)

    def render(self) -> str:
        text = "".join(d.marker + self.new_bodies.get(d.index, d.body) for d in self.documents)
        if self.appended and text and not text.endswith("\n"):
            text += "\n"
        return text + "".join("---\n" + body for body in self.appended)

    def diff(self, root: Path | None = None) -> str:
        name = str(self.path.relative_to(root) if root else self.path)
        # A last line with no newline is marked as git marks it (else it runs into the next).
        return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                       for line in difflib.unified_diff(
                           self.text.splitlines(keepends=True),
                           self.render().splitlines(keepends=True),
                           fromfile=f"a/{name}", tofile=f"b/{name}"))


class UnreadableFile(Exception):
    """Not YAML (a template, a broken file): skipped and listed."""


def split(text: str) -> Iterator[tuple[str, str, int]]:
    """(marker line, body, first body line) for each document; marker is '' for the first
    document when the file does not start with `---`."""
    marker = ""
    body: list[str] = []
    start = 1
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        if _MARKER.match(line.rstrip("\r\n")):
            if marker or body:
                yield marker, "".join(body), start
            marker, body, start = line, [], number + 1
        else:
            body.append(line)
    yield marker, "".join(body), start


def read(path: Path) -> YamlFile:
    try:
        # Bytes, decoded: read_text() would turn CRLF into LF and a save would then rewrite
        # every line of a Windows-edited file.
        text = read_exact(path)
    except UnsafeFile as err:
        raise UnreadableFile(str(err).removeprefix(f"{path}: ")) from None
    docs = []
    for index, (marker, body, line) in enumerate(split(text)):
        if marker.startswith("..."):
            raise UnreadableFile("uses `...` document end markers; not edited")
        try:
            data = yamlio.load_checked(body)  # a repository's file: bounded like any input
        except yamlio.YamlInputError as err:
            at = f" (line {line + err.line - 1})" if err.line else ""
            if err.message.startswith("not valid YAML"):
                raise UnreadableFile(f"not valid YAML{at}") from None
            raise UnreadableFile(f"{err.message}{at}") from None
        except Exception as err:  # yaml.YAMLError and the C loader's errors
            mark = getattr(err, "problem_mark", None)
            where = f" (line {line + mark.line})" if mark is not None else ""
            raise UnreadableFile(f"not valid YAML{where}") from None
        docs.append(Document(index=index, line=line, marker=marker, body=body, data=data))
    return YamlFile(path=path, text=text, documents=docs)


def changed_lines(old: str, new: str) -> tuple[list[str], list[str]]:
    """(removed lines, added lines) between two texts."""
    removed: list[str] = []
    added: list[str] = []
    a, b = old.splitlines(), new.splitlines()
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("replace", "delete"):
            removed += a[i1:i2]
        if tag in ("replace", "insert"):
            added += b[j1:j2]
    return removed, added


class _NoMoreChoices(Exception):
    pass


def insert_at(
    locate: Callable[[Any], CommentedMap],
    key: str,
    value: Callable[[], Any],
    after: tuple[str, ...] = (),
    prefer_start: bool = False,
) -> Callable[[int], Callable[[Any], None]]:
    """Edits that insert `key` into the mapping `locate` finds, one per candidate position:
    right after the last present key of `after`, after the earlier ones, at the start when
    `prefer_start`, at the end, then after each other key from the end to the start. At
    the end a scalar takes over the blank lines and comments that trail the last entry
    (ruamel keeps them with it), so it joins the block instead of following the gap."""

    def choice(n: int) -> Callable[[Any], None]:
        def change(tree: Any) -> None:
            mapping = locate(tree)
            keys = list(mapping.keys())
            wanted = sorted({keys.index(k) + 1 for k in after if k in keys}, reverse=True)
            first = [0] if prefer_start else []
            positions = list(dict.fromkeys(
                [*wanted, *first, len(keys), *range(len(keys) - 1, -1, -1)]))
            if n >= len(positions):
                raise _NoMoreChoices
            new = value()
            mapping.insert(positions[n], key, new)
            trailing = mapping.ca.items.get(keys[-1]) if keys else None
            if positions[n] == len(keys) and not isinstance(new, (dict, list)) \
                    and trailing and len(trailing) > 2 and trailing[2] is not None \
                    and str(getattr(trailing[2], "value", "")).startswith("\n") \
                    and not isinstance(mapping[keys[-1]], (dict, list)):
                mapping.ca.items[key] = [None, None, trailing[2], None]
                trailing[2] = None
        return change

    return choice


def first_clean(
    doc: Document,
    choices: Callable[[int], Callable[[Any], None]],
    may_change: Callable[[str], bool] = lambda line: False,
) -> str:
    """The body after the first candidate edit that removes or rewrites no line except those
    `may_change` allows. ruamel attaches a comment that precedes a key to the entry before
    it, so inserting after that entry would slide new lines between a comment and the key
    it talks about; another position then keeps the user's lines intact."""
    n = 0
    while True:
        try:
            new = doc.edit(choices(n))
        except _NoMoreChoices:
            raise NotEditable(
                "no place to add the lines without moving a comment or a neighbour") from None
        removed, _ = changed_lines(doc.body, new)
        if all(may_change(line) for line in removed) and not _splits_comment(doc.body, new) \
                and not _after_blank(doc.body, new):
            return new
        n += 1


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _after_blank(old: str, new: str) -> bool:
    """Lines were inserted below a blank line that closes a block they belong to (they are
    deeper than the line that follows): ruamel keeps the blank line with the last entry,
    so the new entry lands past the gap the user left before the next key."""
    a, b = old.splitlines(), new.splitlines()
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for tag, i1, _i2, j1, _j2 in matcher.get_opcodes():
        if tag != "insert" or i1 == 0 or a[i1 - 1].strip():
            continue
        following = next((line for line in a[i1:] if line.strip()), None)
        if following is None or _indent(b[j1]) > _indent(following):
            return True
    return False


def _splits_comment(old: str, new: str) -> bool:
    """Lines were inserted right below a full-line comment: that comment belongs to the line
    that followed it, which the insertion pushed away."""
    a = old.splitlines()
    matcher = difflib.SequenceMatcher(a=a, b=new.splitlines(), autojunk=False)
    for tag, i1, _i2, _j1, _j2 in matcher.get_opcodes():
        if tag == "insert" and i1 > 0 and a[i1 - 1].lstrip().startswith("#"):
            return True
    return False


def checked(yf: YamlFile) -> str:
    """The edited text, after checking it still reads as the same number of documents (a
    broken edit must never reach the user's repository). Read as `read` reads the file: a
    re-defined anchor (`&port` once per list item) is legal YAML that libyaml refuses."""
    text = yf.render()
    expected = sum(d.data is not None for d in yf.documents) + len(yf.appended)
    readable = yamlio.unique_anchors(text) if yamlio.may_alias(text) \
        and yamlio.has_duplicate_anchors(text) else text
    try:
        count = len(yamlio.load_all(readable))
    except Exception:  # yaml.YAMLError and the C loader's errors
        count = -1
    if count != expected:
        raise NotEditable(f"{yf.path}: the edited file does not read back as {expected} "
                          f"documents; nothing written")
    return text


def save(yf: YamlFile) -> None:
    """Write the edited file in one rename, once `checked`."""
    save_all([yf])


def save_all(files: list[YamlFile]) -> list[Path]:
    """Write the edited files, each in one rename, after every one of them is `checked`:
    one edit that does not read back leaves the whole set unwritten, never half applied."""
    from outfitter.files import write_keeping

    texts = [(yf.path, checked(yf)) for yf in files if yf.changed]
    for path, text in texts:
        write_keeping(path, text.encode())
    return [path for path, _ in texts]


def walk(root: Path) -> list[Path]:
    """The YAML files of a repository, in a stable order, hidden folders (.git) left out."""
    if root.is_file():
        return [root]
    found = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.suffix in (".yaml", ".yml") and path.is_file():  # FIFOs and folders: no
            found.append(path)
    return found


def delete_key(doc: Document, locate: Callable[[Any], CommentedMap], key: str) -> str:
    """The body without `key` (and its whole value) in the mapping `locate` finds, removed
    as lines of text: ruamel hangs the comments that follow a block on its last entry, so
    deleting the entry in the tree would drop comments that belong to the next key."""
    y = _yaml(doc.style() or _COMMON[0])
    mapping = locate(_load(y, doc.body))
    line, col = mapping.lc.key(key)
    lines = doc.body.splitlines(keepends=True)
    end = line + 1
    while end < len(lines):
        text = lines[end]
        stripped = text.strip()
        indent = len(text) - len(text.lstrip(" "))
        if stripped and not (indent > col or (indent == col and stripped.startswith("- "))):
            break
        end += 1
    while end > line + 1 and not lines[end - 1].strip():
        end -= 1  # blank lines after the block separate it from what follows: keep them
    return "".join(lines[:line] + lines[end:])


def dump_like(doc: Document, data: Any) -> str:
    """`data` written in the indentation style of `doc` (for a document added beside it)."""
    return _dump(_yaml(doc.style() or _COMMON[0]), data)
