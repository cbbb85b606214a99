"""Connect to a cluster the way kubectl does: a kubeconfig file and an optional context."""

from __future__ import annotations

from pathlib import Path

from lightkube import Client, KubeConfig


def connect(kubeconfig: Path | None = None, context: str | None = None,
            field_manager: str = "outfitter") -> Client:
    config = KubeConfig.from_file(kubeconfig) if kubeconfig else KubeConfig.from_env()
    chosen = config.get(context_name=context) if context else config
    return Client(config=chosen, field_manager=field_manager)
