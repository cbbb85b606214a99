"""A credential an add-on needs, independent of how the cluster gets its secrets.

An add-on asks for "Secret `name` in `namespace` with these keys"; each key's value comes from
a `Source` (an item and a property of it). With External Secrets the source is an item of the
secret store; with SOPS it names a credential outfitter either generates (in-cluster object
storage keys, basic-auth users) or leaves to the user as an encrypted placeholder (an external
S3 endpoint, DNS API tokens). `SopsSecret` is the plain Secret the render step encrypts.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import string
from dataclasses import dataclass
from typing import Any, Literal

Generator = Literal["access-key", "secret", "htpasswd"]
BASIC_AUTH_USER = "admin"
PLACEHOLDER_PREFIX = "REPLACE-ME"

_UPPER_DIGITS = string.ascii_uppercase + string.digits
_ALNUM = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Source:
    item: str
    prop: str
    """The property of the item (a key of the secret store item)."""
    generate: Generator | None = None
    """None: the user owns the value (a placeholder until `sops edit`)."""

    @property
    def key(self) -> tuple[str, str]:
        return (self.item, self.prop)


class SopsSecret(dict[str, Any]):
    """A Secret whose values the render step fills in and encrypts with sops.

    The mapping is the Secret as written, with `stringData` holding the templates (only
    `{{ .var }}` placeholders, never a value); `sources` says where each variable comes from.
    """

    def __init__(self, obj: dict[str, Any], sources: dict[str, Source]) -> None:
        super().__init__(obj)
        self.sources = sources

    @property
    def templates(self) -> dict[str, str]:
        return dict(self.get("stringData") or {})

    @property
    def user_owned(self) -> list[Source]:
        return [s for s in self.sources.values() if s.generate is None]


_VAR = re.compile(r"\{\{\s*\.([A-Za-z_][A-Za-z0-9_-]*)\s*\}\}")


def fill(template: str, values: dict[str, str]) -> str:
    """The template with `{{ .var }}` replaced (the subset of Go templates add-ons use)."""
    return _VAR.sub(lambda m: values[m.group(1)], template)


def variables(template: str) -> list[str]:
    return _VAR.findall(template)


def recover(template: str, filled: str) -> dict[str, str] | None:
    """The variables a filled-in template was made from, or None if it does not match."""
    # Groups are g0, g1, …: variable names may hold a `-`, which a group name may not.
    pattern, names, last = "", list[str](), 0
    for m in _VAR.finditer(template):
        pattern += re.escape(template[last:m.start()])
        name = m.group(1)
        if name in names:
            pattern += f"(?P=g{names.index(name)})"
        else:
            pattern += f"(?P<g{len(names)}>.*?)"
            names.append(name)
        last = m.end()
    pattern += re.escape(template[last:])
    match = re.fullmatch(pattern, filled, re.DOTALL)
    return None if match is None else {n: match.group(f"g{i}") for i, n in enumerate(names)}


def placeholder(source: Source) -> str:
    return f"{PLACEHOLDER_PREFIX}-{source.item}-{source.prop}"


def generate(source: Source, known: dict[tuple[str, str], str]) -> str:
    """A new value: random from the OS (`secrets`), or derived from the item's password."""
    if source.generate == "access-key":
        return "".join(secrets.choice(_UPPER_DIGITS) for _ in range(20))
    if source.generate == "secret":
        return "".join(secrets.choice(_ALNUM) for _ in range(40))
    if source.generate == "htpasswd":
        password = known[(source.item, "password")]
        return htpasswd_line(BASIC_AUTH_USER, password)
    raise ValueError(f"{source.item}/{source.prop} is not generated")


def htpasswd_line(user: str, password: str) -> str:
    """`user:{SHA}…`: the one hash both envoy-gateway's basic auth and Traefik accept."""
    digest = base64.b64encode(hashlib.sha1(password.encode()).digest()).decode()
    return f"{user}:{{SHA}}{digest}"


def sops_path(tree: str, namespace: str, addon: str, folder: str, secret: SopsSecret) -> str:
    """Where a Secret to encrypt is written, relative to the repository's root: its own
    `<name>.sops.yaml` beside the add-on's other objects (what `.sops.yaml` rules match)."""
    return f"{tree.strip('/')}/{namespace}/{addon}/{folder}/{secret['metadata']['name']}.sops.yaml"
