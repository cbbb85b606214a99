"""Deterministic YAML output: same objects, same bytes.

PyYAML's safe dumper with insertion order kept (outfitter builds dicts in a fixed order),
no anchors/aliases, block style, and multi-line strings as literal blocks so that
embedded configs (Falco rules, Renovate JSON, policies) stay readable in a diff.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # Indent sequences under their key, as kubectl and the Flux community write them.
        super().increase_indent(flow, False)


def _str_representer(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    if "\n" in data:
        text = "\n".join(line.rstrip() for line in data.split("\n"))
        return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _str_representer)


def dump(obj: Any) -> str:
    return yaml.dump(obj, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=120)


def dump_all(objs: Iterable[Any]) -> str:
    return "".join("---\n" + dump(o) for o in objs)


_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present


class Loader(_BaseLoader):  # type: ignore[misc]
    """Safe loading, in C when libyaml is there. A plain `=` is a string, as in YAML 1.2 and
    Kubernetes (PyYAML would otherwise read it as the obsolete `!!value` tag)."""


Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:value"]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}


def load_all(text: str) -> list[Any]:
    return [d for d in yaml.load_all(text, Loader=Loader) if d is not None]


def load(text: str) -> Any:
    return yaml.load(text, Loader=Loader)
