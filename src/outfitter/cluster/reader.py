"""Read-only listing for `status`: one paginated LIST per kind, as raw JSON.

Status must cost one request per kind (and page), never one per object, and must survive a
real cluster's untidiness: a kind whose CRD is absent reads as "not installed", a 403 as
"no permission", a timeout or a 5xx is retried with backoff and then reported. Raw JSON over
the kubeconfig's own connection (lightkube's adapter: certificates, tokens, exec plugins)
keeps 10,000 objects cheap: no model classes are built.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from outfitter.cluster.errors import describe_transport, translate
from outfitter.cluster.kinds import Kind
from outfitter.cluster.retry import RetryPolicy

PAGE = 500
RESTART: dict[str, Any] = {}

__all__ = ["ClusterReader", "Kind", "ListState", "Listing"]


class JsonSource(Protocol):
    """What the reader needs of a connection (outfitter.cluster.connect.Connection)."""

    server: str
    timeout: float
    retry: RetryPolicy

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> tuple[int, Any]: ...

    def close(self) -> None: ...


ListState = Literal["ok", "absent", "forbidden", "error"]


@dataclass
class Listing:
    kind: Kind
    state: ListState
    items: list[dict[str, Any]] = field(default_factory=list)
    message: str = ""


class ClusterReader:
    """Lists kinds once each and remembers them; counts the requests it makes."""

    def __init__(self, source: JsonSource) -> None:
        self._source = source
        self.requests = 0
        self.cluster_wide: set[Kind] = set()
        """Kinds to list cluster-wide even when a namespace is asked for."""
        self._cache: dict[tuple[Kind, str | None], Listing] = {}

    def close(self) -> None:
        self._source.close()

    def __enter__(self) -> ClusterReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def errors(self) -> builtins.list[str]:
        """Why listings made so far failed (not "absent" or "forbidden": those are answers)."""
        return [lst.message for lst in self._cache.values() if lst.state == "error"]

    def list(self, kind: Kind, namespace: str | None = None) -> Listing:
        """Every object of the kind (in one namespace when given), listed once per run.
        A kind also needed cluster-wide is listed once and filtered for a namespace."""
        if namespace is not None and kind in self.cluster_wide:
            whole = self.list(kind)
            return Listing(kind, whole.state, [
                o for o in whole.items if o.get("metadata", {}).get("namespace") == namespace
            ], whole.message)
        key = (kind, namespace)
        if key not in self._cache:
            self._cache[key] = self._list(kind, namespace)
        return self._cache[key]

    def listings(self) -> builtins.list[Listing]:
        """Every listing made so far (each kind once, per namespace where asked)."""
        return list(self._cache.values())

    def get(self, kind: Kind, namespace: str | None, name: str) -> dict[str, Any] | None:
        """One object, from the namespace's listing (no request per object)."""
        for obj in self.list(kind, namespace).items:
            if obj.get("metadata", {}).get("name") == name:
                return obj
        return None

    def _list(self, kind: Kind, namespace: str | None) -> Listing:
        items: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {"limit": PAGE}
            if token:
                params["continue"] = token
            outcome = self._request(kind, kind.path_in(namespace), params)
            if isinstance(outcome, Listing):
                return outcome
            if outcome is RESTART:  # the continue token expired: list again from the start
                items, token = [], None
                continue
            page = outcome.get("items") or []
            for item in page:  # a list's items carry no kind of their own
                item.setdefault("kind", kind.kind)
                item.setdefault("apiVersion", kind.api_version)
            items.extend(page)
            token = (outcome.get("metadata") or {}).get("continue")
            if not token:
                return Listing(kind, "ok", items)

    def _request(
        self, kind: Kind, path: str, params: dict[str, Any]
    ) -> dict[str, Any] | Listing:
        """The page, a Listing that ends the kind (absent, forbidden, error), or RESTART."""
        retry = self._source.retry
        problem = ""
        for _ in retry.attempts():
            self.requests += 1
            try:
                code, data = self._source.get_json(path, params)
            except Exception as err:  # transport failures: retried, then reported
                if translate(err) is None:
                    raise
                problem = describe_transport(err, self._source.server, self._source.timeout)
                continue
            if code == 200 and isinstance(data, dict):
                return data
            if code == 200:
                return Listing(kind, "error", message=f"listing {kind}: the answer is not a "
                                                      f"JSON list")
            if code == 404:
                return Listing(kind, "absent", message=f"{kind} is not served (CRD absent)")
            if code == 403:
                return Listing(kind, "forbidden", message=f"no permission to list {kind}")
            if code == 410 and "continue" in params:
                return RESTART
            problem = f"HTTP {code}"
            if not RetryPolicy.retryable_status(code):
                return Listing(kind, "error", message=f"listing {kind}: {problem}")
        return Listing(kind, "error", message=f"listing {kind} failed after {retry.tries} "
                                              f"tries: {problem}")
