"""What a test does when something it needs is not on this machine: skip, except in CI
(CI=true), which must not go green by leaving the test out. One rule for every tool."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import pytest

from outfitter.testcluster import tools_bin_dir


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def unavailable(message: str) -> NoReturn:
    """Fail in CI, skip elsewhere."""
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def built_tool(name: str) -> Path:
    """A binary tools/build.sh builds (unavailable() when it is missing)."""
    binary = tools_bin_dir() / name
    if not binary.exists():
        unavailable(f"{binary} missing; run tools/build.sh")
    return binary
