"""Listing objects for the day-2 operations, tolerant of a cluster's ordinary hiccups."""

from __future__ import annotations

import time
from typing import Any

from lightkube import ApiError, Client

RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0)


def as_dict(o: Any) -> dict[str, Any]:
    data = o.to_dict() if hasattr(o, "to_dict") else dict(o)
    assert isinstance(data, dict)
    return data


def list_or_none(
    client: Client, kind: Any, namespace: str | None = None
) -> list[dict[str, Any]] | None:
    """Objects of a kind (namespace "*": all namespaces), or None when the cluster does not
    serve it. A 429 (a new CRD's storage still initializing, or the server's flow control)
    or a 5xx is retried with backoff, as kubectl and controllers do."""
    for delay in (*RETRY_DELAYS, None):
        try:
            found = (client.list(kind, namespace=namespace) if namespace is not None
                     else client.list(kind))
            return [as_dict(o) for o in found]
        except ApiError as err:
            code = err.status.code or 0
            if code == 404:
                return None
            if delay is None or code < 429:
                raise
            time.sleep(delay)
    raise AssertionError("unreachable")
