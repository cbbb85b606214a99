"""Keep the roadmap document true: tick and untick the checkboxes a check decides, set the
`**Status:**` lines of sections about one add-on, and leave every other byte as it was.

Which add-on an item is about comes from reading the roadmap the way `init` does
(roadmap_match): the entry that claims it (a heading or parent item naming the add-on), else
the item itself ("- [ ] Backup solution" is Velero's "installed"). Items no check settles,
checks that came out unknown, and items under "Done"/"Won't do"/"Notes" keep the user's mark.
Checks that came out unknown or progressing keep the mark too. A report whose reads had
errors is incomplete: it may tick, never untick, and never moves a `**Status:**` line
backwards.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from outfitter.roadmap import STATUS, Roadmap
from outfitter.roadmap_match import Finding, analyse
from outfitter.status.checks import Check, Result, State
from outfitter.status.engine import AddonStatus, StatusReport


@dataclass(frozen=True)
class ItemDecision:
    addon: str
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


def _installed(status: AddonStatus) -> tuple[Check, Result] | None:
    return next(((c, r) for c, r in status.results if c.key.endswith(".installed")), None)


def _decide(finding: Finding, statuses: dict[str, AddonStatus]
            ) -> tuple[str, Check | None, Result] | None:
    """(add-on, check, result) for a checklist item, None when no enabled add-on's check
    speaks to it."""
    text = finding.entry.text
    if finding.claimed:
        status = statuses.get(finding.context or "")
        found = _check_for(text, status) if status else None
        return (status.addon, *found) if status and found else None
    if len(finding.addons) == 1:
        status = statuses.get(finding.addons[0])
        found = (_check_for(text, status) or _installed(status)) if status else None
        return (status.addon, *found) if status and found else None
    if not finding.addons or any(a not in statuses for a in finding.addons):
        return None
    # "Backups with Velero and MinIO": done when every add-on it names is installed.
    results = [found[1] for a in finding.addons if (found := _installed(statuses[a]))]
    if len(results) != len(finding.addons):
        return None
    states = {r.state for r in results}
    state: State = "unknown" if states & set(UNDECIDED) else "fail" if "fail" in states else "pass"
    evidence = "; ".join(r.evidence for r in results)
    return ", ".join(finding.addons), None, Result(state, evidence)


def _status_line(checked: list[bool], status: AddonStatus, incomplete: bool
                 ) -> str | None:
    installed = _installed(status)
    state = installed[1].state if installed else None
    if not checked:
        if state is None or state in UNDECIDED:
            return None
        if incomplete and state != "pass":
            return None
        return "Done" if state == "pass" else "Not Started"
    done = sum(checked)
    if done == len(checked):
        return "Done"
    if done == 0 and state != "pass":
        return "Not Started"
    return f"In Progress ({done} of {len(checked)})"


def update(doc: Roadmap, report: StatusReport) -> tuple[str, list[ItemDecision]]:
    """The document's new text, and what was decided for each checklist item."""
    lines = list(doc.lines)
    statuses = {s.addon: s for s in report.addons}
    findings = analyse(doc)
    marks: dict[int, bool] = {}
    decisions: list[ItemDecision] = []
    incomplete = bool(report.read_errors)
    for finding in findings:
        entry = finding.entry
        if entry.box is None or finding.mode != "request":
            continue
        mark = entry.checked
        decided = _decide(finding, statuses)
        if decided is not None:
            addon, check, result = decided
            if result.state not in UNDECIDED:
                mark = result.state == "pass" or (incomplete and entry.checked)
            decisions.append(ItemDecision(addon, entry.text, check, result, mark))
        elif finding.context in statuses:
            decisions.append(ItemDecision(finding.context or "", entry.text, None, None, mark))
        marks[id(entry)] = mark
        if mark != entry.checked:
            lines[entry.line] = _tick(lines[entry.line], entry.box, mark)
    for finding in findings:
        entry = finding.entry
        status = statuses.get(finding.addons[0]) if len(finding.addons) == 1 else None
        if entry.kind != "heading" or finding.mode != "request" or status is None:
            continue
        line = next((c.line for c in entry.children if c.kind == "paragraph"
                     and STATUS.match(_body(lines[c.line]))), None)
        if line is None:  # only where the document keeps Status lines
            continue
        checked = [marks[id(e)] for e in entry.walk() if id(e) in marks]
        new_status = _status_line(checked, status, incomplete)
        current = STATUS.match(_body(lines[line]))
        if incomplete and new_status is not None and current is not None \
                and _rank(new_status) < _rank(current.group(1)):
            new_status = None
        if new_status is not None and current is not None and current.group(1) != new_status:
            lines[line] = _set_status(lines[line], new_status)
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


def _body(line: str) -> str:
    return line[: len(line) - len(_line_ending(line))]


def _tick(line: str, box: int, checked: bool) -> str:
    if line[box] not in " xX":
        raise ValueError(f"no checkbox mark at column {box + 1}: {line!r}")
    return line[:box] + ("x" if checked else " ") + line[box + 1:]


def _set_status(line: str, status: str) -> str:
    body, end = _body(line), _line_ending(line)
    match = STATUS.match(body)
    assert match is not None
    return body[: match.start(1)] + status + end


def diff(old: str, new: str, name: str) -> str:
    return "".join(difflib.unified_diff(old.splitlines(keepends=True),
                                        new.splitlines(keepends=True),
                                        f"a/{name}", f"b/{name}"))
