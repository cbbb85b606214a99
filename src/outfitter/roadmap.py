"""The user's roadmap document (the format of ENHANCEMENTS.md): read it, and keep it true.

Parsing keeps line numbers so that later rewrites (status) touch only the lines they mean
to: a checkbox character or a `**Status:**` line; every other byte stays as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

PRIORITY = re.compile(r"^##\s+Priority:\s*(\w+)", re.IGNORECASE)
H2 = re.compile(r"^##\s+(?!#)(.*)$")
SECTION = re.compile(r"^###\s+(.+?)(?:\s+[-–—]\s+.*)?\s*$")
STATUS = re.compile(r"^\*\*Status:\*\*\s*(.*?)\s*$")
CHECK = re.compile(r"^(\s*[-*]\s+\[)([ xX])(\]\s+)(.*?)\s*$")
EXISTING_ITEM = re.compile(r"^\s*[-*]\s+\[[ xX]\]\s+\*\*(.+?)\*\*")

# Names the "Already Implemented" list uses, lower-cased, to the profile's `existing` keys.
EXISTING_NAMES = {
    "flux cd": "flux", "flux": "flux", "fluxcd": "flux",
    "argocd": "argocd", "argo cd": "argocd",
    "kube-prometheus-stack": "kube-prometheus-stack",
    "traefik": "traefik",
    "external secrets operator": "external-secrets", "external secrets": "external-secrets",
    "goldilocks/vpa": "goldilocks", "goldilocks": "goldilocks",
    "graylog/opensearch": "graylog", "graylog": "graylog",
    "fluent bit": "fluent-bit", "fluent-bit": "fluent-bit",
    "linkerd": "linkerd",
    "headlamp, kubeview, kube-ops-view": "headlamp", "headlamp": "headlamp",
    "envoy gateway": "envoy-gateway", "envoy-gateway": "envoy-gateway",
}


@dataclass
class CheckItem:
    line: int  # 0-based index into the document's lines
    checked: bool
    text: str


@dataclass
class Section:
    name: str
    heading_line: int
    priority: str | None
    status_line: int | None = None
    status: str | None = None
    items: list[CheckItem] = field(default_factory=list)


@dataclass
class Roadmap:
    lines: list[str]
    """The document's lines with their line endings, so "".join(lines) is the file."""
    sections: list[Section]
    existing: list[str]
    """Names under "Already Implemented", as written."""

    @property
    def text(self) -> str:
        return "".join(self.lines)


def parse(text: str) -> Roadmap:
    lines = text.splitlines(keepends=True)
    sections: list[Section] = []
    existing: list[str] = []
    priority: str | None = None
    in_existing = False
    current: Section | None = None
    for i, raw in enumerate(lines):
        line = raw.rstrip("\r\n")
        if m := PRIORITY.match(line):
            priority, in_existing, current = m.group(1).lower(), False, None
            continue
        if m := H2.match(line):
            in_existing = "already implemented" in m.group(1).lower()
            priority, current = None, None
            continue
        if in_existing:
            if m := EXISTING_ITEM.match(line):
                existing.append(m.group(1).strip())
            continue
        if priority is None:
            continue
        if m := SECTION.match(line):
            current = Section(m.group(1).strip(), i, priority)
            sections.append(current)
            continue
        if current is None:
            continue
        if m := STATUS.match(line):
            current.status_line, current.status = i, m.group(1)
        elif m := CHECK.match(line):
            current.items.append(CheckItem(i, m.group(2) != " ", m.group(4)))
    return Roadmap(lines, sections, existing)


def load(path: Path) -> Roadmap:
    return parse(path.read_text(encoding="utf-8"))


def map_existing(name: str) -> str | None:
    return EXISTING_NAMES.get(name.strip().lower())
