"""A fast path for reading manifests: yaml-rs (a YAML 1.2 parser in Rust, three to four
times faster than libyaml plus PyYAML's construction), used only where its result is the
one ManifestLoader gives (YAML 1.1 as PyYAML reads it, timestamps as strings). The guard
below costs about as much as yaml-rs itself: on 5,501 manifests the whole reading takes
0.4 s against 0.54 s (a text refused by the guard costs its scan on top of libyaml's).

The two readings differ in how plain scalars resolve (`yes`/`on`/`off`, `0644`, `1e3`,
`1:20`, `+.5`, `1_000`), in tags, anchors, merge keys, directives and complex keys, in keys
that Python holds equal (`1` and `1.0`, `1` and `true`), and in what each accepts. A text
goes to yaml-rs only if none of these can occur in it, judged on the text alone and
conservatively: a scalar pattern in a comment or in a quoted string sends the file the slow
way too, never the other way round. The number of documents is read from the text's `---`
lines, because yaml-rs returns one document bare and several as a list.

The guard grew from differential runs — the YAML test suite, generated scalars, mutated
manifests and the files of public Flux repositories — until every text was either refused
here or read alike; tests/validate/test_quick_yaml.py keeps the last three. Texts nested
too deep to compose are refused first (yaml-rs, like libyaml, recurses on the C stack):
by the caller, or by read().
"""

from __future__ import annotations

import re
from typing import Any

from outfitter import yamlio

try:
    import yaml_rs
except ImportError:  # no wheel for this platform: every file takes the slow path
    yaml_rs = None  # type: ignore[assignment]

_BOOL_WORDS = "yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF"
_KEY_WORDS = "true|True|TRUE|false|False|FALSE|null|Null|NULL|~"
_SCALAR_END = r"(?=[ \t]*(?:$|#|[,\]}]|:(?:[ \t]|$)))"  # the token is the whole scalar

# Where a number, tag, anchor, key or flow collection begins that the readings could
# disagree on. Each pattern starts on a character class, so that the regex engine skips to
# the candidates instead of trying every position.
_TOKEN = re.compile(
    r"(?=[-+0-9._!&*?:%|>\[{])(?<![^\s\[{,])(?:"  # at a token's start
    r"[-+]?0[0-9_oObBxX]"  # octal 0644 (YAML 1.1) against decimal (1.2); 0o, 0b, 0x
    r"|[-+]?\.?[0-9][0-9_.]*[_eE]"  # 1_000, 1e3: numbers in one reading only
    r"|[-+]?[0-9][0-9_]*:[0-9]"  # sexagesimal 1:20
    r"|[-+]\.|\.(?:inf|Inf|INF|nan|NaN|NAN)"  # +.5 (a string in YAML 1.1), .inf, .nan
    r"|[-+]?\.*_"  # _5, _.5: numbers to yaml-rs only
    r"|[-+.]?[0-9][0-9_.eE+-]*[ \t]*:(?:[ \t]|$)"  # numeric keys (1 and 1.0 are one key)
    r"|[!&*?:%]"  # tags, anchors, aliases, complex or empty keys, directives
    r"|[|>](?![1-9]?[-+]?[1-9]?[ \t]*(?:#[^\n]*)?$)"  # `|` or `>` but no block header
    r"|[\[{][^\]}\n]*$"  # a flow collection over several lines
    r"|\{[ \t]*[\[{]"  # a flow collection as a key
    r"|[\[{][^\n]*:[^\s]"  # `a:b` in a flow collection (libyaml reads fewer of them)
    r")", re.MULTILINE)

# A word as a whole scalar: a boolean in YAML 1.1 only, or a key a Python dict holds equal
# to another (true and 1). Words begin scalars only after a line break, an indicator or a
# flow separator (anything else makes them part of a longer scalar, a comment, or a tag or
# anchor the token pattern refuses).
# The lookahead on the words' first letters lets most lines fail before the alternation.
_WORD = re.compile(
    rf"[\n:?\-\[{{,][ \t]*(?=[yYnNoOtTfF~])(?:(?:{_BOOL_WORDS}){_SCALAR_END}"
    rf"|(?:{_KEY_WORDS})[ \t]*:(?:[ \t]|$))", re.MULTILINE)

# Each with strings one of which any match contains (a text holding none is not searched).
_OTHER: list[tuple[tuple[str, ...], re.Pattern[str]]] = [
    (("]", "}"), re.compile(r"[\]}][ \t]*:")),  # a flow collection as a key
    (('":', "':"), re.compile(r"[\"']:(?![ \n,\]}])")),  # `"a":b`
    ((":,", ":]", ":}"), re.compile(r":[,\]}]")),  # `a:]`: an empty value libyaml refuses
    # A document end; a block scalar at the top level; a line of spaces (block scalars'
    # ends; at the text's end, " \n" is not there: quick() looks for a final space too).
    (("\n...", "\n|", "\n>", "\n--- ", "\n---\t", " \n"),
     re.compile(r"\n(?:\.\.\.(?:[ \t\n]|\Z)|(?:---[ \t]+)?[|>]| +(?:\n|\Z))")),
]
# Unprintable characters, and line breaks in YAML 1.1 only (NEL, LS, PS), and the BOM.
_UNPRINTABLE = re.compile(
    r"[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")

# A block scalar at the end of a text with no final line break: libyaml ends it there, and
# yaml-rs with a line break.
_BLOCK = re.compile(r"[|>]")
_DOC_START = re.compile(r"\n---(?=[ \t\n]|\Z)")
_CONTENT_LINE = re.compile(r"^[ \t]*[^\s#]", re.MULTILINE)


def documents(text: str) -> list[Any] | None:
    """The text's documents (empty ones as None), or None: read it the slow way."""
    if yaml_rs is None or not quick(text):
        return None
    count = _document_count("\n" + text)
    try:
        result = yaml_rs.loads(text, parse_datetime=False)
    except Exception:  # any refusal: the slow path words the finding
        return None
    if count == 0:
        return [] if result is None else None
    if count == 1:
        return [result]
    if isinstance(result, list) and len(result) == count:
        return result
    return None


def read(text: str) -> list[Any] | None:
    """documents() for a caller that has not measured the text's nesting (a build's output,
    an object after substitution): None, the slow way, for one too deep to compose."""
    return None if yamlio.too_deep_to_compose(text) else documents(text)


def quick(text: str) -> bool:
    """Whether yaml-rs reads the text as ManifestLoader does (see the module's doc)."""
    if "\t" in text or "<<" in text:  # tabs; merge keys
        return False
    # Unprintable: in ASCII text, the control characters but the line break, which are
    # exactly what str.isprintable() refuses.
    if not text.replace("\n", "").isprintable() if text.isascii() else \
            _UNPRINTABLE.search(text):
        return False
    if not text.endswith("\n") and _BLOCK.search(text):
        return False
    lined = "\n" + text  # the first line starts after a line break too
    spaced = text.endswith(" ")  # searched with every pattern (a last line of spaces)
    return not (_TOKEN.search(text) or _WORD.search(lined)
                or any((spaced or any(map(lined.__contains__, needles)))
                       and rx.search(lined) for needles, rx in _OTHER))


def _document_count(lined: str) -> int:
    """Documents in a text (after a leading line break) without directives or `...` lines
    (quick() refused those): one per `---` line, and one before the first if anything but
    comments precedes it."""
    first = _DOC_START.search(lined)
    head = lined if first is None else lined[:first.start()]
    return len(_DOC_START.findall(lined)) + (1 if _CONTENT_LINE.search(head) else 0)
