"""Server-side apply, for real or as a dry run, of objects read from files.

Custom kinds are resolved from the CRDs the cluster serves (read once); each object is sent as
a server-side apply so the server runs its full admission chain, CEL rules and schema
pruning checks — what Flux's own server-side apply would meet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lightkube import ApiError, Client, codecs
from lightkube.core.exceptions import LoadResourceError
from lightkube.generic_resource import load_in_cluster_generic_resources

FIELD_MANAGER = "outfitter"


@dataclass(frozen=True)
class Located:
    """An object and the file it came from."""

    source: str
    obj: dict[str, Any]

    @property
    def ref(self) -> str:
        meta = self.obj.get("metadata") or {}
        ns = f"{meta['namespace']}/" if meta.get("namespace") else ""
        return f"{self.obj.get('kind')} {ns}{meta.get('name')}"


@dataclass(frozen=True)
class ApplyFailure:
    item: Located
    message: str

    def __str__(self) -> str:
        return f"{self.item.source}: {self.item.ref}: {self.message}"


def load_cluster_kinds(client: Client) -> None:
    """Make the cluster's CRD kinds known to lightkube's decoder."""
    load_in_cluster_generic_resources(client)


def apply_all(
    client: Client, items: Iterable[Located], dry_run: bool = True, force: bool = True
) -> list[ApplyFailure]:
    failures = []
    for item in items:
        try:
            resource = codecs.from_dict(item.obj)
        except LoadResourceError as err:
            failures.append(ApplyFailure(item, f"kind not served by the cluster ({err})"))
            continue
        try:
            client.apply(resource, field_manager=FIELD_MANAGER, force=force, dry_run=dry_run)
        except ApiError as err:
            failures.append(ApplyFailure(item, err.status.message or str(err)))
    return failures
