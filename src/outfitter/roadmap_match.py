"""What a roadmap asks for: each entry of the document matched against the words the add-ons
declare (their names, aliases and capability phrases), the existing stack's names
(outfitter.stack) and the vocabulary in roadmap_vocabulary.yaml (tools outfitter does not
offer, the headings and wording that say "done", "won't do" or "not needed").

The rules, in the order they apply:
- A heading sets what the entries under it mean: "Already implemented"/"Done" (done: its
  components fill the profile's `existing`), "Won't do"/"Out of scope" (declined), "Notes"/
  "References" (not read), and a priority ("Priority: High", "Nice to have", "Phase 2").
  A table's "Priority" and "Status" columns do the same for their row. Checkbox marks
  never do: `status --update-roadmap` sets them, and re-reading a ticked roadmap must give
  the same profile.
- An entry that names tools is about those tools: it asks for the add-ons it names, and the
  tools outfitter does not offer are listed. Only an entry that names no tool is read for
  capabilities ("Backup solution" asks for Velero); a capability several add-ons declare is
  ambiguous unless an entry under it settles which.
- An entry that asks for an add-on claims what is under it (its description, sub-tasks,
  links): those are about that add-on and are not read for further requests.
- Negation ("we don't need Falco", "replace Graylog with Loki", ~~struck through~~) turns a
  mention into "not requested".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml

from outfitter import stack
from outfitter.addons import registry
from outfitter.roadmap import Entry, Roadmap

Mode = Literal["request", "done", "wont", "notes"]
TermKind = Literal["name", "capability", "tool", "setting", "existing", "ordinary"]

URL = re.compile(r"(?:https?://|www\.)\S+")
CLAUSE_END = re.compile(r"[.;:!?](?=\s|$)|,|\b(?:but|however|though|although)\b")
OBJECT_END = re.compile(r"\b(?:with|by|using|for)\b")
LEAD = re.compile(r"^\s*([^:]{1,30}):\s")
PRIORITY_WORD = re.compile(
    r"\bpriority\b\s*[:=\-–—]?\s*(?P<a>[a-z0-9]+)|\b(?P<b>[a-z0-9]+)[\s-]+priority\b")
PREFIX_END = re.compile(r"\s[-–—|/]\s|[:(–—|/]")
SYMBOLS = re.compile(r"[^\w\s'\-:()/|–—]")


def _key(phrase: str) -> str:
    return re.sub(r"[\s_\-]+", "", phrase.lower())


def _normal(text: str) -> str:
    """Lower case, straight quotes; same length, so spans stay put."""
    return text.lower().replace("\u2019", "'").replace("\u2018", "'")


def _pattern(phrase: str) -> str:
    parts = [re.escape(p) for p in re.split(r"[\s\-]+", phrase.strip()) if p]
    return r"[\s_\-]*".join(parts)


@dataclass(frozen=True)
class Term:
    kind: TermKind
    targets: tuple[str, ...]
    """Add-on names (a capability may have several), a tool's display name, or an
    existing-stack key."""


@dataclass(frozen=True)
class Mention:
    term: Term
    found: str
    start: int
    end: int
    negated: bool


class Vocabulary:
    """Everything the matcher knows, built from the add-on contract and the data file."""

    def __init__(self, data: dict[str, Any], addons: Iterable[Any]) -> None:
        terms: dict[str, Term] = {}
        phrases: dict[str, str] = {}

        def add(phrase: str, term: Term) -> None:
            key = _key(phrase)
            old = terms.get(key)
            if old is not None and old.kind == term.kind == "capability":
                term = Term("capability", tuple(dict.fromkeys(old.targets + term.targets)))
            elif old is not None and _RANK[old.kind] > _RANK[term.kind]:
                return
            terms[key] = term
            phrases.setdefault(key, phrase)

        for addon in addons:
            capabilities = set(addon.roadmap_capabilities)
            for name in (*addon.roadmap_names, *addon.roadmap_aliases):
                if name not in capabilities:
                    add(name, Term("name", (addon.name,)))
            for phrase in capabilities:
                add(phrase, Term("capability", (addon.name,)))
        for component in stack.COMPONENTS:
            for name in component.roadmap_names:
                add(name, Term("existing", (component.key,)))
        for display, *spellings in data["not_offered"]:
            for spelling in spellings:
                add(spelling, Term("tool", (display,)))
        for setting, spellings in data["settings"].items():
            for spelling in spellings:
                add(spelling, Term("setting", (setting,)))
        for phrase in data["ordinary_phrases"]:
            add(phrase, Term("ordinary", ()))
        self.terms = terms
        ordered = sorted(phrases.values(), key=lambda p: (-len(_key(p)), p))
        self._mentions = re.compile(
            r"(?<!\w)(" + "|".join(_pattern(p) for p in ordered) + r")(?:e?s)?(?!\w)")
        self.headings: dict[str, tuple[str, ...]] = {
            k: tuple(_normal(p) for p in v) for k, v in data["headings"].items()}
        self.levels: dict[str, str] = {
            _normal(p): level for level, ps in data["priority"].items() for p in ps}
        self.status_cells = {k: tuple(_normal(p) for p in v)
                             for k, v in data["status_cells"].items()}
        self.cues = {k: re.compile(r"(?<!\w)(?:" + "|".join(
            _pattern(_normal(p)) for p in sorted(v, key=len, reverse=True)) + r")(?!\w)")
            for k, v in data["negation"].items()}

    def mentions(self, text: str, struck: Iterable[tuple[int, int]] = ()) -> list[Mention]:
        """The terms an entry's text mentions, longest first where they overlap."""
        lowered = URL.sub(lambda m: " " * len(m.group()), _normal(text))
        found: list[Mention] = []
        for m in self._mentions.finditer(lowered):
            term = self.terms.get(_key(m.group(1)))
            if term is None or term.kind == "ordinary":
                continue
            found.append(Mention(term, text[m.start():m.end()], m.start(), m.end(), False))
        return self._negate(lowered, found, tuple(struck))

    def _negate(self, text: str, found: list[Mention], struck: tuple[tuple[int, int], ...]
                ) -> list[Mention]:
        ends = [m.start() for m in CLAUSE_END.finditer(text)]

        def same_clause(a: int, b: int) -> bool:
            return not any(a <= e < b for e in ends)

        before = [m.end() for m in self.cues["before"].finditer(text)]
        after = [m.start() for m in self.cues["after"].finditer(text)]
        objects = [m.end() for m in self.cues["object"].finditer(text)]
        stops = ends + [m.start() for m in OBJECT_END.finditer(text)]
        out = []
        for m in found:
            negated = (
                any(a <= m.start and b >= m.end for a, b in struck)
                or any(c <= m.start and same_clause(c, m.start) for c in before)
                or any(c >= m.end and same_clause(m.end, c) for c in after)
                # "replace X with Y": X, up to the "with"
                or any(c <= m.start and not any(c <= e < m.start for e in stops)
                       for c in objects))
            out.append(Mention(m.term, m.found, m.start, m.end, negated))
        return out

    def heading_kind(self, text: str) -> Mode | None:
        norm = _clean(text)
        kinds: tuple[Mode, ...] = ("wont", "done", "notes")
        for kind in kinds:
            for phrase in self.headings[kind]:
                if re.match(rf"{re.escape(phrase)}(?!\w)", norm) or re.search(
                        rf"(?<!\w){re.escape(phrase)}$", norm):
                    return kind
        return None

    def level(self, text: str) -> str | None:
        """A priority written as the whole of a heading or cell, or its first part
        ("Phase 1: the basics", "🔴 High")."""
        norm = _clean(text)
        head = PREFIX_END.split(norm, maxsplit=1)[0].strip()
        return self.levels.get(head) or self.levels.get(norm) or self.stated(text)

    def lead(self, text: str) -> str | None:
        """A priority an item or paragraph starts with ("Later: tracing") or states."""
        m = LEAD.match(text)
        return (self.levels.get(_clean(m.group(1))) if m else None) or self.stated(text)

    def stated(self, text: str) -> str | None:
        """A priority stated with the word "priority" ("Priority: High", "(low priority)")."""
        for m in PRIORITY_WORD.finditer(_normal(text)):
            word = str(m.group("a") or m.group("b"))
            if word in self.levels and len(word) > 1 and word not in ("must", "now"):
                return self.levels[word]
        return None

    def cell_status(self, text: str) -> Mode | None:
        if not text:
            return None
        norm = _clean(text)
        for kind, mode in (("wont", "wont"), ("done", "done")):
            for phrase in self.status_cells[kind]:
                if phrase in text or re.match(rf"{re.escape(phrase)}(?!\w)", norm):
                    return mode  # type: ignore[return-value]
        return None


_RANK: dict[TermKind, int] = {"ordinary": 0, "tool": 1, "setting": 2, "existing": 2,
                              "name": 3, "capability": 4}
"""Which kind wins when two spell the same: an add-on's declaration over the data file, and a
capability over a name (roadmap_names lists a few words, like "s3", that are capabilities)."""


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", SYMBOLS.sub(" ", _normal(text))).strip(" -:|/()")


@cache
def vocabulary() -> Vocabulary:
    raw = resources.files("outfitter").joinpath("roadmap_vocabulary.yaml").read_text("utf-8")
    return Vocabulary(yaml.safe_load(raw), registry.all_addons())


@dataclass
class Finding:
    """What one entry of the roadmap says."""

    entry: Entry
    mode: Mode
    priority: str | None
    addons: tuple[str, ...] = ()
    """Offered add-ons it names, or asks for by capability (in `mode`'s sense)."""
    ambiguous: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    """Capability phrases several add-ons offer, with the choices, nothing under it settling."""
    tools: tuple[str, ...] = ()
    """Named tools outfitter does not offer (or, in a done section, does not know)."""
    settings: tuple[str, ...] = ()
    """Profile settings (`secrets.provider=sops`) a named tool stands for."""
    existing: tuple[str, ...] = ()
    negated: tuple[str, ...] = ()
    """Add-ons it mentions only to say they are not wanted."""
    offered_instead: tuple[tuple[str, str], ...] = ()
    """For an entry naming a tool outfitter lacks: (add-on, phrase) that offer the same."""
    unmapped: bool = False
    """A checklist item or table row that names nothing outfitter knows."""
    context: str | None = None
    """The one add-on this entry is about, by itself or by what claims it (for status)."""
    claimed: bool = False


def analyse(doc: Roadmap, vocab: Vocabulary | None = None) -> list[Finding]:
    """Every entry of the document, in order, with what it says."""
    vocab = vocab or vocabulary()
    out: list[Finding] = []
    for entry in doc.entries:
        _visit(entry, vocab, "request", None, False, None, out)
    return out


def _visit(entry: Entry, vocab: Vocabulary, mode: Mode, priority: str | None, claimed: bool,
           context: str | None, out: list[Finding]) -> set[str]:
    """Record the entry and its subtree; return the add-ons the subtree asks for."""
    text, struck = entry.text, entry.struck
    if entry.kind == "heading":
        kind = vocab.heading_kind(text)
        mode = kind if mode == "request" and kind else mode
        priority = vocab.level(text) or priority
    elif entry.kind == "row":
        read = [(h, t) for h, t in entry.cells if not _is_column(h, "priority", "status")]
        for header, cell in entry.cells:
            if _is_column(header, "priority"):
                priority = vocab.level(cell) or priority
            elif _is_column(header, "status") and mode == "request":
                mode = vocab.cell_status(cell) or mode
        text = " | ".join(t for _, t in read)
        struck = ((0, len(text)),) if entry.struck else ()
        # A row is about what its first column names; the other cells describe it.
        subject = read[0][1] if read else ""
        if any(m.term.kind in ("name", "tool", "existing") for m in vocab.mentions(subject)):
            text = subject
            struck = ((0, len(text)),) if entry.struck else ()
    else:
        priority = vocab.lead(text) or priority
    finding = Finding(entry, mode, priority, context=context, claimed=claimed)
    out.append(finding)
    pending: list[tuple[str, tuple[str, ...]]] = []
    if not claimed and mode != "notes":
        pending = _read(finding, vocab.mentions(text, struck), mode)
    claims = bool(finding.addons)
    child_context = context
    if finding.addons:
        child_context = finding.addons[0] if len(finding.addons) == 1 else None
    asked = set(finding.addons) if mode == "request" else set()
    for child in entry.children:
        asked |= _visit(child, vocab, mode, priority, claimed or claims, child_context, out)
    finding.ambiguous = [(p, c) for p, c in pending if not asked & set(c)]
    return asked


def _read(finding: Finding, mentions: list[Mention], mode: Mode
          ) -> list[tuple[str, tuple[str, ...]]]:
    """Fill the finding from its mentions; return the ambiguous capability phrases."""
    live = [m for m in mentions if not m.negated]
    names = _targets(m for m in live if m.term.kind == "name")
    tools = _targets(m for m in live if m.term.kind == "tool")
    existing = _targets(m for m in live if m.term.kind == "existing")
    finding.settings = _targets(m for m in live if m.term.kind == "setting")
    capabilities = [m for m in live if m.term.kind == "capability"]
    finding.negated = _targets(m for m in mentions if m.negated and len(m.term.targets) == 1
                               and m.term.kind in ("name", "capability"))
    pending: list[tuple[str, tuple[str, ...]]] = []
    if names or tools or existing or finding.settings:  # about the tools it names
        finding.addons = names
        if not names and tools:
            finding.offered_instead = tuple(
                (m.term.targets[0], m.found) for m in capabilities if len(m.term.targets) == 1)
    else:
        finding.addons = _targets(m for m in capabilities if len(m.term.targets) == 1)
        pending = [(m.found, m.term.targets) for m in capabilities if len(m.term.targets) > 1]
    if mode == "done":
        finding.existing = existing
        finding.tools = tools
    elif not (names and finding.entry.kind == "heading"):
        # A heading that asks for an add-on is its title: other tools in it describe it.
        # The existing stack is what outfitter builds on, never "not offered".
        finding.tools = tools
    leaf_like = finding.entry.kind in ("item", "row")
    finding.unmapped = leaf_like and mode in ("request", "done") and not (
        mentions or (finding.entry.children and mode == "request"))
    return pending


def _targets(mentions: Iterable[Mention]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(t for m in mentions for t in m.term.targets))


def _is_column(header: str, *names: str) -> bool:
    return any(n in header for n in names) or (
        "status" in names and header in ("state", "done", "✅"))
