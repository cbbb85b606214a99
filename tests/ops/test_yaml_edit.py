"""Round-trip editing of multi-document YAML files: only the intended lines change."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml.comments import CommentedMap

from outfitter.ops import yaml_edit

TWO_DOCS = """\
# leading comment, before any document
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: a  # first
  # labels follow
  labels:
    app: a
data:
  long: "a line well past eighty characters that a default dumper would fold into two lines"
  script: |
    echo hi

    echo there
--- # the second one
apiVersion: v1
kind: Service
metadata:
    name: b
spec:
    ports:
    -   port: 80
"""


def changes(old: str, new: str) -> tuple[list[str], list[str]]:
    diff = list(difflib.ndiff(old.splitlines(), new.splitlines()))
    return ([d[2:] for d in diff if d.startswith("- ")],
            [d[2:] for d in diff if d.startswith("+ ")])


def test_split_keeps_every_byte(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text(TWO_DOCS)
    yf = yaml_edit.read(path)
    assert [d.marker for d in yf.documents] == ["", "---\n", "--- # the second one\n"]
    assert [d.line for d in yf.documents] == [1, 3, 17]
    assert yf.documents[0].data is None
    assert yf.render() == TWO_DOCS and not yf.changed
    # Each document finds the style that writes it back byte for byte.
    assert yf.documents[1].style() == (2, 4, 2)
    assert yf.documents[2].style() == (4, 4, 0)


def test_insert_avoids_splitting_a_comment_from_its_key(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text(TWO_DOCS)
    yf = yaml_edit.read(path)
    doc = yf.documents[1]

    def value() -> Any:
        return CommentedMap({"note": yaml_edit.quoted("x")})

    new = yaml_edit.first_clean(doc, yaml_edit.insert_at(
        lambda t: t["metadata"], "annotations", value, after=("name", "labels")))
    # After `labels` would have been first choice, but the comment before `data` hangs on
    # labels' last entry; after `name` the comment `# labels follow` would move. So: where
    # no comment is split from its key.
    removed, added = changes(doc.body, new)
    assert removed == [] and added == ["  annotations:", '    note: "x"']
    lines = new.splitlines()
    assert lines[lines.index("  # labels follow") + 1] == "  labels:"
    yf.set_body(doc.index, new)
    yf.set_body(2, yf.documents[2].edit(lambda t: t["spec"]["ports"][0].update(
        {"name": "http"})))
    removed, added = changes(TWO_DOCS, yf.render())
    assert removed == [] and added == ["  annotations:", '    note: "x"', "        name: http"]


def test_delete_key_keeps_the_comments_of_what_follows() -> None:
    body = ("spec:\n  tls:\n    certResolver: le\n    domains:\n      - main: a.example.com\n"
            "        sans:\n          - b.example.com\n  # routes come next\n  routes: []\n")
    doc = yaml_edit.Document(index=0, line=1, marker="", body=body)
    new = yaml_edit.delete_key(doc, lambda t: t["spec"]["tls"], "domains")
    assert new == ("spec:\n  tls:\n    certResolver: le\n  # routes come next\n"
                   "  routes: []\n")


def test_a_document_in_two_styles_gets_only_the_changed_lines(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("# two styles\na:\n  - x\nb:\n- y\nc: { d: [\"e\"] }  # flow\n")
    [doc] = yaml_edit.read(path).documents
    assert doc.style() is None  # no style writes it back byte for byte
    new = doc.edit(lambda t: t.insert(1, "z", 1))
    assert new == ("# two styles\na:\n  - x\nz: 1\nb:\n- y\nc: { d: [\"e\"] }  # flow\n")
    # An edit of a line ruamel writes its own way (`{d: [e]}`) is refused, not rewritten.
    with pytest.raises(yaml_edit.NotEditable, match="round trip"):
        doc.edit(lambda t: t["c"].insert(0, "f", 1))
    with pytest.raises(yaml_edit.NotEditable, match="round trip"):
        doc.edit(lambda t: t["b"].append("w"))  # `- y` is where ruamel writes `  - y`


def test_carry_over_refuses_a_result_that_means_something_else() -> None:
    original = "a: 1\nb: {x: 1}\n"
    assert yaml_edit.carry_over(original, original, "a: 2\nb: {x: 1}\n") == \
        "a: 2\nb: {x: 1}\n"
    # baseline and original differ on the line the edit is next to: no safe place.
    assert yaml_edit.carry_over("a: 1\nb: { x: 1 }\n", "a: 1\nb: {x: 1}\n",
                                "a: 1\nb: {x: 1}\nc: 3\n") is None


def test_crlf_files_are_not_editable(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_bytes(b"a: 1\r\nb:\r\n  c: 2\r\n")
    [doc] = yaml_edit.read(path).documents
    assert doc.style() is None
    with pytest.raises(yaml_edit.NotEditable, match="CRLF"):
        doc.edit(lambda t: t.insert(0, "z", 1))


def test_not_yaml_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("---\na: 1\n---\nb: [1, 2\nc: 3\n")
    with pytest.raises(yaml_edit.UnreadableFile, match=r"not valid YAML \(line \d+\)"):
        yaml_edit.read(path)


def test_appended_documents_and_save(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("a: 1")  # no newline at the end
    yf = yaml_edit.read(path)
    yf.append_document("b: 2\n")
    assert yf.render() == "a: 1\n---\nb: 2\n"
    yaml_edit.save(yf)
    assert path.read_text() == "a: 1\n---\nb: 2\n"


def test_save_refuses_an_edit_that_does_not_read_back(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("a: 1\n")
    yf = yaml_edit.read(path)
    yf.set_body(0, "a: [1\n")
    with pytest.raises(yaml_edit.NotEditable, match="does not read back"):
        yaml_edit.save(yf)
    assert path.read_text() == "a: 1\n"


def test_walk_skips_hidden_folders(tmp_path: Path) -> None:
    for rel in ("a.yaml", "b/c.yml", ".git/x.yaml", "d/.hidden/y.yaml", "e.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("a: 1\n")
    assert [str(p.relative_to(tmp_path)) for p in yaml_edit.walk(tmp_path)] == [
        "a.yaml", "b/c.yml"]


def test_a_crlf_file_is_never_rewritten_with_lf(tmp_path: Path) -> None:
    from outfitter.ops import reloader

    path = tmp_path / "app.yaml"
    original = (b"apiVersion: apps/v1\r\nkind: Deployment\r\nmetadata:\r\n  name: app\r\n"
                b"spec:\r\n  template:\r\n    spec:\r\n      containers:\r\n"
                b"        - name: app\r\n          envFrom:\r\n"
                b"            - secretRef: {name: app}\r\n")
    path.write_bytes(original)
    plan = reloader.plan_repository(tmp_path)
    assert plan.findings[0].edit_error is not None
    reloader.write(plan)
    assert path.read_bytes() == original


def test_save_all_writes_nothing_when_one_edit_does_not_read_back(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text("a: 1\n")
    bad.write_text("b: 1\n")
    first, second = yaml_edit.read(good), yaml_edit.read(bad)
    first.set_body(0, "a: 2\n")
    second.set_body(0, "b: [1\n")
    with pytest.raises(yaml_edit.NotEditable, match=r"bad\.yaml: the edited file"):
        yaml_edit.save_all([first, second])
    assert (good.read_text(), bad.read_text()) == ("a: 1\n", "b: 1\n")


def test_a_re_defined_anchor_reads_back_as_it_was_read(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # `&port` once per block, as homelab HelmReleases write it: legal YAML (the later
    # anchor replaces the earlier one), which libyaml alone refuses.
    path = tmp_path / "f.yaml"
    path.write_text("service:\n  port: &port 80\n  target: *port\n"
                    "probe:\n  port: &port 81\n  target: *port\n")
    yf = yaml_edit.read(path)
    yf.set_body(0, yf.documents[0].edit(lambda tree: tree.insert(0, "name", "x")))
    assert yaml_edit.save_all([yf]) == [path]
    assert path.read_text() == ("name: x\nservice:\n  port: &port 80\n  target: *port\n"
                                "probe:\n  port: &port 81\n  target: *port\n")
    assert "ReusedAnchorWarning" not in capfd.readouterr().err


def test_a_re_defined_anchor_in_a_document_ruamel_writes_its_own_way(tmp_path: Path) -> None:
    """A document no style writes back byte for byte (`{ type: RuntimeDefault }`) that also
    defines an anchor twice (JJGadgets/Biohazard's authentik release): the edit is carried
    onto the user's lines, and its meaning is checked as validate reads the file (before:
    libyaml refused the re-defined anchor, and the edit was refused as not round-tripping)."""
    path = tmp_path / "f.yaml"
    text = ("app:\n  type: deployment\n  probe: &p\n    port: 80\n  startup: *p\n"
            "worker:\n  probe: &p\n    port: 81\n  startup: *p\n"
            "security: { type: RuntimeDefault }\n")
    path.write_text(text)
    [doc] = yaml_edit.read(path).documents
    assert doc.style() is None
    new = doc.edit(lambda t: t["app"].insert(0, "annotations", {"a": "b"}))
    assert new == text.replace("app:\n", "app:\n  annotations:\n    a: b\n")


def test_a_file_with_no_final_newline_is_edited_and_keeps_none(tmp_path: Path) -> None:
    """An editor that writes no newline after the last line (Truxnell/home-cluster's
    IngressRoutes): the body then never round-trips byte for byte, and every edit was
    refused. The edit is made, the file still ends as it did, and the diff marks the
    line as git does."""
    path = tmp_path / "route.yaml"
    path.write_text("---\nspec:\n  routes: []\n  tls:\n    certResolver: cloudflare")
    yf = yaml_edit.read(path)
    doc = yf.documents[0]
    assert doc.style() == yaml_edit._COMMON[0]

    def move(tree: Any) -> None:
        del tree["spec"]["tls"]["certResolver"]
        tree["spec"]["tls"]["secretName"] = "web-tls"

    yf.set_body(0, doc.edit(move))
    assert yf.render() == "---\nspec:\n  routes: []\n  tls:\n    secretName: web-tls"
    assert yf.diff().endswith("-    certResolver: cloudflare\n\\ No newline at end of file\n"
                              "+    secretName: web-tls\n\\ No newline at end of file\n")
    # The same through the carry-over, when no style writes the document back.
    path.write_text("spec:\n  routes: [ ]\n  tls:\n    certResolver: cloudflare")
    [flow] = yaml_edit.read(path).documents
    assert flow.style() is None
    assert flow.edit(move) == "spec:\n  routes: [ ]\n  tls:\n    secretName: web-tls"
