"""The one loader for untrusted YAML: limits hold, within a bound of time, one line each."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from outfitter import yamlio


def _error(text: str) -> str:
    with pytest.raises(yamlio.YamlInputError) as caught:
        yamlio.load_all_checked(text, where="f.yaml")
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_plain_documents_load_as_pyyaml_would() -> None:
    text = "a: 1\nb: {c: [1, 2]}\nd: '='\n---\n---\ne: x\n"
    assert yamlio.load_all_checked(text) == [{"a": 1, "b": {"c": [1, 2]}, "d": "="},
                                             {"e": "x"}]


def test_duplicate_key_is_an_error_with_both_lines() -> None:
    assert _error("a: 1\nb: 2\na: 3\n") == \
        "f.yaml:3: not valid YAML: duplicate key 'a' (first on line 1)"


def test_merge_keys_may_be_overridden() -> None:
    text = "base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  x: 3\n"
    assert yamlio.load_checked(text)["m"] == {"x": 3, "y": 2}


def test_custom_tags_read_as_their_plain_value() -> None:
    text = "a: !Find foo\nb: !reference [x, y]\nc: !Thing {k: v}\n"
    assert yamlio.load_checked(text) == {"a": "foo", "b": ["x", "y"], "c": {"k": "v"}}


def test_alias_bomb_refused_fast() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    start = time.monotonic()
    assert "alias bomb" in _error("\n".join(lines))
    assert time.monotonic() - start < 5


def test_a_few_aliases_are_fine() -> None:
    text = "x: &x {a: 1}\ny: [*x, *x, *x]\n"
    assert yamlio.load_checked(text)["y"] == [{"a": 1}] * 3


def test_recursive_alias_refused() -> None:
    assert "contains it" in _error("a: &x [1, *x]\n")


@pytest.mark.parametrize("text", [
    "[" * 100_000 + "]" * 100_000,  # would crash libyaml's recursive composer
    "- " * 1_000_000 + "x",
    "[a, " * 500_000,
])
def test_pathological_nesting_refused_without_crashing(text: str) -> None:
    assert "nested too deeply" in _error(text)


def test_depth_limit() -> None:
    assert _error("[" * 150 + "]" * 150) == "f.yaml:1: nested deeper than 100 levels"


def test_long_lines_and_many_balanced_brackets_are_fine() -> None:
    dashboard = "{" + ", ".join(f'"k{i}": [{i}]' for i in range(20_000)) + "}"
    docs = yamlio.load_all_checked(f"a: '{'x' * 2_000_000}'\nb: {dashboard}\n")
    assert len(docs[0]["b"]) == 20_000


def test_syntax_error_has_its_line() -> None:
    assert _error("a: 1\nb: [1\n").startswith("f.yaml:")


def test_one_document_expected() -> None:
    with pytest.raises(yamlio.YamlInputError, match="holds 2 YAML documents"):
        yamlio.load_checked("a: 1\n---\nb: 2\n")


@pytest.mark.parametrize(("data", "expected"), [
    ("a: 1\n".encode("utf-16"), "is UTF-16 or UTF-32 text; save it as UTF-8"),
    (b"\x00\x01\x02binary", "is a binary file, not text"),
    (b"a: 1\nb: \xff\xfe\n", "is not UTF-8 text (byte 8)"),
])
def test_files_that_are_not_utf8_text(tmp_path: Path, data: bytes, expected: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_bytes(data)
    with pytest.raises(yamlio.YamlInputError) as caught:
        yamlio.load_file(path)
    assert str(caught.value).endswith(expected)


def test_bom_and_crlf_are_read(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_bytes(b"\xef\xbb\xbfa: 1\r\nb: 2\r\n")
    assert yamlio.load_file(path) == {"a": 1, "b": 2}


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    with pytest.raises(yamlio.YamlInputError, match="not a regular file"):
        yamlio.load_file(fifo)


def test_folder_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(yamlio.YamlInputError, match="a folder"):
        yamlio.load_file(tmp_path)
    with pytest.raises(yamlio.YamlInputError, match="No such file"):
        yamlio.load_file(tmp_path / "nope.yaml")


def test_too_large_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    with open(path, "wb") as file:
        file.truncate(100 << 20)  # sparse: 100 MiB without writing them
    start = time.monotonic()
    with pytest.raises(yamlio.YamlInputError, match="too large"):
        yamlio.load_file(path)
    assert time.monotonic() - start < 2


def test_a_redefined_anchor_replaces_the_earlier_one() -> None:
    text = "a: &x 1\nb: *x\nc: &x 2\nd: *x\n"
    assert yamlio.load_checked(text) == {"a": 1, "b": 1, "c": 2, "d": 2}


def test_an_anchor_in_a_comment_is_no_anchor() -> None:
    """An alternative value kept in a comment (`# HOST: &dbHost "10.0.0.5"`) is no second
    definition: the alias after it is the first anchor's (kustomize reads it so). A `#`
    inside quotes, or glued to a word, starts no comment."""
    text = ('host: &dbHost "db.svc"\n# host: &dbHost "10.0.0.5"\ninit: *dbHost\n'
            "tag: 'a #&x'\nref: x#&y\n")
    assert not yamlio.has_duplicate_anchors(text)
    assert yamlio.load_checked(text) == {"host": "db.svc", "init": "db.svc",
                                         "tag": "a #&x", "ref": "x#&y"}
    again = 'a: &x 1 # was &x 0\nb: *x\nc: &x 2\nd: *x  # *x\n'
    assert yamlio.unique_anchors(again) == \
        'a: &x 1 # was &x 0\nb: *x\nc: &x__2 2\nd: *x__2  # *x\n'
    assert yamlio.load_checked(again) == {"a": 1, "b": 1, "c": 2, "d": 2}
