"""Kinds as lightkube resources, and listing them for the day-2 commands with the one retry
policy. Built-in kinds map to lightkube's own classes; custom kinds become generic
resources, created once per kind."""

from __future__ import annotations

from functools import cache
from typing import Any

from lightkube import ApiError, Client
from lightkube.core.resource_registry import resource_registry
from lightkube.generic_resource import create_global_resource, create_namespaced_resource

from outfitter.cluster.kinds import Kind
from outfitter.cluster.retry import RetryPolicy

_BUILT_IN_GROUPS = {"", "apps", "batch", "apiextensions.k8s.io", "rbac.authorization.k8s.io"}


@cache
def resource_of(kind: Kind) -> Any:
    """The lightkube resource class for a kind."""
    if kind.group in _BUILT_IN_GROUPS:
        found = resource_registry.get(kind.api_version, kind.kind) or \
            resource_registry.load(kind.api_version, kind.kind)
        if found is not None:
            return found
    make = create_namespaced_resource if kind.namespaced else create_global_resource
    return make(kind.group, kind.version, kind.kind, kind.plural)


def as_dict(o: Any) -> dict[str, Any]:
    data = o.to_dict() if hasattr(o, "to_dict") else dict(o)
    assert isinstance(data, dict)
    return data


def list_or_none(
    client: Client, kind: Kind | Any, namespace: str | None = None,
    retry: RetryPolicy | None = None,
) -> list[dict[str, Any]] | None:
    """Objects of a kind (namespace "*": all namespaces), or None when the cluster does not
    serve it. Retried by the one policy (429, 5xx); anything else is raised for the
    command's boundary to translate."""
    resource = resource_of(kind) if isinstance(kind, Kind) else kind
    policy = retry or RetryPolicy(delays=(0.5, 1.0, 2.0, 4.0))
    last: ApiError | None = None
    for _ in policy.attempts():
        try:
            found = (client.list(resource, namespace=namespace) if namespace is not None
                     else client.list(resource))
            return [as_dict(o) for o in found]
        except ApiError as err:
            code = err.status.code or 0
            if code == 404:
                return None
            if not RetryPolicy.retryable_status(code):
                raise
            last = err
    assert last is not None
    raise last
