"""The yaml-rs fast path against the loader it stands in for (libyaml composing, PyYAML's
YAML 1.1 resolution, ManifestLoader's constructor): every text is either refused by the
guard or read to exactly the same documents — same types, same key order."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from outfitter import yamlio
from outfitter.validate import quick_yaml
from outfitter.validate.documents import InputProblem, ManifestLoader, _construct

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def slow_documents(text: str) -> list[Any] | None:
    """The documents as the slow path reads them, or None if it refuses the text."""
    loader = ManifestLoader(text)
    docs: list[Any] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            docs.append(_construct(loader, node) if node is not None else None)
    except Exception:  # any refusal
        return None
    finally:
        loader.dispose()
    return docs


def same(a: Any, b: Any) -> bool:
    """Equal, with the same types all the way down (True is not 1) and the same key order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return [(type(k), k) for k in a] == [(type(k), k) for k in b] and \
            all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


def agree(text: str) -> bool:
    quick = quick_yaml.documents(text)
    if quick is None:
        return True
    slow = slow_documents(text)
    return slow is not None and same(quick, slow)


# Texts where the two readings differ, each found by the differential runs (the YAML test
# suite, generated scalars, mutated manifests): the guard must send them the slow way.
DIFFERING = [
    "a: yes\n", "a: No\n", "a: on\n", "a: OFF\n", "on: push\n",  # YAML 1.1 booleans
    "a: 0644\n", "a: 012345678\n", "a: 0o17\n",  # octal in 1.1, decimal or 0o in 1.2
    "a: 1e3\n", "a: 1.5e3\n", "a: 1:20\n", "a: 1:2:3.5\n",  # floats, sexagesimal
    "a: +.5\n", "a: _5\n", "a: _.8\n", "- _1_\n",  # numbers to one reader only
    "b: &x {c: 1}\na: {<<: *x, d: 2}\n",  # merge key
    "a: !!binary aGk=\n",  # tags
    "1: a\n1.0: b\n", "true: a\n1: b\n",  # keys Python holds equal
    "? [1, 2]\n: x\n", "{{x: 1}: 1}\n",  # complex keys
    "foo: |\n  x\n   \n",  # a block scalar ending in a line of spaces
    "- |+\n   \n",
    "--- >\nline1\nline2\n", "|-\nx\n",  # top-level block scalars at column 0
    "a: > #8\n  b",  # a block scalar at the end of a text without a final line break
    "{ \"foo\"\n  :bar }\n", "[x:]\n", "- { \"key\"::value }\n", "[a::?inf,]\n",  # flow
    ": empty key\n", "- :\n",  # empty keys
    "apiVe\u2028rsion: v1\nkind: Namespace\n",  # LS is a line break in YAML 1.1 only
    "apiVersion: v1\n\ufeffkind: Namespace\n",  # a BOM inside the text
    "a:\n\tb: 1\n", "a: 1\n...\nb: 2\n", "%YAML 1.1\n---\na: 1\n",
]


@pytest.mark.parametrize("text", DIFFERING)
def test_texts_the_readings_differ_on_take_the_slow_path(text: str) -> None:
    assert quick_yaml.documents(text) is None


# Manifests as people write them: the fast path must take them (else no speed), and read
# them alike.
COMMON = [
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: b\ndata:\n"
    "  config.yaml: |\n    port: 8080\n    enabled: true\n  url: \"http://x:80/y\"\n",
    "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: a\nspec:\n  replicas: 2\n"
    "  template:\n    spec:\n      containers:\n        - name: a\n          image: a:1.2.3\n"
    "          args: [\"--v=2\"]\n          resources:\n            limits: {memory: 128Mi}\n"
    "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: a\nspec:\n  ports:\n"
    "    - port: 80\n      targetPort: 8080\n",
    "# a comment\n---\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${NS}\n",
    "- a\n- b\n",
]


@pytest.mark.parametrize("text", COMMON)
def test_common_manifests_take_the_fast_path_and_read_alike(text: str) -> None:
    quick = quick_yaml.documents(text)
    assert quick is not None
    slow = slow_documents(text)
    assert slow is not None and same(quick, slow)


def test_the_document_count_comes_from_the_text() -> None:
    # yaml-rs returns one document bare and several as a list: a one-document list and
    # two documents must not be confused, nor an empty text and one empty document.
    assert quick_yaml.documents("- a\n- b\n") == [["a", "b"]]
    assert quick_yaml.documents("---\na\n---\nb\n") == ["a", "b"]
    assert quick_yaml.documents("# only a comment\n") == []
    assert quick_yaml.documents("---\n") == [None]
    assert quick_yaml.documents("a: 1\n---\n") == [{"a": 1}, None]


def generated_scalars(count: int, seed: int) -> Iterator[str]:
    """Short tokens of number, boolean and indicator characters, in key, value, list and
    flow positions: where scalar resolution and flow parsing differ between the readings."""
    rnd = random.Random(seed)
    alphabet = list("0123456789") * 3 + list("+-._:eExXoObB ~@`\\\"#|>%!&*?,[]{}") + [
        "yes", "no", "on", "off", "Y", "n", "true", "False", "NULL", "null", "inf", "nan",
        ".inf", "0x", "0o", "0b", "1_", "e+", "e-", "::", "#", " #", "'", '"']
    forms = ["a: {}", "{}: a", "- {}", "[{}]", "{{{}: 1}}", "a:\n  {}: 1\n  b: {}",
             "- {}\n- {}"]
    for _ in range(count):
        token = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 5))).strip()
        if token:
            yield rnd.choice(forms).replace("{}", token)


def test_generated_scalars_are_refused_or_read_alike() -> None:
    texts = list(generated_scalars(20_000, seed=11))
    wrong = [text for text in texts if not agree(text)]
    assert wrong == []
    taken = sum(quick_yaml.documents(text) is not None for text in texts)
    assert taken > len(texts) // 3  # the guard is not simply refusing everything


def fixture_texts() -> list[str]:
    texts = []
    for path in sorted(FIXTURES.rglob("*.yaml")):
        try:
            texts.append(yamlio.read_text(path))
        except yamlio.YamlInputError:
            continue
    return texts


def test_the_repository_fixtures_are_read_alike_and_mostly_fast() -> None:
    texts = fixture_texts()
    assert len(texts) > 200
    assert [t[:80] for t in texts if not agree(t)] == []
    taken = sum(quick_yaml.documents(text) is not None for text in texts)
    assert taken > len(texts) * 3 // 4


MUTATIONS = [
    *":-{}[]\"'#|>\n ,\\", ": ", "- ", "\n  ", "\n- ", "|-\n", ">+\n", "  ", '"\\x41"',
    "'it''s'", '"a\\\n b"',
    "\n\n", "---\n", "\t", "é", "\u2028", "\u00a0", "\ufeff", "\x85", "\u2029", "#x",
    '"\\u263a"', "|2\n", "x\n   y"]


def mutated(texts: list[str], count: int, seed: int) -> Iterator[str]:
    """Real manifests with one to three edits (a character or a fragment inserted, a few
    characters deleted, a line repeated or re-indented): the near-misses of valid YAML."""
    rnd = random.Random(seed)
    small = [t for t in texts if len(t) < 6000]
    for _ in range(count):
        text = rnd.choice(small)
        for _ in range(rnd.randint(1, 3)):
            at = rnd.randrange(len(text) + 1)
            roll = rnd.random()
            if roll < 0.4:
                text = text[:at] + rnd.choice(MUTATIONS) + text[at:]
            elif roll < 0.7:
                text = text[:at] + text[at + rnd.randint(1, 4):]
            else:
                lines = text.split("\n")
                k = rnd.randrange(len(lines))
                lines.insert(k, lines[k] if rnd.random() < 0.5
                             else " " * rnd.randint(0, 6) + lines[k].lstrip())
                text = "\n".join(lines)
        yield text


def test_mutated_manifests_are_refused_or_read_alike() -> None:
    wrong = [t for t in mutated(fixture_texts(), 6000, seed=5) if not agree(t)]
    assert wrong == []


def test_without_yaml_rs_every_text_takes_the_slow_path(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    monkeypatch.setattr(quick_yaml, "yaml_rs", None)
    assert quick_yaml.documents(COMMON[0]) is None


def test_an_input_problem_still_comes_from_the_slow_path() -> None:
    from outfitter.validate.documents import iter_docs

    [problem] = [i for i in iter_docs("a: [1, 2\n") if isinstance(i, InputProblem)]
    assert problem.rule == "yaml-syntax" and problem.line == 2
