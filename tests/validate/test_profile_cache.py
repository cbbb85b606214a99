"""The profile's namespaces kept between validate runs (validate.profile_cache): read again
when the profile or any module it was read with changes; a bad profile never kept."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest

from outfitter.validate import profile_cache
from outfitter.validate.run import Request, ValidateInputError, build_options

CONFIGMAP = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"
             "  namespace: observability\n")


class Loads:
    """A `load` that counts its calls."""

    def __init__(self, answer: set[str]) -> None:
        self.answer = answer
        self.calls = 0

    def __call__(self) -> set[str]:
        self.calls += 1
        return set(self.answer)


def test_kept_until_the_profile_changes(tmp_path: Path) -> None:
    profile = tmp_path / "outfitter.yaml"
    profile.write_text("monitoring:\n  namespace: observability\n")
    load = Loads({"observability"})
    cache = tmp_path / "cache"
    assert profile_cache.namespaces(profile, load, cache) == {"observability"}
    assert profile_cache.namespaces(profile, load, cache) == {"observability"}
    assert load.calls == 1
    profile.write_text("monitoring:\n  namespace: metrics\n")
    load.answer = {"metrics"}
    assert profile_cache.namespaces(profile, load, cache) == {"metrics"}
    assert load.calls == 2


def test_read_again_when_a_module_it_was_read_with_changes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = tmp_path / "mods" / "profile_dependency_probe.py"
    module.parent.mkdir()
    module.write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(module.parent))
    importlib.import_module("profile_dependency_probe")
    try:
        load = Loads({"argocd"})
        cache = tmp_path / "cache"
        profile_cache.namespaces(None, load, cache)  # the built-in profile
        profile_cache.namespaces(None, load, cache)
        assert load.calls == 1
        module.write_text("VALUE = 22\n")  # an upgrade: another size
        profile_cache.namespaces(None, load, cache)
        assert load.calls == 2
    finally:
        sys.modules.pop("profile_dependency_probe", None)


def test_no_cache_folder_no_cache_and_a_broken_entry_read_again(tmp_path: Path) -> None:
    load = Loads({"network"})
    profile_cache.namespaces(None, load, None)
    profile_cache.namespaces(None, load, None)
    assert load.calls == 2
    cache = tmp_path / "cache"
    profile_cache.namespaces(None, load, cache)
    entry = next(cache.glob("profile-*.json"))
    entry.write_text("{broken")
    assert profile_cache.namespaces(None, load, cache) == {"network"}
    assert load.calls == 4
    assert json.loads(entry.read_text())["namespaces"] == ["network"]  # written again


def _known(tree: Path, cache: Path) -> frozenset[str]:
    options, _ = build_options(Request(tree, kubernetes_version="1.36", parse_cache=cache))
    return options.known_namespaces


def _tree_with_profile(tmp_path: Path, profile: str) -> Path:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "cm.yaml").write_text(CONFIGMAP)
    (tree / "outfitter.yaml").write_text(profile)
    return tree


def test_validate_knows_the_profiles_namespaces_from_the_cache(tmp_path: Path) -> None:
    tree = _tree_with_profile(tmp_path, "monitoring:\n  namespace: observability\n")
    cache = tmp_path / "cache"
    assert "observability" in _known(tree, cache)
    assert "observability" in _known(tree, cache)  # from the kept entry
    (tree / "outfitter.yaml").write_text("monitoring:\n  namespace: metrics\n")
    known = _known(tree, cache)
    assert "metrics" in known and "observability" not in known


def test_a_bad_profile_is_reported_every_run(tmp_path: Path) -> None:
    tree = _tree_with_profile(tmp_path, "monitoring:\n  nmespace: typo\n")
    cache = tmp_path / "cache"
    for _ in range(2):
        with pytest.raises(ValidateInputError) as caught:
            _known(tree, cache)
        assert any("nmespace" in p for p in caught.value.problems)
    assert not list(cache.glob("profile-*.json"))
