"""Rewriting the roadmap from check results: only checkboxes and Status lines change."""

from __future__ import annotations

from outfitter import roadmap
from outfitter.status.checks import Check, Result
from outfitter.status.engine import AddonStatus, StatusReport
from outfitter.status.roadmap_update import diff, update

DOC = """\
## Priority: High\r
\r
### Velero - Backups\r
\r
**Status:** Not Started\r
- [ ] Install Velero\r
- [x] Configure S3-compatible backend\r
- [ ] Set up scheduled backups\r
- [x] Test restore procedure\r
- [ ] Tell the family\r
\r
### Vault - not an add-on\r
\r
**Status:** Not Started\r
- [ ] Install Vault\r
"""


def check(key: str, *phrases: str) -> Check:
    return Check(key, key, (), lambda reader: Result("unknown", ""), roadmap=phrases)


def report(**states: str) -> StatusReport:
    checks = {"velero.installed": ("install",), "velero.storage": ("s3",),
              "velero.schedules": ("scheduled backups",), "velero.drill": ("restore",)}
    results = [(check(k, *checks[k]), Result(state, "e")) for k, state in states.items()]  # type: ignore[arg-type]
    return StatusReport([AddonStatus("velero", "Velero", results)], [])


def test_ticks_unticks_and_sets_status_keeping_crlf_and_other_lines() -> None:
    doc = roadmap.parse(DOC)
    new, decisions = update(doc, report(**{
        "velero.installed": "pass", "velero.storage": "fail", "velero.schedules": "pass",
        "velero.drill": "unknown"}))
    old_lines, new_lines = DOC.splitlines(keepends=True), new.splitlines(keepends=True)
    changed = [i for i, (a, b) in enumerate(zip(old_lines, new_lines, strict=True)) if a != b]
    assert [new_lines[i] for i in changed] == [
        "**Status:** In Progress (3 of 5)\r\n",
        "- [x] Install Velero\r\n",
        "- [ ] Configure S3-compatible backend\r\n",
        "- [x] Set up scheduled backups\r\n",
    ]
    # unknown keeps the user's mark; an item with no check keeps it too
    assert "- [x] Test restore procedure\r\n" in new_lines
    assert "- [ ] Tell the family\r\n" in new_lines
    assert new.endswith("- [ ] Install Vault\r\n")
    assert {d.item: d.checked for d in decisions}["Configure S3-compatible backend"] is False


def test_done_and_not_started() -> None:
    doc = roadmap.parse(DOC.replace("- [ ] Tell the family\r\n", ""))
    done, _ = update(doc, report(**dict.fromkeys(
        ("velero.installed", "velero.storage", "velero.schedules", "velero.drill"), "pass")))
    assert "**Status:** Done\r\n" in done
    fresh = roadmap.parse(DOC.replace("[x]", "[ ]"))
    none, _ = update(fresh, report(**dict.fromkeys(
        ("velero.installed", "velero.storage", "velero.schedules", "velero.drill"), "fail")))
    assert "**Status:** Not Started\r\n" in none
    assert none == fresh.text


def test_diff_is_a_unified_diff() -> None:
    text = diff("a\nb\n", "a\nc\n", "R.md")
    assert text.startswith("--- a/R.md\n+++ b/R.md\n") and "-b\n+c\n" in text


ANY_SHAPE = """\
# Homelab TODO

- [ ] Backup solution
  - [x] scheduled backups every night
  - [ ] a note nobody checks
- [ ] Security
  - [x] Automated certificate management
- [ ] Logging and ~~Falco~~

| Component | Priority | Done |
|-----------|----------|------|
| Velero | High | [ ] |
| cert-manager | High | [x] |

## Done

- [ ] Velero (moved here by hand)

## Won't do

- [x] cert-manager
"""


def addon(name: str, **states: str) -> AddonStatus:
    phrases = {"installed": ("install",), "schedules": ("scheduled backups",)}
    return AddonStatus(name, name, [
        (check(f"{name}.{k}", *phrases[k]), Result(s, "e"))  # type: ignore[arg-type]
        for k, s in states.items()])


def test_any_markdown_items_are_decided_by_the_add_on_they_are_about() -> None:
    doc = roadmap.parse(ANY_SHAPE)
    status = StatusReport([
        addon("velero", installed="pass", schedules="fail"),
        addon("cert-manager", installed="fail"),
        addon("loki", installed="unknown"),
    ], [])
    new, decisions = update(doc, status)
    old_lines, new_lines = ANY_SHAPE.splitlines(keepends=True), new.splitlines(keepends=True)
    changed = {i + 1: (a, b) for i, (a, b) in
               enumerate(zip(old_lines, new_lines, strict=True)) if a != b}
    assert {n: b for n, (_, b) in changed.items()} == {
        3: "- [x] Backup solution\n",  # the item asks for Velero: its install check
        4: "  - [ ] scheduled backups every night\n",  # claimed by Velero: its own check
        7: "  - [ ] Automated certificate management\n",
        12: "| Velero | High | [x] |\n",
        13: "| cert-manager | High | [ ] |\n",
    }
    # only the mark changed on each of those lines
    for a, b in changed.values():
        assert [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y] == [
            a.index("[") + 1]
    # unknown keeps the mark; no check for "a note"; "Done" and "Won't do" are left alone
    assert "- [ ] Logging and ~~Falco~~\n" in new_lines
    assert "  - [ ] a note nobody checks\n" in new_lines
    assert new.endswith("- [ ] Velero (moved here by hand)\n\n## Won't do\n\n"
                        "- [x] cert-manager\n")
    assert {d.item: d.addon for d in decisions}["scheduled backups every night"] == "velero"
    # a second run changes nothing
    assert update(roadmap.parse(new), status)[0] == new


def test_an_item_naming_two_add_ons_needs_both_installed() -> None:
    doc = roadmap.parse("- [ ] Velero backups to MinIO\n")
    both = StatusReport([addon("velero", installed="pass"),
                         addon("object-storage", installed="pass")], [])
    one = StatusReport([addon("velero", installed="pass"),
                        addon("object-storage", installed="fail")], [])
    assert update(doc, both)[0] == "- [x] Velero backups to MinIO\n"
    assert update(doc, one)[0] == doc.text


def test_a_report_with_read_errors_ticks_but_never_unticks() -> None:
    doc = roadmap.parse(DOC)
    incomplete = report(**{"velero.installed": "pass", "velero.storage": "fail",
                           "velero.schedules": "pass", "velero.drill": "fail"})
    incomplete.read_errors = ["listing backups.velero.io failed after 4 tries: HTTP 503"]
    new, _ = update(doc, incomplete)
    lines = new.splitlines(keepends=True)
    assert "- [x] Configure S3-compatible backend\r\n" in lines  # kept, though it "failed"
    assert "- [x] Test restore procedure\r\n" in lines
    assert "- [x] Install Velero\r\n" in lines  # a pass still ticks
    complete = report(**{"velero.installed": "pass", "velero.storage": "fail",
                         "velero.schedules": "pass", "velero.drill": "fail"})
    assert "- [ ] Configure S3-compatible backend\r\n" in update(doc, complete)[0]


def test_progressing_keeps_the_users_mark() -> None:
    doc = roadmap.parse(DOC.replace("- [ ] Install Velero", "- [x] Install Velero"))
    new, _ = update(doc, report(**{"velero.installed": "progressing"}))
    assert "- [x] Install Velero\r\n" in new.splitlines(keepends=True)
