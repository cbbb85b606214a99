"""A diff for people (Rich), for programs (JSON) and for a pull-request comment (Markdown).
Same input, same bytes: owners and objects sorted, fields sorted by path."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape

from outfitter.diff.compare import ObjectChange, by_owner
from outfitter.diff.sides import Side

SIGN = {"added": "+", "removed": "-", "changed": "~"}
COLOUR = {"added": "green", "removed": "red", "changed": "yellow"}


def summary(changes: list[ObjectChange]) -> dict[str, int]:
    return {kind: sum(1 for c in changes if c.change == kind)
            for kind in ("added", "removed", "changed")}


def _counts(changes: list[ObjectChange]) -> str:
    numbers = summary(changes)
    return ", ".join(f"{numbers[k]} {k}" for k in ("added", "changed", "removed") if numbers[k])


def folded(problems: dict[str, list[str]]) -> list[tuple[str, str]]:
    """(sides, problem) in order, a problem both sides have once as "base and head": an
    offline diff of a repository with many charts not in the cache would list each twice."""
    sides = list(problems)
    out: list[tuple[str, str]] = []
    for side in sides:
        for line in problems[side]:
            shared = [s for s in sides if line in problems[s]]
            if len(shared) == 1:
                out.append((side, line))
            elif side == shared[0]:
                out.append((" and ".join(shared), line))
    return out


def print_diff(changes: list[ObjectChange], base: Side, head: Side,
               problems: dict[str, list[str]], console: Console) -> None:
    console.print(f"[bold]{escape(base.label)}[/] → [bold]{escape(head.label)}[/]")
    for side, line in folded(problems):
        console.print(f"[red]{side}[/]: {escape(line)}", soft_wrap=True)
    if not changes:
        console.print("no change to any object")
        return
    for owner, items in by_owner(changes).items():
        console.print(f"\n[bold]{escape(owner)}[/] ({_counts(items)})")
        for change in items:
            colour = COLOUR[change.change]
            console.print(f"  [{colour}]{SIGN[change.change]} {escape(change.label)}[/]"
                          + ("" if change.change == "changed" else f" ({change.change})"))
            for fld in change.fields:
                for line in fld.lines():
                    console.print(f"      {escape(line)}", soft_wrap=True)
    console.print(f"\n{_counts(changes)} object(s) in {len(by_owner(changes))} "
                  f"Kustomization(s)/HelmRelease(s)")


def as_json(changes: list[ObjectChange], base: Side, head: Side,
            problems: dict[str, list[str]]) -> dict[str, Any]:
    return {
        "base": base.label, "head": head.label,
        "summary": summary(changes),
        "problems": problems,
        "changes": [{
            "owner": c.owner,
            "object": {"apiGroup": c.group, "kind": c.kind, "namespace": c.namespace or None,
                       "name": c.name},
            "change": c.change,
            "fields": [{"path": f.path, "before": f.before, "after": f.after}
                       for f in c.fields],
        } for c in changes],
    }


def as_markdown(changes: list[ObjectChange], base: Side, head: Side,
                problems: dict[str, list[str]]) -> str:
    out = [f"### outfitter diff: `{base.label}` → `{head.label}`", ""]
    out += [f"> **{side}**: {line}" for side, line in folded(problems)]
    if problems:
        out.append("")
    if not changes:
        out.append("No change to any object.")
        return "\n".join(out) + "\n"
    out += [f"{_counts(changes)} object(s).", ""]
    for owner, items in by_owner(changes).items():
        out += ["<details open>", f"<summary><b>{owner}</b> ({_counts(items)})</summary>", "",
                "```diff"]
        for change in items:
            out.append(f"{SIGN[change.change]} {change.label}"
                       + ("" if change.change == "changed" else f" ({change.change})"))
            for fld in change.fields:
                out += [f"!     {line}" for line in fld.lines()]
        out += ["```", "</details>", ""]
    return "\n".join(out)
