"""The flux CLI built by tools/build.sh, the reference for Flux's builds and substitutions.

Tests that compare with it skip when it is missing, and fail instead when CI=true: CI must not
go green by leaving the reference out.
"""

from __future__ import annotations

from pathlib import Path

from tool_needs import built_tool


def flux_binary() -> Path:
    return built_tool("flux")
