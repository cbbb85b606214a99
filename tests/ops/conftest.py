"""Shared by the tests that edit a user's repository: a fresh copy of the homelab-shaped
Flux repository (tests/fixtures/flux-repo) for each test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "flux-repo"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "home-ops"
    shutil.copytree(FIXTURE, root)
    return root
