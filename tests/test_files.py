"""outfitter.files: a killed write's temporary file is removed by the next write of the same
file, and nothing else is."""

from __future__ import annotations

from pathlib import Path

from outfitter.files import remove_stale_temporaries, write_keeping


def test_a_write_removes_the_temporaries_a_killed_write_of_the_same_file_left(
    tmp_path: Path
) -> None:
    target = tmp_path / "helmrelease.yaml"
    target.write_text("old\n")
    left = [tmp_path / ".helmrelease.yaml.k3_x9a2b.tmp",
            tmp_path / ".helmrelease.yaml.zz0qp1rt.tmp"]
    for path in left:
        path.write_text("half")
    write_keeping(target, b"new\n")
    assert target.read_text() == "new\n"
    assert [p for p in left if p.exists()] == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["helmrelease.yaml"]


def test_only_outfitters_own_temporaries_of_that_file_are_removed(tmp_path: Path) -> None:
    target = tmp_path / "values.yaml"
    target.write_text("a: 1\n")
    elsewhere = tmp_path / "sub"
    elsewhere.mkdir()
    kept = [
        tmp_path / ".values.yaml.tmp",                    # the user's: no random part
        tmp_path / ".values.yaml.abc.tmp",                # not mkstemp's eight characters
        tmp_path / ".values.yaml.ABCDEFGH.tmp",           # mkstemp never uses capitals
        tmp_path / ".other.yaml.abcdefgh.tmp",            # another file's
        tmp_path / "values.yaml.abcdefgh.tmp",            # not hidden
        elsewhere / ".values.yaml.abcdefgh.tmp",          # another folder
    ]
    for path in kept:
        path.write_text("mine")
    folder = tmp_path / ".values.yaml.fold3r00.tmp"       # a folder, not a file
    folder.mkdir()
    outside = tmp_path / "outside.txt"
    outside.write_text("linked")
    link = tmp_path / ".values.yaml.l1nk0000.tmp"         # a symlink: never followed
    link.symlink_to(outside)
    stale = tmp_path / ".values.yaml.q8w7e6r5.tmp"
    stale.write_text("half")

    assert remove_stale_temporaries(target) == [stale]
    assert all(p.read_text() == "mine" for p in kept)
    assert folder.is_dir() and link.is_symlink() and outside.read_text() == "linked"


def test_a_symlinked_file_is_cleaned_beside_its_target(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "app.yaml").write_text("old\n")
    (tmp_path / "app.yaml").symlink_to(real / "app.yaml")
    stale = real / ".app.yaml.a1b2c3d4.tmp"
    stale.write_text("half")
    beside_link = tmp_path / ".app.yaml.a1b2c3d4.tmp"
    beside_link.write_text("not from this write")
    write_keeping(tmp_path / "app.yaml", b"new\n")
    assert (real / "app.yaml").read_text() == "new\n"
    assert not stale.exists() and beside_link.exists()


def test_a_name_with_glob_characters_matches_only_itself(tmp_path: Path) -> None:
    target = tmp_path / "a[b]*.yaml"
    target.write_text("x\n")
    other = tmp_path / ".ab-anything.yaml.abcdefgh.tmp"
    other.write_text("mine")
    stale = tmp_path / ".a[b]*.yaml.abcdefgh.tmp"
    stale.write_text("half")
    assert remove_stale_temporaries(target) == [stale]
    assert other.exists()
