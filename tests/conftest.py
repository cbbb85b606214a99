from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

import upstream_data


@pytest.fixture(autouse=True, scope="session")
def _parse_cache_of_the_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """validate's parse cache in the session's temporary folder, not the user's home."""
    previous = os.environ.get("OUTFITTER_PARSE_CACHE")
    os.environ["OUTFITTER_PARSE_CACHE"] = str(tmp_path_factory.mktemp("parse-cache"))
    yield
    if previous is None:
        os.environ.pop("OUTFITTER_PARSE_CACHE", None)
    else:
        os.environ["OUTFITTER_PARSE_CACHE"] = previous


@pytest.fixture
def upstream() -> None:
    if not upstream_data.available():
        pytest.skip(f"upstream reference data not found at {upstream_data.UPSTREAM}")
