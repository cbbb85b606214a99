"""Reading the user's roadmap document: the markdown tree with its lines, and what a file
must be to be read at all."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from outfitter import roadmap
from outfitter.profile_init import map_roadmap
from outfitter.roadmap import RoadmapError

ENHANCEMENTS = Path(__file__).resolve().parents[2] / "shared" / "roadmap" / "ENHANCEMENTS.md"

SAMPLE = """\
# Roadmap

## Priority: High

### Velero - Backups

**Status:** In Progress
- [x] Install Velero
- [ ] Test restore procedure
  - [X] nested, in a tight list

| Tool | Done |
|------|------|
| Loki | [ ] |

1. numbered
   continued on a second line

## Already Implemented

- [x] **Flux CD** - GitOps
"""


def test_entries_nest_and_keep_their_lines() -> None:
    doc = roadmap.parse(SAMPLE)
    (title,) = doc.entries
    (high, done) = [e for e in title.children if e.kind == "heading"]
    (velero,) = high.children
    kinds = [(e.kind, e.line, e.text) for e in velero.children]
    assert kinds == [
        ("paragraph", 6, "Status: In Progress"),
        ("item", 7, "Install Velero"),
        ("item", 8, "Test restore procedure"),
        ("row", 13, "Loki | [ ]"),
        ("item", 15, "numbered continued on a second line"),
    ]
    install, restore = velero.children[1:3]
    assert (install.checked, install.box, restore.checked) == (True, 3, False)
    (nested,) = restore.children
    assert (nested.text, nested.checked, nested.box, nested.line) == (
        "nested, in a tight list", True, 5, 9)
    row = velero.children[3]
    assert row.cells == (("tool", "Loki"), ("done", "[ ]"))
    assert doc.lines[row.line][row.box or 0] == " " and row.checked is False
    assert [e.text for e in done.children] == ["Flux CD - GitOps"]
    assert doc.text == SAMPLE


def test_struck_through_text_is_marked() -> None:
    doc = roadmap.parse("- [ ] ~~Longhorn~~ dropped\n- [ ] keep\n")
    first, second = doc.entries
    assert first.text == "Longhorn dropped" and first.struck == ((0, 8),)
    assert second.struck == ()


def test_a_byte_order_mark_is_kept_in_the_lines() -> None:
    doc = roadmap.parse("\ufeff# Roadmap\n\n- [ ] Velero\n")
    assert doc.entries[0].text == "Roadmap" and doc.text.startswith("\ufeff")


@pytest.mark.parametrize(("name", "data", "message"), [
    ("empty.md", b"", "empty"),
    ("blank.md", b"  \n\n\t\n", "empty"),
    ("binary.md", b"# x\n\x00\x01\x02\x89PNG", "binary"),
    ("utf16.md", "# Roadmap\n- [ ] Velero\n".encode("utf-16"), "UTF-16"),
    ("utf16le.md", "# Roadmap\n- [ ] Velero\n".encode("utf-16-le"), "UTF-16"),
    ("latin1.md", "# Feuille de route\n- [ ] sauvegarde Velero \xe9t\xe9\n".encode("latin-1"),
     "not UTF-8"),
    ("profile.md", b"cluster:\n  name: lab\naddons:\n  velero: {}\n", "YAML or JSON"),
    ("data.md", b'{"addons": ["velero"]}', "YAML or JSON"),
    ("roadmap.yaml", b"- velero\n- loki\n", "a .yaml file"),
    ("code.md", b"```\nvelero install\n```\n", "no markdown text"),
])
def test_what_is_not_a_markdown_roadmap_is_refused_in_one_line(
        tmp_path: Path, name: str, data: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(RoadmapError) as err:
        roadmap.load(path)
    (line,) = err.value.problems
    assert line.startswith(f"{path}: ") and message in line


def test_a_huge_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.md"
    with path.open("wb") as fh:
        fh.truncate(roadmap.MAX_BYTES + 1)  # sparse: nothing to read if it were opened
    with pytest.raises(RoadmapError, match="too large"):
        roadmap.load(path)


def test_a_fifo_or_folder_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "roadmap.md"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer forever
    with pytest.raises(RoadmapError, match="not a regular file"):
        roadmap.load(fifo)
    with pytest.raises(RoadmapError, match="not a regular file"):
        roadmap.load(tmp_path)
    with pytest.raises(RoadmapError, match="cannot read"):
        roadmap.load(tmp_path / "missing.md")


def test_markdown_that_yaml_also_reads_is_still_markdown() -> None:
    # a list of strings and a single string are YAML too; they are roadmaps
    assert roadmap.parse("- [ ] Velero\n- [ ] Loki\n").entries[1].text == "Loki"
    assert roadmap.parse("Backups with Velero, soon.\n").entries[0].kind == "paragraph"
    # front matter followed by markdown
    doc = roadmap.parse("---\ntitle: Roadmap\n---\n\n# Plan\n\n- [ ] Velero\n")
    assert [e.text for e in doc.walk() if e.kind == "item"] == ["Velero"]


def test_the_users_roadmap_maps_exactly_as_before() -> None:
    if not ENHANCEMENTS.exists():
        pytest.skip("the user's roadmap is not beside this checkout")
    mapping = map_roadmap(roadmap.load(ENHANCEMENTS))
    assert mapping.addons == {
        "velero": "high", "kyverno": "high",
        "reloader": "medium", "loki": "medium", "trivy-operator": "medium",
        "cert-manager": "medium",
        "tempo": "low", "otel-collector": "low", "descheduler": "low", "keda": "low",
        "cost": "low", "longhorn": "low", "object-storage": "low", "falco": "low",
        "renovate": "low",
        "log-shipper": "medium",
    }
    assert mapping.added == {"log-shipper": "loki"}
    assert mapping.existing == [
        "flux", "argocd", "kube-prometheus-stack", "traefik", "external-secrets",
        "goldilocks", "graylog", "fluent-bit", "linkerd", "headlamp"]
    # each add-on comes from its own "### Name - …" heading, and nothing else is reported
    assert mapping.sources["velero"].line == 9
    assert mapping.sources["velero"].text.startswith("### Velero - ")
    assert all(s.text.startswith("### ") for s in mapping.sources.values())
    assert (mapping.unmapped, mapping.ambiguous, mapping.not_offered, mapping.declined,
            mapping.done) == ([], [], {}, {}, {})
