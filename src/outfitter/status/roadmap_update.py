"""Keep the roadmap document true: tick and untick the checkboxes a check decides, set each
`**Status:**` line, and leave every other byte as it was.

Items no check settles (and checks that came out unknown or progressing) keep the user's
mark. A report whose reads had errors is incomplete: it may tick, never untick, and never
moves a `**Status:**` line backwards.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from outfitter.addons import registry
from outfitter.roadmap import CHECK, STATUS, Roadmap, Section
from outfitter.status.checks import Check, Result
from outfitter.status.engine import AddonStatus, StatusReport


@dataclass(frozen=True)
class ItemDecision:
    section: str
    item: str
    check: Check | None
    result: Result | None
    checked: bool


def _check_for(text: str, status: AddonStatus) -> tuple[Check, Result] | None:
    """The check that settles a checklist item: an add-on's own check before the generic
    "installed" one ("Install Loki + Promtail" is the shipper check, not just the install)."""
    lowered = text.lower()
    ordered = sorted(status.results, key=lambda cr: cr[0].key.endswith(".installed"))
    for check, result in ordered:
        if any(phrase in lowered for phrase in check.roadmap):
            return check, result
    return None


UNDECIDED = ("unknown", "progressing")


def _status_line(section: Section, checked: list[bool], status: AddonStatus,
                 incomplete: bool) -> str | None:
    installed = next((r for c, r in status.results if c.key.endswith(".installed")), None)
    if not checked:
        if installed is None or installed.state in UNDECIDED:
            return None
        if incomplete and installed.state != "pass":
            return None
        return "Done" if installed.state == "pass" else "Not Started"
    done = sum(checked)
    if done == len(checked):
        return "Done"
    if done == 0 and (installed is None or installed.state != "pass"):
        return "Not Started"
    return f"In Progress ({done} of {len(checked)})"


def update(doc: Roadmap, report: StatusReport) -> tuple[str, list[ItemDecision]]:
    """The document's new text, and what was decided for each checklist item."""
    lines = list(doc.lines)
    by_name = {n: a.name for a in registry.all_addons() for n in a.roadmap_names}
    statuses = {s.addon: s for s in report.addons}
    decisions: list[ItemDecision] = []
    incomplete = bool(report.read_errors)
    for section in doc.sections:
        status = statuses.get(by_name.get(section.name.lower(), ""))
        if status is None:  # not an add-on this profile enables: the user's marks stay
            continue
        checked = []
        for item in section.items:
            found = _check_for(item.text, status)
            mark = item.checked
            if found and found[1].state not in UNDECIDED:
                mark = found[1].state == "pass" or (incomplete and item.checked)
            checked.append(mark)
            decisions.append(ItemDecision(section.name, item.text, found[0] if found else None,
                                          found[1] if found else None, mark))
            if mark != item.checked:
                lines[item.line] = _tick(lines[item.line], mark)
        new_status = _status_line(section, checked, status, incomplete)
        if incomplete and new_status is not None and _rank(new_status) < _rank(section.status):
            new_status = None
        if new_status is not None and section.status_line is not None \
                and section.status != new_status:
            lines[section.status_line] = _set_status(lines[section.status_line], new_status)
    return "".join(lines), decisions


def _rank(status: str | None) -> int:
    """How far along a Status line says a section is (for never moving it backwards)."""
    text = (status or "").strip()
    if text.startswith("Done"):
        return 3
    if text.startswith("In Progress"):
        return 2
    return 1 if text.startswith("Not Started") else 0


def _line_ending(line: str) -> str:
    return line[len(line.rstrip("\r\n")):]


def _tick(line: str, checked: bool) -> str:
    body, end = line[: len(line) - len(_line_ending(line))], _line_ending(line)
    match = CHECK.match(body)
    assert match is not None
    start = match.start(2)
    return body[:start] + ("x" if checked else " ") + body[start + 1:] + end


def _set_status(line: str, status: str) -> str:
    body, end = line[: len(line) - len(_line_ending(line))], _line_ending(line)
    match = STATUS.match(body)
    assert match is not None
    return body[: match.start(1)] + status + end


def diff(old: str, new: str, name: str) -> str:
    return "".join(difflib.unified_diff(old.splitlines(keepends=True),
                                        new.splitlines(keepends=True),
                                        f"a/{name}", f"b/{name}"))
