"""The built-in schemas' definitions kept without descriptions in the cache folder: the same
verdicts and messages as the package's file, read again only when that file changes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from outfitter.validate.k8s_schema import BuiltinSchemas, schema_folder

DEPLOYMENT = ("apps", "v1", "Deployment")
CONFIGMAP = ("", "v1", "ConfigMap")
BAD: list[tuple[tuple[str, str, str], dict[str, Any]]] = [
    (CONFIGMAP, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"},
                 "data": {"k": 1}, "bogus": True}),
    (DEPLOYMENT, {"apiVersion": "apps/v1", "kind": "Deployment",
                  "metadata": {"name": "web", "labels": {"app": 3}},
                  "spec": {"replicas": "two", "selector": {"matchLabels": {"app": "web"}},
                           "strategy": {"type": "Sideways"},
                           "template": {"metadata": {"labels": {"app": "web"}},
                                        "spec": {"containers": [
                                            {"name": "web", "image": "nginx",
                                             "ports": [{"containerPort": "80"}],
                                             "imagePullPolicy": "Sometimes",
                                             "resources": {"limits": {"cpu": []}},
                                             "description": "not a field"}]}}}}),
]


def _problems(schemas: BuiltinSchemas) -> list[Any]:
    return [schemas.validate(obj, key) for key, obj in BAD]


def _copy_of_package_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "v1.36.0-local-strict"
    folder.mkdir()
    shutil.copy(schema_folder("1.36", True) / "_definitions.json", folder)
    return folder


def test_cached_definitions_give_the_same_problems(tmp_path: Path) -> None:
    folder = schema_folder("1.36", True)
    plain = _problems(BuiltinSchemas(folder))
    assert all(plain), "every sample has problems"
    first = _problems(BuiltinSchemas(folder, cache=tmp_path))  # writes the cache
    kept = list(tmp_path.glob("k8s-*.json"))
    assert len(kept) == 1
    assert "description" not in json.loads(kept[0].read_text())["definitions"]["$defs"][
        "io.k8s.api.core.v1.ConfigMap"]
    second = _problems(BuiltinSchemas(folder, cache=tmp_path))  # reads it
    assert plain == first == second


def test_the_cache_is_read_not_rebuilt(tmp_path: Path) -> None:
    folder = _copy_of_package_folder(tmp_path)
    cache = tmp_path / "cache"
    BuiltinSchemas(folder, cache=cache).knows(CONFIGMAP)
    kept = next(cache.glob("k8s-*.json"))
    stored = json.loads(kept.read_text())
    del stored["definitions"]["$defs"]["io.k8s.api.core.v1.ConfigMap"]
    kept.write_text(json.dumps(stored))
    assert not BuiltinSchemas(folder, cache=cache).knows(CONFIGMAP)  # the cached copy
    assert BuiltinSchemas(folder).knows(CONFIGMAP)


def test_a_changed_or_unreadable_source_is_read_again(tmp_path: Path) -> None:
    folder = _copy_of_package_folder(tmp_path)
    cache = tmp_path / "cache"
    BuiltinSchemas(folder, cache=cache).knows(CONFIGMAP)
    kept = next(cache.glob("k8s-*.json"))
    kept.write_text("{not json")
    assert BuiltinSchemas(folder, cache=cache).knows(CONFIGMAP)  # rebuilt
    assert json.loads(kept.read_text())["definitions"]
    # The package's file changed (an upgrade): another key, so the old copy is not used.
    source = folder / "_definitions.json"
    defs = json.loads(source.read_text())
    del defs["$defs"]["io.k8s.api.core.v1.ConfigMap"]
    source.write_text(json.dumps(defs))
    assert not BuiltinSchemas(folder, cache=cache).knows(CONFIGMAP)


def test_an_unwritable_cache_only_costs_time(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    folder = schema_folder("1.36", True)
    key, obj = BAD[0]
    uncached = BuiltinSchemas(folder, cache=blocker / "cache").validate(obj, key)
    assert uncached and uncached == BuiltinSchemas(folder).validate(obj, key)
