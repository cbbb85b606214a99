"""Writing the tree never loses what the user owns."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from outfitter.cli import main
from outfitter.render.writer import RECORD, WriteConflict, exclusive, sha256, write_tree

TREE = {"apps/a/ks.yaml": "a: 1\n", "apps/b/ks.yaml": "b: 1\n", "apps/kustomization.yaml": "k\n"}


def test_first_write_records_every_file(tmp_path: Path) -> None:
    report = write_tree(tmp_path, TREE)
    assert sorted(report.written) == sorted(TREE)
    assert (tmp_path / RECORD).exists()
    assert (tmp_path / "apps/a/ks.yaml").read_text() == "a: 1\n"


def test_rewrite_keeps_user_files_and_leaves_no_temp_files(tmp_path: Path) -> None:
    write_tree(tmp_path, TREE)
    mine = tmp_path / "apps/a/my-extra.yaml"
    mine.write_text("mine\n")
    (tmp_path / "apps/notes.md").write_text("notes\n")
    report = write_tree(tmp_path, {**TREE, "apps/a/ks.yaml": "a: 2\n"})
    assert report.written == ["apps/a/ks.yaml"]
    assert mine.read_text() == "mine\n"
    assert (tmp_path / "apps/notes.md").read_text() == "notes\n"
    assert not [p for p in tmp_path.rglob("*.tmp")]


def test_a_change_only_the_user_made_survives_and_one_both_made_is_a_conflict(
        tmp_path: Path) -> None:
    base = {"apps/a/ks.yaml": "version: 1\nx: 1\ny: 1\nz: 1\nvalue: 1\n"}
    write_tree(tmp_path, base)
    path = tmp_path / "apps/a/ks.yaml"
    path.write_text("version: 2\nx: 1\ny: 1\nz: 1\nvalue: 1\n")  # Renovate's bump
    report = write_tree(tmp_path, base)  # same render: theirs stays as it is
    assert report.theirs == ["apps/a/ks.yaml"] and not report.written
    report = write_tree(tmp_path, {"apps/a/ks.yaml": "version: 1\nx: 1\ny: 1\nz: 1\nvalue: 5\n"})
    assert report.merged == ["apps/a/ks.yaml"]
    assert path.read_text() == "version: 2\nx: 1\ny: 1\nz: 1\nvalue: 5\n"
    # The same line changed both ways: reported with its diff, the file left alone.
    report = write_tree(tmp_path, {"apps/a/ks.yaml": "version: 3\nx: 1\ny: 1\nz: 1\nvalue: 5\n"})
    assert [c.rel for c in report.conflicts] == ["apps/a/ks.yaml"]
    assert "-version: 2" in report.conflicts[0].diff
    assert "+version: 3" in report.conflicts[0].diff
    assert path.read_text() == "version: 2\nx: 1\ny: 1\nz: 1\nvalue: 5\n"
    write_tree(tmp_path, {"apps/a/ks.yaml": "version: 3\nx: 1\ny: 1\nz: 1\nvalue: 5\n"},
               force=True)
    assert path.read_text() == "version: 3\nx: 1\ny: 1\nz: 1\nvalue: 5\n"


def test_a_file_already_holding_the_render_is_accepted_without_a_record(tmp_path: Path) -> None:
    (tmp_path / "apps/a").mkdir(parents=True)
    (tmp_path / "apps/a/ks.yaml").write_text("a: 1\n")  # a render killed before its record
    report = write_tree(tmp_path, TREE)
    assert "apps/a/ks.yaml" in report.unchanged
    assert "apps/a/ks.yaml" in json.loads((tmp_path / RECORD).read_text())["files"]


@pytest.mark.parametrize("entry", ["../outside.txt", "/etc/passwd", "apps/../../x"])
def test_a_record_entry_outside_the_folder_is_refused_and_nothing_deleted(
        entry: str, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    write_tree(repo, TREE)
    victim = tmp_path / "outside.txt"
    victim.write_text("keep me\n")
    data = json.loads((repo / RECORD).read_text())
    data["files"][entry] = sha256(b"keep me\n")
    (repo / RECORD).write_text(json.dumps(data))
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    with pytest.raises(WriteConflict) as err:
        write_tree(repo, {"apps/kustomization.yaml": "k\n"})
    assert len(err.value.problems) == 1 and repr(entry) in err.value.problems[0]
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_a_symlinked_folder_inside_the_output_is_not_written_through(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    repo = tmp_path / "repo"
    (repo / "kubernetes").mkdir(parents=True)
    (repo / "kubernetes/apps").symlink_to(elsewhere)
    assert main(["render", "--out", str(repo)]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and "symbolic link" in errors[0]
    assert list(elsewhere.iterdir()) == []
    assert not (repo / RECORD).exists()


def test_out_below_a_file_or_a_record_that_is_a_folder_is_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    afile = tmp_path / "file"
    afile.write_text("x\n")
    assert main(["render", "--out", str(afile / "repo")]) == 2
    assert main(["render", "--out", str(afile)]) == 2
    (tmp_path / "repo" / RECORD).mkdir(parents=True)
    assert main(["render", "--out", str(tmp_path / "repo")]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error")]
    assert len(errors) == 3, errors
    assert afile.read_text() == "x\n"
    assert sorted(p.name for p in (tmp_path / "repo").iterdir()) == [RECORD]


def test_gitops_path_must_stay_inside_the_repository(tmp_path: Path) -> None:
    for path in ("../elsewhere", "/srv/apps", "kubernetes/../../x"):
        profile = tmp_path / "p.yaml"
        profile.write_text(f"gitops:\n  path: {path}\n")
        assert main(["render", "--out", str(tmp_path / "out"), "--profile", str(profile)]) == 2
    assert not (tmp_path / "out").exists()


def test_new_files_follow_the_umask_and_edited_files_keep_their_mode(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_tree(tmp_path, TREE)
        path = tmp_path / "apps/a/ks.yaml"
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
        path.chmod(0o640)
        write_tree(tmp_path, {**TREE, "apps/a/ks.yaml": "a: 2\n"})
        assert stat.S_IMODE(path.stat().st_mode) == 0o640
        os.umask(0o027)
        write_tree(tmp_path, {**TREE, "apps/c/ks.yaml": "c: 1\n"})
        assert stat.S_IMODE((tmp_path / "apps/c/ks.yaml").stat().st_mode) == 0o640
    finally:
        os.umask(old)


def test_a_foreign_file_in_the_way_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "apps/a").mkdir(parents=True)
    (tmp_path / "apps/a/ks.yaml").write_text("theirs\n")
    for force in (False, True):
        with pytest.raises(WriteConflict) as err:
            write_tree(tmp_path, TREE, force=force)
        assert "was not written by outfitter" in err.value.problems[0]
    assert (tmp_path / "apps/a/ks.yaml").read_text() == "theirs\n"
    assert not (tmp_path / "apps/b/ks.yaml").exists()


def test_stale_files_go_only_when_unchanged(tmp_path: Path) -> None:
    write_tree(tmp_path, TREE)
    (tmp_path / "apps/b/ks.yaml").write_text("b: mine now\n")
    report = write_tree(tmp_path, {"apps/kustomization.yaml": "k\n"})
    assert report.removed == ["apps/a/ks.yaml"]
    assert not (tmp_path / "apps/a").exists()
    assert report.kept == ["apps/b/ks.yaml"]
    assert (tmp_path / "apps/b/ks.yaml").read_text() == "b: mine now\n"


def test_render_twice_gives_the_same_bytes_and_keeps_a_user_file(tmp_path: Path) -> None:
    assert main(["render", "--out", str(tmp_path)]) == 0
    snapshot = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    added = tmp_path / "kubernetes/apps/velero/velero/app/extra-configmap.yaml"
    added.write_text("# the user's own\n")
    assert main(["render", "--out", str(tmp_path)]) == 0
    assert {p: p.read_bytes() for p in snapshot} == snapshot
    assert added.read_text() == "# the user's own\n"


def test_render_with_a_bad_profile_writes_nothing(tmp_path: Path) -> None:
    profile = tmp_path / "bad.yaml"
    profile.write_text("cluster:\n  nodes:\n    count: zero\n")
    out = tmp_path / "out"
    assert main(["render", "--out", str(out), "--profile", str(profile)]) == 2
    assert not out.exists()


def test_a_second_render_into_the_same_repository_waits_its_turn(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A render holding the repository (here this test, through the same lock) makes another
    one stop before it reads or writes anything; --check only reads and goes ahead."""
    (tmp_path / "notes.md").write_text("mine\n")
    with exclusive(tmp_path):
        assert main(["render", "--out", str(tmp_path)]) == 2
        assert "another outfitter render is writing here" in capsys.readouterr().err
        assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.md"]
        assert main(["render", "--out", str(tmp_path), "--check"]) == 1
    assert main(["render", "--out", str(tmp_path)]) == 0
    assert (tmp_path / RECORD).exists()
