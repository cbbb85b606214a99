"""The flux CLI built by tools/build.sh, the reference for Flux's builds and substitutions.

Tests that compare with it skip when it is missing, and fail instead when CI=true: CI must not
go green by leaving the reference out.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from outfitter.testcluster import tools_bin_dir


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def flux_binary() -> Path:
    binary = tools_bin_dir() / "flux"
    if not binary.exists():
        msg = f"{binary} missing; run tools/build.sh"
        if _in_ci():
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    return binary
