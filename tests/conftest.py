from __future__ import annotations

import pytest

import upstream_data


@pytest.fixture
def upstream() -> None:
    if not upstream_data.available():
        pytest.skip(f"upstream reference data not found at {upstream_data.UPSTREAM}")
