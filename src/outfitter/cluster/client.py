"""Connect to a cluster the way kubectl does: a kubeconfig file and an optional context."""

from __future__ import annotations

from pathlib import Path

from lightkube import Client, KubeConfig


def connect(kubeconfig: Path | None = None, context: str | None = None,
            field_manager: str = "outfitter") -> Client:
    config = KubeConfig.from_file(kubeconfig) if kubeconfig else KubeConfig.from_env()
    return Client(config=config, context=context if context else None,
                  field_manager=field_manager)
