"""The object storage contract: what Velero, Loki, Tempo and Longhorn consume, whichever
server (or external endpoint) provides it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ObjectStore:
    provider: str
    endpoint: str
    """S3 endpoint URL reachable from inside the cluster."""
    region: str
    credentials_item: str
    """Secret store item holding `access-key-id` and `secret-access-key`."""
    path_style: bool = True
    insecure: bool = False
    """Plain HTTP (an in-cluster endpoint without TLS)."""
