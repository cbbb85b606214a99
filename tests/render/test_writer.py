"""Writing the tree never loses what the user owns."""

from __future__ import annotations

from pathlib import Path

import pytest

from outfitter.cli import main
from outfitter.render.writer import RECORD, WriteConflict, write_tree

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


def test_a_file_edited_since_is_a_conflict_and_nothing_is_written(tmp_path: Path) -> None:
    write_tree(tmp_path, TREE)
    (tmp_path / "apps/a/ks.yaml").write_text("a: edited\n")
    with pytest.raises(WriteConflict) as err:
        write_tree(tmp_path, {**TREE, "apps/b/ks.yaml": "b: 2\n"})
    assert err.value.problems == [
        f"{tmp_path / 'apps/a/ks.yaml'}: changed since outfitter wrote it; "
        f"keep your change in the profile, or --force to overwrite"]
    assert (tmp_path / "apps/b/ks.yaml").read_text() == "b: 1\n"
    write_tree(tmp_path, TREE, force=True)
    assert (tmp_path / "apps/a/ks.yaml").read_text() == "a: 1\n"


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
