"""A status check: what it reads, how it decides, which roadmap items it settles.

Checks evaluate listings the reader made once per kind; a check never makes a request of its
own. Missing CRDs read as "not installed", forbidden lists as "unknown".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from outfitter.cluster.reader import ClusterReader, Kind, Listing

State = Literal["pass", "fail", "unknown", "progressing"]
"""`progressing`: Flux is still reconciling (Ready=Unknown with a reconciling reason)."""


@dataclass(frozen=True)
class Result:
    state: State
    evidence: str
    hint: str = ""


@dataclass(frozen=True)
class Read:
    """A listing a check needs: a kind, cluster-wide or in one namespace."""

    kind: Kind
    namespace: str | None = None


@dataclass(frozen=True)
class Check:
    key: str
    title: str
    reads: tuple[Read, ...]
    decide: Callable[[ClusterReader], Result]
    roadmap: tuple[str, ...] = ()
    """Lower-case phrases: a roadmap checklist item containing one is settled by this check."""
    absent_ok: bool = False
    """The check copes with kinds whose CRD is absent (e.g. either of two API groups)."""

    def run(self, reader: ClusterReader) -> Result:
        blocked = unavailable(reader, self.reads, self.absent_ok)
        if blocked is not None:
            return blocked
        try:
            return self.decide(reader)
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            # A real cluster's objects can be odd; a check never brings status down.
            return Result("unknown", f"could not read the objects: {type(err).__name__}: {err}")


def unavailable(reader: ClusterReader, reads: Iterable[Read], absent_ok: bool = False
                ) -> Result | None:
    for read in reads:
        listing = reader.list(read.kind, read.namespace)
        if listing.state == "absent" and not absent_ok:
            return Result("fail", f"not installed: {listing.message}",
                          "install it (outfitter render, then commit)")
        if listing.state in ("forbidden", "error"):
            return Result("unknown", listing.message,
                          "grant the outfitter-status ClusterRole" if listing.state == "forbidden"
                          else "retry later")
    return None


def items(reader: ClusterReader, read: Read) -> list[dict[str, Any]]:
    listing: Listing = reader.list(read.kind, read.namespace)
    return listing.items


def name_of(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata", {})
    return f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else str(meta["name"])


def condition(obj: dict[str, Any], kind: str = "Ready") -> dict[str, Any] | None:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == kind:
            return dict(c)
    return None


def is_ready(obj: dict[str, Any]) -> bool:
    c = condition(obj)
    return c is not None and c.get("status") == "True"


# Reasons Flux (kstatus) gives a Ready=Unknown while it works on the object.
RECONCILING_REASONS = frozenset({"Progressing", "ProgressingWithRetry", "Reconciling",
                                 "DependencyNotReady", "ArtifactInStorage"})


def progressing(obj: dict[str, Any]) -> bool:
    """Ready=Unknown with a reconciling reason, or a Reconciling=True condition."""
    ready = condition(obj)
    if ready is not None and ready.get("status") == "Unknown" \
            and ready.get("reason") in RECONCILING_REASONS:
        return True
    rec = condition(obj, "Reconciling")
    return rec is not None and rec.get("status") == "True" and \
        (ready is None or ready.get("status") != "False")


def readiness(obj: dict[str, Any]) -> Literal["ready", "progressing", "not ready"]:
    if is_ready(obj):
        return "ready"
    return "progressing" if progressing(obj) else "not ready"


def workload_available(obj: dict[str, Any]) -> bool:
    kind, spec, status = obj.get("kind"), obj.get("spec") or {}, obj.get("status") or {}
    if kind == "DaemonSet":
        want = status.get("desiredNumberScheduled", 0)
        return bool(want) and status.get("numberAvailable", 0) >= want
    want = spec.get("replicas", 1)
    return status.get("availableReplicas", 0) >= want if want else True


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def now() -> datetime:
    return datetime.now(UTC)


def age(text: str) -> str:
    seconds = (now() - parse_time(text)).total_seconds()
    if seconds < 3600:
        return f"{seconds / 60:.0f}m ago"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.0f}h ago"
    return f"{seconds / 86400:.0f}d ago"


def summarize(names: list[str], limit: int = 3) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
