"""Read-only listing for `status`: one paginated LIST per kind, as raw JSON.

Status must cost one request per kind (and page), never one per object, and must survive a
real cluster's untidiness: a kind whose CRD is absent reads as "not installed", a 403 as
"no permission", a timeout or a 5xx is retried with backoff and then reported. Raw JSON over
the kubeconfig's own connection (lightkube's adapter: certificates, tokens, exec plugins)
keeps 10,000 objects cheap: no model classes are built.
"""

from __future__ import annotations

import builtins
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lightkube import KubeConfig
from lightkube.config.client_adapter import Client as _http_client
from lightkube.config.client_adapter import ConnectionParams

PAGE = 500
RETRIES = 3
RESTART: dict[str, Any] = {}


@dataclass(frozen=True, order=True)
class Kind:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def path(self) -> str:
        prefix = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        return f"{prefix}/{self.plural}"

    def path_in(self, namespace: str | None) -> str:
        if namespace is None or not self.namespaced:
            return self.path
        prefix = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        return f"{prefix}/namespaces/{namespace}/{self.plural}"

    def __str__(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural


ListState = Literal["ok", "absent", "forbidden", "error"]


@dataclass
class Listing:
    kind: Kind
    state: ListState
    items: list[dict[str, Any]] = field(default_factory=list)
    message: str = ""


class ClusterReader:
    """Lists kinds once each and remembers them; counts the requests it makes."""

    def __init__(self, kubeconfig: Path | None = None, context: str | None = None,
                 timeout: float = 15.0) -> None:
        config = KubeConfig.from_file(kubeconfig) if kubeconfig else KubeConfig.from_env()
        single = config.get(context_name=context) if context else config.get()
        if single is None:
            raise ValueError("the kubeconfig names no current context; pass --context")
        params = ConnectionParams(timeout=timeout)  # type: ignore[arg-type]
        self._http = _http_client(single, params)
        self.requests = 0
        self.cluster_wide: set[Kind] = set()
        """Kinds to list cluster-wide even when a namespace is asked for."""
        self._cache: dict[tuple[Kind, str | None], Listing] = {}

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ClusterReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ping(self) -> str | None:
        """None when the API server answers /version, else why not (one line)."""
        self.requests += 1
        try:
            response = self._http.get("/version")
        except Exception as err:  # connection refused, TLS, DNS: all mean "cannot reach"
            return f"cannot reach the API server at {self._http.base_url}: {err}"
        if response.status_code == 401:
            return f"the API server at {self._http.base_url} refused the credentials (401)"
        return None

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
        delay = 0.5
        for attempt in range(RETRIES):
            self.requests += 1
            try:
                response = self._http.get(path, params=params)
            except Exception as err:  # timeouts and connection errors: retried, then reported
                problem = f"{type(err).__name__}: {err}"
            else:
                if response.status_code == 200:
                    data: dict[str, Any] = response.json()
                    return data
                if response.status_code == 404:
                    return Listing(kind, "absent", message=f"{kind} is not served (CRD absent)")
                if response.status_code == 403:
                    return Listing(kind, "forbidden", message=f"no permission to list {kind}")
                if response.status_code == 410 and "continue" in params:
                    return RESTART
                problem = f"HTTP {response.status_code}"
                if response.status_code < 500 and response.status_code != 429:
                    return Listing(kind, "error", message=f"listing {kind}: {problem}")
            if attempt < RETRIES - 1:
                time.sleep(delay)
                delay *= 2
        return Listing(kind, "error", message=f"listing {kind} failed after {RETRIES} tries: "
                                              f"{problem}")
