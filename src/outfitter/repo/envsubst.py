"""Flux's postBuild variable substitution, as github.com/fluxcd/pkg/envsubst (v1.7.1, the version
flux v2.9 and kustomize-controller use) does it, quirks included.

The package is a port of a hand-written scanner and parser, kept close to the Go code on
purpose: its behaviour is defined by that code, not by bash. What it does, in short:

- only `${...}` is an expression; a bare `$VAR` is text. `$$` is an escape for `$` anywhere in
  text (`$${VAR}` is the literal `${VAR}`, `$$x` is `$x`).
- `${VAR}`; `${#VAR}` (length in bytes); `${VAR^}` `${VAR^^}` `${VAR,}` `${VAR,,}`;
  `${VAR:pos}` `${VAR:pos:len}` (bytes, negative counts from the end);
  `${VAR#pat}` `${VAR##pat}` `${VAR%pat}` `${VAR%%pat}` (glob patterns);
  `${VAR/a/b}` `${VAR//a/b}` `${VAR/#a/b}` `${VAR/%a/b}` (plain text, `\\/` is a slash);
  `${VAR=d}` `${VAR:=d}` `${VAR:-d}` `${VAR:+d}` `${VAR:?d}`: every one of these is "the value,
  or `d` when the value is empty" (`:+` and `:?` do not do what bash does); arguments may hold
  nested `${...}`.
- `${VAR-d}`, `${VAR+d}` and `${VAR?d}` are not parsed: "missing closing brace".
- non-strict (kustomize-controller's default): an unset variable is an empty string.
  Strict (`--feature-gates=StrictPostBuildSubstitutions=true`, `flux envsubst --strict`): an
  unset variable is an error unless its operator supplies a default (`=`, `:=`, `:-`, ...).

Where the Go code would emit bytes that are not UTF-8 (a substring or pattern cut inside a
multi-byte character) this module raises `EnvsubstError` instead: a manifest like that fails
in Flux too, at the YAML-to-JSON step after substitution.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

# kustomize-controller (fluxcd/pkg/kustomize, kustomize_varsub.go)
SUBSTITUTE_KEY = "kustomize.toolkit.fluxcd.io/substitute"
DISABLED_VALUE = "disabled"
_VAR_NAME = re.compile(r"[_A-Za-z][_A-Za-z0-9]*")  # Go's [:alpha:] and [:digit:] are ASCII
_DEFAULT_OPS = frozenset({"-", "+", "=", "?", ":-", ":+", ":=", ":?"})


class EnvsubstError(ValueError):
    """A text Flux cannot substitute; the message is one line, as Flux's own."""


class UnsetVariableError(EnvsubstError):
    """Strict mode: a variable without a value or default."""

    def __init__(self, name: str) -> None:
        super().__init__(f'variable not set (strict mode): "{name}"')
        self.name = name


# -- the parse tree (envsubst/parse/node.go) --------------------------------------------------


@dataclass(frozen=True)
class Text:
    value: str


@dataclass(frozen=True)
class Func:
    param: str  # the variable's name
    name: str  # the operator: "" for ${VAR}, ":=", "//", "^^", ...
    args: tuple[Node, ...] = ()


Node = Text | Func


# -- the scanner (envsubst/parse/scan.go), on code points -------------------------------------
# Go scans bytes and decodes runes; every character the scanner tests for is ASCII, so code
# point positions behave as byte positions do there.

_EOF = "\x00"  # as in Go, a NUL character in the text reads as the end
_TOKEN_ILLEGAL, _TOKEN_EOF, _TOKEN_IDENT, _TOKEN_LBRACK, _TOKEN_RBRACK = range(5)
_SCAN_IDENT, _SCAN_LBRACK, _SCAN_RBRACK, _SCAN_ESCAPE = 1, 2, 4, 8
_DOLLAR, _BACKSLASH = 1, 2
_ESCAPE_ALL = _DOLLAR | _BACKSLASH

Accept = Callable[[str, int], bool]


def _is_letter(r: str) -> bool:
    return unicodedata.category(r).startswith("L")  # Go's unicode.IsLetter


def _accept_rune(r: str, i: int) -> bool:
    return True


def _accept_ident(r: str, i: int) -> bool:
    return _is_letter(r) or unicodedata.category(r) == "Nd" or r == "_"


def _accept_colon(r: str, i: int) -> bool:
    return r == ":"


def _accept_one_hash(r: str, i: int) -> bool:
    return r == "#" and i == 1


def _accept_not_closing(r: str, i: int) -> bool:
    return r != "}"


def _accept_hash_func(r: str, i: int) -> bool:
    return r == "#" and i < 3


def _accept_percent_func(r: str, i: int) -> bool:
    return r == "%" and i < 3


def _accept_default_func(r: str, i: int) -> bool:
    return (i == 1 and r == ":") or (i == 2 and r in "=-?+")


def _accept_replace_func(r: str, i: int) -> bool:
    return (i == 1 and r == "/") or (i == 2 and r in "/#%")


def _accept_one_equal(r: str, i: int) -> bool:
    return i == 1 and r == "="


def _accept_one_colon(r: str, i: int) -> bool:
    return i == 1 and r == ":"


def _reject_colon_close(r: str, i: int) -> bool:
    return r not in ":}"


def _accept_slash(r: str, i: int) -> bool:
    return r == "/"


def _accept_not_slash(r: str, i: int) -> bool:
    return r != "/"


def _accept_casing_func(r: str, i: int) -> bool:
    return r in ",^" and i < 3


class _Scanner:
    def __init__(self, buf: str) -> None:
        self.buf = buf
        self.pos = 0
        self.start = 0
        self.width = 0
        self.mode = 0
        self.escape_chars = 0
        self.accept: Accept = _accept_rune

    def read(self) -> str:
        if self.pos >= len(self.buf):
            self.width = 0
            return _EOF
        self.width = 1
        self.pos += 1
        return self.buf[self.pos - 1]

    def unread(self) -> None:
        self.pos -= self.width

    def skip(self) -> None:
        # drops the escape character just read; the escaped one after it is taken as is
        self.buf = self.buf[: self.pos - 1] + self.buf[self.pos :]

    def peek(self) -> str:
        r = self.read()
        self.unread()
        return r

    def string(self) -> str:
        return self.buf[self.start : self.pos]

    def scan(self) -> int:
        self.start = self.pos
        r = self.read()
        if r == _EOF:
            return _TOKEN_EOF
        if self._scan_lbrack(r):
            return _TOKEN_LBRACK
        if self._scan_rbrack(r):
            return _TOKEN_RBRACK
        if self._scan_ident(r):
            return _TOKEN_IDENT
        return _TOKEN_ILLEGAL

    def _scan_ident(self, r: str) -> bool:
        if not self.mode & _SCAN_IDENT:
            return False
        if self._scan_escaped(r):
            self.skip()
        elif not self.accept(r, self.pos - self.start):
            return False
        while True:
            r = self.read()
            if r == _EOF:
                self.unread()
                break
            if self._scan_lbrack(r):
                self.unread()
                self.unread()
                break
            if self._scan_escaped(r):
                self.skip()
                continue
            if not self.accept(r, self.pos - self.start):
                self.unread()
                break
        return True

    def _scan_lbrack(self, r: str) -> bool:
        if not self.mode & _SCAN_LBRACK:
            return False
        if r == "$":
            if self.read() == "{":
                return True
            self.unread()
        return False

    def _scan_rbrack(self, r: str) -> bool:
        return bool(self.mode & _SCAN_RBRACK) and r == "}"

    def _scan_escaped(self, r: str) -> bool:
        if not self.mode & _SCAN_ESCAPE:
            return False
        if r == "$" and self.escape_chars & _DOLLAR and self.peek() == "$":
            return True
        return r == "\\" and bool(self.escape_chars & _BACKSLASH) and self.peek() in "/\\"


# -- the parser (envsubst/parse/parse.go) -----------------------------------------------------

_BAD_SUBSTITUTION = "bad substitution"
_MISSING_CLOSING_BRACE = "missing closing brace"
_PARSE_VARIABLE_NAME = "unable to parse variable name"
_PARSE_FUNC_SUBSTITUTION = "unable to parse substitution within function"
_PARSE_DEFAULT_FUNCTION = "unable to parse default function"
_MAX_DEPTH = 64  # nested ${...} in arguments: Go has no limit, Python's stack has one


# `${NAME}` and `${NAME<default op>text}` with an ASCII name and plain text: what the scanner
# reads them as is plain (every other shape goes through the scanner)
_SIMPLE = re.compile(r"\$\{([A-Za-z0-9_]+)(?:(=|:=|:-|:\+|:\?)([^${}]*))?\}")


def _scan_text(buf: str, pos: int) -> tuple[str, int]:
    """What the scanner's text token holds from pos (`$$` read as `$`), and where `${` or the
    end is."""
    parts: list[str] = []
    while True:
        dollar = buf.find("$", pos)
        if dollar < 0:
            parts.append(buf[pos:])
            return "".join(parts), len(buf)
        parts.append(buf[pos:dollar])
        following = buf[dollar + 1 : dollar + 2]
        if following == "{":
            return "".join(parts), dollar
        parts.append("$")
        pos = dollar + (2 if following == "$" else 1)


class _ParseError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Parser:
    def __init__(self, text: str) -> None:
        self.s = _Scanner(text)
        self.depth = 0
        self.func_start = 0  # where the outermost ${ being parsed starts, for messages

    def parse(self) -> list[Node]:
        # Go recurses once per token here; a loop gives the same nodes without its depth
        nodes: list[Node] = []
        s = self.s
        fast = _EOF not in s.buf
        while True:
            if fast:  # the common shapes at regex speed, with the nodes the scanner makes
                text, s.pos = _scan_text(s.buf, s.pos)
                if text:
                    nodes.append(Text(text))
                simple = _SIMPLE.match(s.buf, s.pos)
                if simple:
                    name, op, default = simple.groups()
                    args = (Text(default),) if default else ()
                    nodes.append(Func(name, op or "", args))
                    s.pos = simple.end()
                    continue
            s.accept = _accept_rune
            s.mode = _SCAN_IDENT | _SCAN_LBRACK | _SCAN_ESCAPE
            s.escape_chars = _DOLLAR
            token = s.scan()
            if token == _TOKEN_IDENT:
                nodes.append(Text(s.string()))
            elif token == _TOKEN_EOF:
                return nodes
            elif token == _TOKEN_LBRACK:
                self.func_start = s.start
                nodes.append(self.parse_func())
            else:
                raise _ParseError(_BAD_SUBSTITUTION)

    def parse_func(self) -> Func:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise _ParseError(f"more than {_MAX_DEPTH} nested expressions")
        try:
            return self._parse_func()
        finally:
            self.depth -= 1

    def _parse_func(self) -> Func:
        s = self.s
        s.escape_chars = _ESCAPE_ALL
        if s.peek() == "#":
            return self.parse_len_func()
        s.accept = _accept_ident
        s.mode = _SCAN_IDENT
        if s.scan() != _TOKEN_IDENT:
            raise _ParseError(_PARSE_VARIABLE_NAME)
        name = s.string()
        following = s.peek()
        if following == ":":
            return self.parse_default_or_substr(name)
        if following == "=":
            return self.parse_default_func(name)
        if following in (",", "^"):
            return self.parse_casing_func(name)
        if following == "/":
            return self.parse_replace_func(name)
        if following == "#":
            return self.parse_remove_func(name, _accept_hash_func)
        if following == "%":
            return self.parse_remove_func(name, _accept_percent_func)
        s.accept = _accept_ident
        s.mode = _SCAN_RBRACK
        if s.scan() != _TOKEN_RBRACK:
            raise _ParseError(_MISSING_CLOSING_BRACE)
        return Func(name, "")

    def parse_param(self, accept: Accept, mode: int) -> Node:
        s = self.s
        s.accept = accept
        s.mode = mode | _SCAN_LBRACK
        token = s.scan()
        if token == _TOKEN_LBRACK:
            return self.parse_func()
        if token in (_TOKEN_IDENT, _TOKEN_RBRACK):
            return Text(s.string())
        raise _ParseError(_PARSE_FUNC_SUBSTITUTION)

    def operator(self, accept: Accept, error: str = _BAD_SUBSTITUTION) -> str:
        s = self.s
        s.accept = accept
        s.mode = _SCAN_IDENT
        if s.scan() != _TOKEN_IDENT:
            raise _ParseError(error)
        return s.string()

    def parse_default_or_substr(self, name: str) -> Func:
        s = self.s
        s.read()
        following = s.peek()
        s.unread()
        if following in ("=", "-", "?", "+"):
            return self.parse_default_func(name)
        return self.parse_substr_func(name)

    def parse_substr_func(self, name: str) -> Func:
        s = self.s
        op = self.operator(_accept_one_colon)
        args = [self.parse_param(_reject_colon_close, _SCAN_IDENT)]
        s.accept = _accept_colon
        s.mode = _SCAN_IDENT | _SCAN_RBRACK
        token = s.scan()
        if token == _TOKEN_RBRACK:
            return Func(name, op, tuple(args))
        if token != _TOKEN_IDENT:
            raise _ParseError(_BAD_SUBSTITUTION)
        args.append(self.parse_param(_accept_not_closing, _SCAN_IDENT))
        self.consume_rbrack()
        return Func(name, op, tuple(args))

    def parse_remove_func(self, name: str, accept: Accept) -> Func:
        op = self.operator(accept)
        arg = self.parse_param(_accept_not_closing, _SCAN_IDENT)
        self.consume_rbrack()
        return Func(name, op, (arg,))

    def parse_replace_func(self, name: str) -> Func:
        s = self.s
        op = self.operator(_accept_replace_func)
        args = [self.parse_param(_accept_not_slash, _SCAN_IDENT | _SCAN_ESCAPE)]
        self.operator(_accept_slash)  # the delimiter
        if s.peek() != "}":
            args.append(self.parse_param(_accept_not_closing, _SCAN_IDENT | _SCAN_ESCAPE))
        self.consume_rbrack()
        return Func(name, op, tuple(args))

    def parse_default_func(self, name: str) -> Func:
        s = self.s
        accept = _accept_one_equal if s.peek() == "=" else _accept_default_func
        op = self.operator(accept, _PARSE_DEFAULT_FUNCTION)
        args: list[Node] = []
        while s.peek() != "}":
            args.append(self.parse_param(_accept_not_closing, _SCAN_IDENT))
        self.consume_rbrack()
        return Func(name, op, tuple(args))

    def parse_casing_func(self, name: str) -> Func:
        op = self.operator(_accept_casing_func)
        self.consume_rbrack()
        return Func(name, op)

    def parse_len_func(self) -> Func:
        op = self.operator(_accept_one_hash)
        param = self.operator(_accept_ident)
        self.consume_rbrack()
        return Func(param, op)

    def consume_rbrack(self) -> None:
        self.s.mode = _SCAN_RBRACK
        if self.s.scan() != _TOKEN_RBRACK:
            raise _ParseError(_BAD_SUBSTITUTION)


def parse(text: str) -> list[Node]:
    """The text as Flux's envsubst reads it: text runs and `${...}` expressions."""
    parser = _Parser(text)
    try:
        return parser.parse()
    except _ParseError as err:
        raise EnvsubstError(_describe(err.reason, text, parser.func_start)) from None


def _describe(reason: str, text: str, start: int) -> str:
    line = text.count("\n", 0, start) + 1
    snippet = text[start:].split("\n", 1)[0]
    if len(snippet) > 60:
        snippet = snippet[:57] + "..."
    return f"{reason} (line {line}: {snippet})"


# -- the functions (envsubst/funcs.go) --------------------------------------------------------
# Go's strings are bytes: lengths, offsets and patterns work on UTF-8 bytes.


def _simple_lower(c: str) -> str:
    # Go maps one rune to one rune (Unicode's simple case mapping); Python's may give two
    low = c.lower()
    if len(low) == 1:
        return low
    return "i" if c == "\u0130" else c


def _simple_upper(c: str) -> str:
    up = c.upper()
    if len(up) == 1:
        return up
    title = c.title()  # Greek letters with ypogegrammeni: their simple uppercase is titlecase
    return title if len(title) == 1 else c


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise EnvsubstError("the expression cuts a multi-byte character: Flux would "
                            "write bytes that are not UTF-8") from None


def _atoi(text: str) -> int | None:
    # strconv.Atoi: optional sign, ASCII digits, 64-bit range
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        return None
    value = int(text)
    return value if -(2**63) <= value < 2**63 else None


def _to_len(s: str, args: list[str]) -> str:
    return str(len(s.encode()))


def _to_lower(s: str, args: list[str]) -> str:
    return "".join(_simple_lower(c) for c in s)


def _to_upper(s: str, args: list[str]) -> str:
    return "".join(_simple_upper(c) for c in s)


def _to_lower_first(s: str, args: list[str]) -> str:
    return _simple_lower(s[0]) + s[1:] if s else s


def _to_upper_first(s: str, args: list[str]) -> str:
    return _simple_upper(s[0]) + s[1:] if s else s


def _to_default(s: str, args: list[str]) -> str:
    return "".join(args) if s == "" and args else s


def _to_substr(s: str, args: list[str]) -> str:
    if not args:
        return s
    pos = _atoi(args[0])
    if pos is None:
        return s  # as bash: an unparsable position gives the value
    data = s.encode()
    if pos < 0:
        pos = max(len(data) + pos, 0)
    if len(args) == 1:
        return _decode(data[pos:]) if pos < len(data) else ""
    length = _atoi(args[1])
    if length is None:
        return s
    if length < 0:
        end = len(data) + length
        return "" if end < pos else _decode(data[pos:end])
    if pos + length >= len(data):
        return _decode(data[pos:]) if pos < len(data) else ""
    return _decode(data[pos : pos + length])


def _replace_all(s: str, args: list[str]) -> str:
    if not args:
        return s
    return s.replace(args[0], args[1] if len(args) > 1 else "")


def _replace_first(s: str, args: list[str]) -> str:
    if not args:
        return s
    return s.replace(args[0], args[1] if len(args) > 1 else "", 1)


def _replace_prefix(s: str, args: list[str]) -> str:
    if len(args) != 2:
        return s
    return s.replace(args[0], args[1], 1) if s.startswith(args[0]) else s


def _replace_suffix(s: str, args: list[str]) -> str:
    if len(args) != 2:
        return s
    if s.endswith(args[0]):
        return s[: len(s) - len(args[0])] + args[1]
    return s


def _trim_shortest_prefix(s: str, args: list[str]) -> str:
    return _decode(_trim_shortest(s.encode(), args[0].encode())) if args else s


def _trim_longest_prefix(s: str, args: list[str]) -> str:
    return _decode(_trim_longest(s.encode(), args[0].encode())) if args else s


def _trim_shortest_suffix(s: str, args: list[str]) -> str:
    if not args:
        return s
    return _decode(_reverse(_trim_shortest(_reverse(s.encode()), _reverse(args[0].encode()))))


def _trim_longest_suffix(s: str, args: list[str]) -> str:
    if not args:
        return s
    return _decode(_reverse(_trim_longest(_reverse(s.encode()), _reverse(args[0].encode()))))


def _reverse(data: bytes) -> bytes:
    # Go's []rune(s) reversed: each byte that is not UTF-8 becomes U+FFFD
    runes: list[str] = []
    while data:
        r, n = _decode_rune(data)
        runes.append(chr(r))
        data = data[n:]
    return "".join(reversed(runes)).encode()


def _trim_shortest(s: bytes, pattern: bytes) -> bytes:
    shortest = b""
    for i in range(len(s)):
        try:
            matched = _match(pattern, s[: len(s) - i])
        except _BadPattern:
            return s
        if matched:
            shortest = s[: len(s) - i]
    return s[len(shortest) :] if shortest else s


def _trim_longest(s: bytes, pattern: bytes) -> bytes:
    for i in range(len(s)):
        try:
            matched = _match(pattern, s[: len(s) - i])
        except _BadPattern:
            return s
        if matched:
            return s[len(s) - i :]
    return s


Function = Callable[[str, list[str]], str]


def _lookup(name: str, nargs: int) -> Function:
    table: dict[str, Function] = {
        ",": _to_lower_first, ",,": _to_lower, "^": _to_upper_first, "^^": _to_upper,
        "##": _trim_longest_prefix, "%": _trim_shortest_suffix, "%%": _trim_longest_suffix,
        ":": _to_substr, "/#": _replace_prefix, "/%": _replace_suffix,
        "/": _replace_first, "//": _replace_all,
    }
    if name == "#":
        return _to_len if nargs == 0 else _trim_shortest_prefix
    return table.get(name, _to_default)  # every other operator: "value, or the default"


# -- glob patterns (envsubst/path/match.go, Go's path.Match but a trailing * matches '/') ----


class _BadPattern(Exception):
    pass


_RUNE_ERROR = 0xFFFD


def _decode_rune(data: bytes) -> tuple[int, int]:
    if not data:
        return _RUNE_ERROR, 0
    lead = data[0]
    size = 1 if lead < 0x80 else 2 if lead >> 5 == 6 else 3 if lead >> 4 == 14 else \
        4 if lead >> 3 == 30 else 0
    if size == 0 or len(data) < size:
        return _RUNE_ERROR, 1
    try:
        return ord(data[:size].decode("utf-8")), size
    except UnicodeDecodeError:
        return _RUNE_ERROR, 1


def _match(pattern: bytes, name: bytes) -> bool:
    while pattern:
        star, chunk, pattern = _scan_chunk(pattern)
        if star and not chunk:
            return True  # the fork's change: a trailing * takes the rest, '/' included
        rest, ok = _match_chunk(chunk, name)
        if ok and (not rest or pattern):
            name = rest
            continue
        if star:
            for i in range(len(name)):
                rest, ok = _match_chunk(chunk, name[i + 1 :])
                if ok:
                    if not pattern and rest:
                        continue
                    name = rest
                    break
            else:
                return False
            continue
        return False
    return not name


def _scan_chunk(pattern: bytes) -> tuple[bool, bytes, bytes]:
    star = False
    while pattern[:1] == b"*":
        pattern = pattern[1:]
        star = True
    in_range = False
    i = 0
    while i < len(pattern):
        c = pattern[i : i + 1]
        if c == b"\\":
            if i + 1 < len(pattern):
                i += 1
        elif c == b"[":
            in_range = True
        elif c == b"]":
            in_range = False
        elif c == b"*" and not in_range:
            break
        i += 1
    return star, pattern[:i], pattern[i:]


def _match_chunk(chunk: bytes, s: bytes) -> tuple[bytes, bool]:
    """What is left of s after chunk matched its start; _BadPattern for a malformed chunk."""
    while chunk:
        if not s:
            return b"", False
        c = chunk[:1]
        if c == b"[":
            r, n = _decode_rune(s)
            s = s[n:]
            chunk = chunk[1:]
            negated = chunk[:1] == b"^"
            if negated:
                chunk = chunk[1:]
            matched = False
            nrange = 0
            while True:
                if chunk[:1] == b"]" and nrange > 0:
                    chunk = chunk[1:]
                    break
                lo, chunk = _get_esc(chunk)
                hi = lo
                if chunk[:1] == b"-":
                    hi, chunk = _get_esc(chunk[1:])
                if lo <= r <= hi:
                    matched = True
                nrange += 1
            if matched == negated:
                return b"", False
        elif c == b"?":
            _, n = _decode_rune(s)
            s = s[n:]
            chunk = chunk[1:]
        else:
            if c == b"\\":
                chunk = chunk[1:]
                if not chunk:
                    raise _BadPattern
            if chunk[0] != s[0]:
                return b"", False
            s = s[1:]
            chunk = chunk[1:]
    return s, True


def _get_esc(chunk: bytes) -> tuple[int, bytes]:
    if not chunk or chunk[:1] in (b"-", b"]"):
        raise _BadPattern
    if chunk[:1] == b"\\":
        chunk = chunk[1:]
        if not chunk:
            raise _BadPattern
    r, n = _decode_rune(chunk)
    if r == _RUNE_ERROR and n == 1:
        raise _BadPattern
    rest = chunk[n:]
    if not rest:
        raise _BadPattern
    return r, rest


# -- evaluation (envsubst/template.go) and the public API -------------------------------------

Lookup = Callable[[str], "str | None"]


def _evaluate(nodes: list[Node], lookup: Lookup, on_unset: Callable[[Func], None]) -> str:
    return "".join(_eval_node(node, lookup, on_unset) for node in nodes)


def _eval_node(node: Node, lookup: Lookup, on_unset: Callable[[Func], None]) -> str:
    if isinstance(node, Text):
        return node.value
    # arguments first, as in Go: a nested ${UNSET} fails strict mode even when not used
    args = [_eval_node(arg, lookup, on_unset) for arg in node.args]
    value = lookup(node.param)
    if value is None:
        if node.name not in _DEFAULT_OPS:
            on_unset(node)
        value = ""
    return _lookup(node.name, len(args))(value, args)


@dataclass(frozen=True)
class Expansion:
    text: str
    unset: tuple[str, ...]  # referenced without a value or a default, in order, once each


def expand(text: str, variables: Mapping[str, str]) -> Expansion:
    """Non-strict substitution (Flux's default), and the variables that became "" unasked."""
    unset: dict[str, None] = {}

    def note(func: Func) -> None:
        unset.setdefault(func.param)

    return Expansion(_evaluate(parse(text), variables.get, note), tuple(unset))


def substitute(text: str, variables: Mapping[str, str], *, strict: bool = False) -> str:
    """The text as Flux's envsubst leaves it. `EnvsubstError` for an expression Flux cannot
    parse; in strict mode `UnsetVariableError` for a variable with no value and no default."""
    def unset(func: Func) -> None:
        if strict:
            raise UnsetVariableError(func.param)

    return _evaluate(parse(text), variables.get, unset)


@dataclass(frozen=True)
class Reference:
    name: str
    operator: str  # "" for ${VAR}; ":=" for ${VAR:=x}; ...

    @property
    def has_default(self) -> bool:
        """Whether the expression gives a value of its own when the variable is unset."""
        return self.operator in _DEFAULT_OPS


def references(text: str) -> list[Reference]:
    """Every `${...}` of the text, nested ones included, in reading order."""
    def walk(nodes: Sequence[Node]) -> Iterator[Reference]:
        for node in nodes:
            if isinstance(node, Func):
                yield Reference(node.param, node.name)
                yield from walk(node.args)

    return list(walk(parse(text)))


def variable_names(text: str) -> list[str]:
    """The names of the variables the text references, sorted, once each."""
    return sorted({ref.name for ref in references(text)})


def has_expressions(text: str) -> bool:
    """Cheap pre-check: only a text with `${` can change (besides `$$` escapes)."""
    return "${" in text or "$$" in text


def flux_variables(values: Mapping[str, str]) -> dict[str, str]:
    """Values as kustomize-controller passes them to envsubst: newlines removed from each
    value; `EnvsubstError` for a name Flux refuses."""
    out: dict[str, str] = {}
    for name, value in values.items():
        if not _VAR_NAME.fullmatch(name):
            raise EnvsubstError(f"'{name}' var name is invalid, must match "
                                f"'^[_[:alpha:]][_[:alpha:][:digit:]]*$'")
        out[name] = value.replace("\n", "")
    return out


def substitution_runs(post_build: Mapping[str, object], variables: Mapping[str, object],
                      all_known: bool) -> bool:
    """Whether kustomize-controller substitutes a build at all. With the default
    `substituteStrategy: WithVariables` only when some variable is defined: with none (an
    empty `substitute: {}`, empty or missing optional sources), `${VAR}` reaches the
    cluster unchanged, as GrafanaDashboard `envs` expect. `Always` substitutes regardless.
    Sources whose values are not known here (`all_known` false) may define some."""
    return post_build.get("substituteStrategy") == "Always" or bool(variables) or \
        not all_known


def substitution_disabled(obj: Mapping[str, object]) -> bool:
    """`kustomize.toolkit.fluxcd.io/substitute: disabled` as a label or an annotation."""
    meta = obj.get("metadata")
    if not isinstance(meta, Mapping):
        return False
    for field in ("labels", "annotations"):
        values = meta.get(field)
        if isinstance(values, Mapping) and values.get(SUBSTITUTE_KEY) == DISABLED_VALUE:
            return True
    return False
