"""Cases transcribed from github.com/fluxcd/pkg/envsubst v1.7.1 (the version flux v2.9.5 pins):
eval_test.go (TestExpand, TestExpandStrict), funcs_test.go (written here as the expression that
calls the same function with the same arguments) and parse/parse_test.go (TestParse, its nested
ListNodes flattened into the node sequence). Expected values are upstream's, not ours.
"""

from __future__ import annotations

from typing import NamedTuple

from outfitter.repo.envsubst import Func, Node, Text


class Case(NamedTuple):
    params: dict[str, str]
    input: str
    output: str


class StrictCase(NamedTuple):
    params: dict[str, str]
    input: str
    output: str
    unset: bool  # upstream wants errVarNotSet


# eval_test.go TestExpand (mapping: params[s], true — Flux's non-strict mode)
EXPAND = [
    Case({}, "abcdEFGH28ij", "abcdEFGH28ij"),
    Case({"var01": "abcdEFGH28ij"}, "${#var01}", "12"),
    Case({"var01": "abcdEFGH28ij"}, "${var01^}", "AbcdEFGH28ij"),
    Case({"var01": "abcdEFGH28ij"}, "${var01^^}", "ABCDEFGH28IJ"),
    Case({"var01": "ABCDEFGH28IJ"}, "${var01,}", "aBCDEFGH28IJ"),
    Case({"var01": "ABCDEFGH28IJ"}, "${var01,,}", "abcdefgh28ij"),
    Case({"path_name": "/home/bozo/ideas/thoughts.for.today"}, "${path_name:11}",
         "ideas/thoughts.for.today"),
    Case({"path_name": "/home/bozo/ideas/thoughts.for.today"}, "${path_name:11:5}", "ideas"),
    Case({"var": "abc"}, "${var=xyz}", "abc"),
    Case({}, "${var=xyz}", "xyz"),
    Case({"default_var": "foo"}, "something ${var=${default_var}}", "something foo"),
    Case({"default_var": "foo1"}, "foo: ${var=${default_var}-suffix}", "foo: foo1-suffix"),
    Case({"default_var": "foo1"}, "foo: ${var=prefix${default_var}-suffix}",
         "foo: prefixfoo1-suffix"),
    Case({}, "${var:=xyz}", "xyz"),
    Case({"stringZ": "abcABC123ABCabc"}, "${stringZ/%abc/XYZ}", "abcABC123ABCXYZ"),
    Case({"stringZ": "abcABC123ABCabc"}, "${stringZ/#abc/XYZ}", "XYZABC123ABCabc"),
    Case({"stringZ": "abcABC123ABCabc"}, "${stringZ//abc/xyz}", "xyzABC123ABCxyz"),
    Case({"stringZ": "abcABC123ABCabc"}, "${stringZ/abc/xyz}", "xyzABC123ABCabc"),
    Case({"filename": "bash.string.txt"}, "${filename#*.}", "string.txt"),
    Case({"filename": "path/to/file"}, "${filename#*/}", "to/file"),
    Case({"filename": "/path/to/file"}, "${filename#*/}", "path/to/file"),
    Case({"filename": "bash.string.txt"}, "${filename##*.}", "txt"),
    Case({"filename": "path/to/file"}, "${filename##*/}", "file"),
    Case({"filename": "/path/to/file"}, "${filename##*/}", "file"),
    Case({"filename": "bash.string.txt"}, "${filename%.*}", "bash.string"),
    Case({"filename": "bash.string.txt"}, "${filename%%.*}", "bash"),
    Case({"var01": "abcdEFGH28ij"}, "${var=${var01^^}}", "ABCDEFGH28IJ"),
    Case({"var01": "abcdEFGH28ij"}, "$${var01}", "${var01}"),
    Case({"var01": "abcdEFGH28ij"}, "some text ${var01}$${var$${var01}$var01${var01}",
         "some text abcdEFGH28ij${var${var01}$var01abcdEFGH28ij"),
    Case({"default_var": "foo"}, "something $${var=${default_var}}", "something ${var=foo}"),
    Case({"stringZ": "foo/bar"}, r"${stringZ/\//-}", "foo-bar"),
    Case({"stringZ": "foo/bar/baz"}, r"${stringZ//\//-}", "foo-bar-baz"),
    Case({"default_var": "foo"}, "\\\\something ${var=${default_var}}", "\\\\something foo"),
    Case({"stringZ": "foo.bar"}, "${stringZ/./}", "foobar"),
]

# eval_test.go TestExpandStrict (mapping: v, exists := params[s])
EXPAND_STRICT = [
    StrictCase({}, "abcdEFGH28ij", "abcdEFGH28ij", False),
    StrictCase({"foo": "bar"}, "${foo}", "bar", False),
    StrictCase({"foo": ""}, "${foo}", "", False),
    StrictCase({}, "${missing}", "", True),
    StrictCase({"foo": "bar"}, "${missing:=default}", "default", False),
    StrictCase({}, "${#missing}", "", True),
    StrictCase({}, "${missing^}", "", True),
    StrictCase({}, "${missing^^}", "", True),
    StrictCase({}, "${missing,}", "", True),
    StrictCase({}, "${missing,,}", "", True),
    StrictCase({}, "${missing:0}", "", True),
    StrictCase({}, "${missing:0:10}", "", True),
    StrictCase({}, "${missing/pattern/replacement}", "", True),
    StrictCase({}, "${missing//pattern/replacement}", "", True),
    StrictCase({}, "${missing/#pattern/replacement}", "", True),
    StrictCase({}, "${missing/%pattern/replacement}", "", True),
    StrictCase({}, "${missing#pattern}", "", True),
    StrictCase({}, "${missing##pattern}", "", True),
    StrictCase({}, "${missing%pattern}", "", True),
    StrictCase({}, "${missing%%pattern}", "", True),
    StrictCase({}, "${missing:-fallback}", "fallback", False),
    StrictCase({}, "${missing:=assigned}", "assigned", False),
    StrictCase({}, "${missing=assigned}", "assigned", False),
]

# funcs_test.go: toLen, toLower, toLowerFirst, toUpper, toUpperFirst, toDefault and toSubstr
# with upstream's arguments, reached through the expression that calls them.
_HW, _DIGITS = "Hello World", "123456789123456789"
FUNCS = [
    Case({"v": _HW}, "${#v}", "11"),
    Case({"v": _HW}, "${v,,}", "hello world"),
    Case({"v": "HELLO WORLD"}, "${v,}", "hELLO WORLD"),
    Case({"v": ""}, "${v,}", ""),  # Test_lowerFirst: the empty string does not panic
    Case({"v": _HW}, "${v^^}", "HELLO WORLD"),
    Case({"v": "hello world"}, "${v^}", "Hello world"),
    Case({"v": ""}, "${v^}", ""),
    Case({"v": _HW}, "${v:=Hola Mundo}", _HW),
    Case({"v": ""}, "${v:=Hola Mundo}", "Hola Mundo"),
    Case({"v": _DIGITS}, "${v:0:8}", "12345678"),
    Case({"v": _DIGITS}, "${v:1:8}", "23456789"),
    Case({"v": _DIGITS}, "${v:9}", "123456789"),
    Case({"v": _DIGITS}, "${v:9:50}", "123456789"),
    Case({"v": "12345678"}, "${v:9:1}", ""),
    Case({"v": "hello world"}, "${v:2:-1}", "llo worl"),
    Case({"v": "hello world"}, "${v:0:-3}", "hello wo"),
    Case({"v": "hello world"}, "${v:8:-8}", ""),
]
# Upstream calls toSubstr(s, "-3", "2") -> "78" and toSubstr(s, "-300", "3") -> "123" and
# toSubstr("hello world", "-4", "-1") -> "orl" directly. No expression reaches them: the parser
# reads `${v:-3:2}` as the default operator `:-` (as bash does), and `${v: -3:2}` passes " -3",
# which strconv.Atoi rejects. They are checked on the function itself.
SUBSTR_CALLS = [
    (_DIGITS, ["-3", "2"], "78"),
    (_DIGITS, ["-300", "3"], "123"),
    ("hello world", ["-4", "-1"], "orl"),
]
# Test_default's three-argument call toDefault("", "Hola Mundo", "-Bonjour le monde",
# "-Halló heimur"): arguments are joined without a separator.
DEFAULT_CALLS = [
    ("", ["Hola Mundo", "-Bonjour le monde", "-Halló heimur"],
     "Hola Mundo-Bonjour le monde-Halló heimur"),
]


def _f(param: str, name: str = "", *args: Node) -> Func:
    return Func(param, name, tuple(args))


# parse/parse_test.go TestParse
PARSE: list[tuple[str, list[Node]]] = [
    ("text", [Text("text")]),
    ("}text", [Text("}text")]),
    ("http://github.com", [Text("http://github.com")]),
    ("$${string}", [Text("${string}")]),
    ("$$string", [Text("$string")]),
    (r"\\.\pipe\pipename", [Text(r"\\.\pipe\pipename")]),
    ("${string}", [_f("string")]),
    ("${string,}", [_f("string", ",")]),
    ("${string,,}", [_f("string", ",,")]),
    ("${string^}", [_f("string", "^")]),
    ("${string^^}", [_f("string", "^^")]),
    ("${string:position}", [_f("string", ":", Text("position"))]),
    ("${string:position:length}", [_f("string", ":", Text("position"), Text("length"))]),
    ("${string#substring}", [_f("string", "#", Text("substring"))]),
    ("${string##substring}", [_f("string", "##", Text("substring"))]),
    ("${string%substring}", [_f("string", "%", Text("substring"))]),
    ("${string%%substring}", [_f("string", "%%", Text("substring"))]),
    ("${string/substring/replacement}",
     [_f("string", "/", Text("substring"), Text("replacement"))]),
    ("${string//substring/replacement}",
     [_f("string", "//", Text("substring"), Text("replacement"))]),
    ("${string/#substring/replacement}",
     [_f("string", "/#", Text("substring"), Text("replacement"))]),
    ("${string/%substring/replacement}",
     [_f("string", "/%", Text("substring"), Text("replacement"))]),
    ("${string=default}", [_f("string", "=", Text("default"))]),
    ("${string:=default}", [_f("string", ":=", Text("default"))]),
    ("${string:-default}", [_f("string", ":-", Text("default"))]),
    ("${string:?default}", [_f("string", ":?", Text("default"))]),
    ("${string:+default}", [_f("string", ":+", Text("default"))]),
    ("${#string}", [_f("string", "#")]),
    ("${string#$%:*{}", [_f("string", "#", Text("$%:*{"))]),
    ("hello ${#string} world", [Text("hello "), _f("string", "#"), Text(" world")]),
    (r"\\ hello ${#string} world \\",
     [Text(r"\\ hello "), _f("string", "#"), Text(r" world \\")]),
    (r"${string/\/position/length}", [_f("string", "/", Text("/position"), Text("length"))]),
    (r"${string/\/position\\/length}",
     [_f("string", "/", Text("/position\\"), Text("length"))]),
    (r"${string/position/\/length}", [_f("string", "/", Text("position"), Text("/length"))]),
    (r"${string/position/\/length\\}",
     [_f("string", "/", Text("position"), Text("/length\\"))]),
    (r"${string/position/\/leng\\th}",
     [_f("string", "/", Text("position"), Text("/leng\\th"))]),
    ("${string:${position}}", [_f("string", ":", _f("position"))]),
    ("${string:${stringy:position:length}:${stringz,,}}",
     [_f("string", ":", _f("stringy", ":", Text("position"), Text("length")),
         _f("stringz", ",,"))]),
    ("${string#${stringz}}", [_f("string", "#", _f("stringz"))]),
    ("${string=${stringz}}", [_f("string", "=", _f("stringz"))]),
    ("${string=prefix-${var}}", [_f("string", "=", Text("prefix-"), _f("var"))]),
    ("${string=${var}-suffix}", [_f("string", "=", _f("var"), Text("-suffix"))]),
    ("${string=prefix-${var}-suffix}",
     [_f("string", "=", Text("prefix-"), _f("var"), Text("-suffix"))]),
    ("${string=prefix${var} suffix}",
     [_f("string", "=", Text("prefix"), _f("var"), Text(" suffix"))]),
    ("${string//${stringy}/${stringz}}", [_f("string", "//", _f("stringy"), _f("stringz"))]),
]
