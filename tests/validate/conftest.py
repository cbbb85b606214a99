"""The `tree` fixture: a repository written from {path: text} into tmp_path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from validate_trees import write_tree


@pytest.fixture
def tree(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    def make(files: dict[str, str]) -> Path:
        return write_tree(tmp_path / "repo", files)

    return make
