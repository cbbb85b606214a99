"""What the commands that talk to a cluster share: a discovered connection whose errors are
one line (imported only by those commands: the offline ones never load a cluster client)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

from outfitter.cluster.connect import Connection, session


def cluster_session(kubeconfig: Path | None, context: str | None, timeout: float,
                    field_manager: str = "outfitter") -> AbstractContextManager[Connection]:
    """A discovered connection to the cluster (outfitter.cluster.connect.session)."""
    return session(kubeconfig, context, timeout=timeout, field_manager=field_manager)
