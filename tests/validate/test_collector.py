"""A validate run with the cycle collector paused (engine.validate): nothing is collected
during the run, the collector is as the caller left it afterwards, and the run's state is
freed by reference count when it ends, not left behind as cyclic garbage."""

from __future__ import annotations

import gc
import shutil
from pathlib import Path
from typing import Any

import pytest
from validate_trees import run

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "repos"


@pytest.mark.parametrize("name", ["validate-home-ops", "validate-multicluster-home-ops"])
def test_a_run_collects_nothing_and_leaves_no_cycles_behind(name: str, tmp_path: Path) -> None:
    root = tmp_path / name
    shutil.copytree(FIXTURES / name, root, symlinks=True)
    collections: list[int] = []

    def seen(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    gc.collect()
    gc.callbacks.append(seen)
    try:
        report = run(root)
    finally:
        gc.callbacks.remove(seen)
    assert report.objects > 20
    assert collections == []
    assert gc.isenabled()
    gc.disable()
    try:
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        # outfitter's own objects only: another test's threads may leave theirs meanwhile.
        garbage = [type(o).__qualname__ for o in gc.garbage
                   if type(o).__module__.startswith("outfitter.")]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert garbage == []


def test_a_caller_that_paused_the_collector_finds_it_paused(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(FIXTURES / "validate-cluster-template", root, symlinks=True)
    gc.disable()
    try:
        run(root)
        assert not gc.isenabled()
    finally:
        gc.enable()
