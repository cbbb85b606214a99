"""The user's roadmap document, in whatever markdown they wrote it: read it into a tree of
entries (headings, list items, table rows, paragraphs) that keep their source lines.

Line numbers let later rewrites (status) touch only what they mean to: a checkbox mark or
a `**Status:**` line; every other byte stays as it was.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

from outfitter.errors import InputError

MAX_BYTES = 2 * 1024 * 1024
"""A roadmap is a few pages; anything bigger is not one (and is not read into memory)."""

NOT_MARKDOWN_SUFFIXES = frozenset({
    ".yaml", ".yml", ".json", ".toml", ".ini", ".cfg", ".conf", ".xml", ".csv", ".tsv",
    ".py", ".sh", ".go", ".js", ".ts", ".tf", ".hcl", ".pdf", ".docx", ".odt", ".xlsx",
    ".png", ".jpg", ".jpeg", ".gif", ".zip", ".gz", ".tar",
})

STATUS = re.compile(r"^\*\*Status:\*\*\s*(.*?)\s*$")
# A checkbox at the start of a list item (after any blockquote markers) or a table cell.
ITEM_BOX = re.compile(r"^[\s>]*(?:[-*+]|\d{1,9}[.)])\s+\[([ xX])\]")
CELL_BOX = re.compile(r"\|\s*\[([ xX])\]")
LEADING_BOX = re.compile(r"^\[([ xX])\]\s*")

Kind = Literal["heading", "item", "row", "paragraph"]
Spans = tuple[tuple[int, int], ...]


@dataclass
class Entry:
    kind: Kind
    line: int
    """0-based index of the entry's first line in the document."""
    text: str
    """Plain text of the entry itself (not of its children), checkbox removed."""
    struck: Spans = ()
    """Spans of `text` that are ~~struck through~~."""
    level: int = 0
    """Heading level (1-6); 0 for other entries."""
    box: int | None = None
    """Offset in the line of the checkbox mark (the character between the brackets)."""
    checked: bool = False
    cells: tuple[tuple[str, str], ...] = ()
    """For a table row: (column header, cell text) pairs."""
    children: list[Entry] = field(default_factory=list)

    def walk(self) -> Iterator[Entry]:
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass
class Roadmap:
    lines: list[str]
    """The document's lines with their line endings, so "".join(lines) is the file."""
    entries: list[Entry]
    """Top-level entries; headings hold what follows them up to the next heading of the same
    or a higher level, list items their nested items."""

    @property
    def text(self) -> str:
        return "".join(self.lines)

    def walk(self) -> Iterator[Entry]:
        for entry in self.entries:
            yield from entry.walk()

    def source(self, entry: Entry) -> str:
        """The entry's first source line, as written (for messages)."""
        return self.lines[entry.line].strip()


class RoadmapError(InputError):
    """A file that is not a roadmap outfitter can read (exit 2, one line)."""

    def __init__(self, path: Path | str, problem: str) -> None:
        super().__init__([f"{path}: {problem}"])


def load(path: Path) -> Roadmap:
    """Read a roadmap file, refusing what is not a markdown text document."""
    try:
        info = os.stat(path)
    except OSError as err:
        raise RoadmapError(path, f"cannot read: {err.strerror or err}") from None
    if not stat.S_ISREG(info.st_mode):  # a FIFO or device would block or never end
        raise RoadmapError(path, "not a regular file; give the roadmap's markdown file")
    if info.st_size > MAX_BYTES:
        raise RoadmapError(path, f"too large for a roadmap ({info.st_size} bytes; at most "
                                 f"{MAX_BYTES})")
    if path.suffix.lower() in NOT_MARKDOWN_SUFFIXES:
        raise RoadmapError(path, f"a {path.suffix} file is not a markdown roadmap")
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as err:
        raise RoadmapError(path, f"cannot read: {err.strerror or err}") from None
    if len(data) > MAX_BYTES:
        raise RoadmapError(path, f"too large for a roadmap (more than {MAX_BYTES} bytes)")
    return parse(decode(data, path), path)


def decode(data: bytes, path: Path | str = "roadmap") -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or _looks_utf16(data):
        raise RoadmapError(path, "UTF-16 text; save the roadmap as UTF-8")
    if b"\x00" in data:
        raise RoadmapError(path, "a binary file, not a markdown roadmap")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise RoadmapError(path, f"not UTF-8 text (byte {err.start}); save the roadmap as "
                                 f"UTF-8") from None
    if not text.strip():
        raise RoadmapError(path, "empty; nothing to read")
    return text


def _looks_utf16(data: bytes) -> bool:
    """UTF-16 without a byte-order mark: every other byte of ASCII text is zero."""
    sample = data[:512]
    return len(sample) >= 4 and (sample[1::2].count(0) > len(sample) // 4
                                 or sample[0::2].count(0) > len(sample) // 4)


def parse(text: str, path: Path | str = "roadmap") -> Roadmap:
    if _is_data(text):
        raise RoadmapError(path, "reads as YAML or JSON data, not a markdown roadmap")
    lines = text.splitlines(keepends=True)
    # A byte-order mark stays in `lines` (the rewrite keeps it) but not in what is parsed.
    tokens = _MARKDOWN.parse(text.removeprefix("\ufeff"))
    entries = _Builder(lines).build(tokens)
    if not any(e.text.strip() for top in entries for e in top.walk()):
        raise RoadmapError(path, "no markdown text in it (only code, HTML or rules)")
    return Roadmap(lines, entries)


_MARKDOWN = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _is_data(text: str) -> bool:
    """YAML or JSON that holds mappings: a profile, a manifest, a values file. (Markdown is
    nearly always valid YAML too, but as one string or a list of strings.)"""
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped[:1] in "{[":
        try:
            json.loads(stripped)
            return True
        except ValueError:
            pass
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError:
        return False
    return bool(docs) and all(
        isinstance(d, dict) or (isinstance(d, list) and d and all(
            isinstance(i, dict) for i in d)) for d in docs)


class _Builder:
    """Turns markdown-it's token stream into entries: headings nest by level, list items by
    list nesting, table rows and paragraphs sit under what holds them."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.top: list[Entry] = []
        self.headings: list[Entry] = []
        self.items: list[Entry | None] = []
        """Open list items, innermost last; None while an item has no entry yet."""

    def _holder(self) -> list[Entry]:
        for item in reversed(self.items):
            if item is not None:
                return item.children
        return self.headings[-1].children if self.headings else self.top

    def build(self, tokens: list[Token]) -> list[Entry]:
        i, in_body = 0, False
        header: list[str] = []
        while i < len(tokens):
            tok = tokens[i]
            line = tok.map[0] if tok.map else 0
            if tok.type == "heading_open":
                level = int(tok.tag[1])
                while self.headings and self.headings[-1].level >= level:
                    self.headings.pop()
                text, struck = _plain(tokens[i + 1])
                entry = Entry("heading", line, text, struck, level=level)
                self._holder().append(entry)
                self.headings.append(entry)
            elif tok.type == "list_item_open":
                self.items.append(None)
            elif tok.type == "list_item_close":
                self.items.pop()
            elif tok.type == "paragraph_open":
                text, struck = _plain(tokens[i + 1])
                if self.items and self.items[-1] is None:
                    self.items[-1] = self._item(line, text, struck)
                else:
                    self._holder().append(Entry("paragraph", line, text, struck))
            elif tok.type == "thead_open":
                header = []
            elif tok.type == "th_open":
                header.append(_plain(tokens[i + 1])[0].strip().lower())
            elif tok.type in ("tbody_open", "tbody_close"):
                in_body = tok.type == "tbody_open"
            elif tok.type == "tr_open" and in_body:
                self._row(tokens, i, header)
            i += 1
        return self.top

    def _item(self, line: int, text: str, struck: Spans) -> Entry:
        entry = Entry("item", line, text, struck)
        raw = self.lines[line] if line < len(self.lines) else ""
        box = ITEM_BOX.match(raw)
        lead = LEADING_BOX.match(text)
        if box and lead:
            entry.box, entry.checked = box.start(1), box.group(1) != " "
            cut = lead.end()
            entry.text = text[cut:]
            entry.struck = tuple((max(a - cut, 0), b - cut) for a, b in struck if b > cut)
        self._holder().append(entry)
        return entry

    def _row(self, tokens: list[Token], i: int, header: list[str]) -> None:
        row_map = tokens[i].map
        line = row_map[0] if row_map else 0
        cells: list[tuple[str, str]] = []
        crossed_out = False
        while tokens[i].type != "tr_close":
            if tokens[i].type == "td_open":
                raw_text, spans = _plain(tokens[i + 1])
                text = raw_text.strip()
                if not cells:  # a row whose first cell is struck through is crossed out
                    crossed_out = bool(text) and sum(b - a for a, b in spans) >= len(text)
                column = header[len(cells)] if len(cells) < len(header) else ""
                cells.append((column, text))
            i += 1
        joined = " | ".join(t for _, t in cells)
        entry = Entry("row", line, joined, ((0, len(joined)),) if crossed_out else (),
                      cells=tuple(cells))
        raw = self.lines[line] if line < len(self.lines) else ""
        boxes = list(CELL_BOX.finditer(raw))
        if len(boxes) == 1:  # one checkbox in the row: the row's own mark
            entry.box, entry.checked = boxes[0].start(1), boxes[0].group(1) != " "
        self._holder().append(entry)


def _plain(inline: Token) -> tuple[str, Spans]:
    """An inline token's text as a reader sees it, and the spans struck through."""
    out: list[str] = []
    struck: list[tuple[int, int]] = []
    start = 0
    for child in inline.children or []:
        if child.type in ("text", "code_inline"):
            out.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            out.append(" ")
        elif child.type == "image":
            out.append(child.content)
        elif child.type == "s_open":
            start = sum(map(len, out))
        elif child.type == "s_close":
            struck.append((start, sum(map(len, out))))
    return "".join(out), tuple(struck)
