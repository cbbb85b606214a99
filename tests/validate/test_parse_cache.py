"""Unchanged files' documents kept between runs: the report is the same, run after run and
with or without the cache; a changed file is parsed again; a file with a problem, or a
damaged cache, is never trusted."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from validate_trees import run

from outfitter.validate import documents, engine, kustomize, parse_cache
from outfitter.validate.documents import DocItem
from outfitter.validate.findings import Report

Tree = Callable[[dict[str, str]], Path]

FILES = {
    "ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: apps}\n",
    "app/kustomization.yaml": "resources: [deploy.yaml, cm.yaml]\n",
    "app/deploy.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web, namespace: apps}
        spec:
          replicas: "2"
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              containers: [{name: web, image: "nginx:1.27"}]
        """,
    "app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: apps}\n"
                   "data: {when: 2026-01-01, n: '1'}\n---\n",
    "bad.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [\n",
}


def findings(report: Report) -> list[tuple[str, int | None, str, str]]:
    return [(f.file, f.line, f.rule, f.message) for f in report.sorted()]


def count_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts parsed from now on (the cache's misses), in order."""
    parsed: list[str] = []
    real = documents.iter_docs

    def counting(text: str) -> Iterator[DocItem]:
        parsed.append(text)
        return real(text)

    monkeypatch.setattr(documents, "iter_docs", counting)
    return parsed


def test_runs_with_the_cache_report_what_a_run_without_it_reports(
        tree: Tree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tree(FILES)
    cache = tmp_path / "cache"
    plain = run(root)
    first = run(root, parse_cache=cache)
    parsed = count_parses(monkeypatch)
    second = run(root, parse_cache=cache)
    assert parsed == [FILES["bad.yaml"]]  # the rest read from the cache
    assert findings(plain) == findings(first) == findings(second)
    assert plain.objects == first.objects == second.objects == 3
    assert {f.rule for f in plain.findings} >= {"schema", "yaml-syntax"}
    # Four files parsed cleanly are kept; the one with a syntax error is not.
    kept = parse_cache.ParseCache(cache, str(root))
    assert len(kept) == 4
    for text in (FILES["app/cm.yaml"], FILES["ns.yaml"]):
        assert kept.get(parse_cache.text_digest(text)) is not None
    assert kept.get(parse_cache.text_digest(FILES["bad.yaml"])) is None


def test_a_changed_file_is_parsed_again(tree: Tree, tmp_path: Path) -> None:
    root = tree(FILES)
    cache = tmp_path / "cache"
    run(root, parse_cache=cache)
    (root / "app/deploy.yaml").write_text((root / "app/deploy.yaml").read_text().replace(
        'replicas: "2"', "replicas: 2"))
    again = run(root, parse_cache=cache)
    assert [f for f in findings(again) if f[0] == "app/deploy.yaml"] == []
    assert findings(again) == findings(run(root))


def test_a_damaged_cache_or_another_loader_is_ignored(tree: Tree, tmp_path: Path) -> None:
    root = tree(FILES)
    cache = tmp_path / "cache"
    expected = findings(run(root))
    run(root, parse_cache=cache)
    [stored] = cache.glob("*.bin")
    stored.write_bytes(stored.read_bytes()[:100])
    assert findings(run(root, parse_cache=cache)) == expected
    assert len(parse_cache.ParseCache(cache, str(root))) == 4  # written anew
    data = stored.read_bytes()
    stored.write_bytes(data.replace(data[5:21], bytes(16)))  # another loader's key
    assert len(parse_cache.ParseCache(cache, str(root))) == 0


def test_only_the_last_trees_are_kept(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    roots = []
    for i in range(parse_cache.KEEP + 3):
        root = tmp_path / f"tree-{i}"
        root.mkdir()
        (root / "cm.yaml").write_text(FILES["ns.yaml"].replace("apps", f"apps-{i}"))
        roots.append(root)
        run(root, parse_cache=cache)
    assert len(list(cache.glob("*.bin"))) == parse_cache.KEEP
    assert len(parse_cache.ParseCache(cache, str(roots[-1]))) == 1


def test_only_the_last_profiles_namespaces_are_kept(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    for i in range(parse_cache.KEEP + 3):  # validate.profile_cache's files, oldest first
        kept = cache / f"profile-{i:04d}.json"
        kept.write_text("{}")
        os.utime(kept, (1000 + i, 1000 + i))
    root = tmp_path / "tree"
    root.mkdir()
    (root / "ns.yaml").write_text(FILES["ns.yaml"])
    run(root, parse_cache=cache)  # a new tree's cache written: the folder pruned
    left = sorted(p.name for p in cache.glob("profile-*.json"))
    assert left == [f"profile-{i:04d}.json" for i in range(3, parse_cache.KEEP + 3)]


def test_the_cache_folder_is_chosen_or_turned_off_by_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTFITTER_PARSE_CACHE", "off")
    assert parse_cache.cache_dir() is None
    monkeypatch.setenv("OUTFITTER_PARSE_CACHE", str(tmp_path / "mine"))
    assert parse_cache.cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("OUTFITTER_PARSE_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert parse_cache.cache_dir() == tmp_path / "xdg" / "outfitter" / "parsed"


def count_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files read from now on (by the scan or the pass), by name."""
    read: list[str] = []
    for module in (engine, kustomize):
        real = module.read_text

        def counting(path: str, real: Callable[[str], object] = real) -> object:
            read.append(os.path.basename(path))
            return real(path)

        monkeypatch.setattr(module, "read_text", counting)
    return read


def test_files_unchanged_since_the_last_run_are_not_read_again(
        tree: Tree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file whose status (size, times, inode) is last run's is taken as last run read it;
    one rewritten to the same size and given back its old mtime is read again (its ctime
    moved); here every file counts as settled (RACY_NS 0)."""
    monkeypatch.setattr(parse_cache, "RACY_NS", 0)
    root = tree(FILES)
    cache = tmp_path / "cache"
    time.sleep(0.01)  # the files' times are before the first run's
    expected = findings(run(root))
    assert findings(run(root, parse_cache=cache)) == expected
    read = count_reads(monkeypatch)
    again = run(root, parse_cache=cache)
    assert findings(again) == expected and again.objects == 3
    # A file with a problem is read (and reported) every time, one with a finding for its
    # line numbers; the others are not read.
    assert sorted(read) == ["bad.yaml", "deploy.yaml"]
    deploy = root / "app/deploy.yaml"
    before = deploy.stat()
    deploy.write_text(deploy.read_text().replace('replicas: "2"', 'replicas: "3"'))
    os.utime(deploy, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert deploy.stat().st_size == before.st_size
    time.sleep(0.01)
    read.clear()
    changed = run(root, parse_cache=cache)
    assert sorted(read) == ["bad.yaml", "deploy.yaml", "deploy.yaml"]  # scanned, then lines
    assert [f[3] for f in findings(changed) if f[0] == "app/deploy.yaml"] == [
        'spec.replicas: "3" is not of types "null", "integer"']


def test_files_changed_just_before_the_run_are_read_every_time(
        tree: Tree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two writes within one tick of the file system's clock can leave one status behind:
    a file changed less than RACY_NS before it is looked at is not recorded by status."""
    root = tree(FILES)
    cache = tmp_path / "cache"
    run(root, parse_cache=cache)
    read = count_reads(monkeypatch)
    run(root, parse_cache=cache)
    assert set(read) == {os.path.basename(p) for p in FILES}  # each one read again


def test_a_status_record_of_another_shape_is_not_trusted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parse_cache, "RACY_NS", 0)
    path = tmp_path / "cm.yaml"
    path.write_text(FILES["ns.yaml"])
    time.sleep(0.01)
    cache = parse_cache.ParseCache(tmp_path / "cache", str(tmp_path))
    seen, known = cache.scanned(str(path))
    assert seen is not None and known is None  # not recorded yet
    cache.record(str(path), seen, parse_cache.text_digest(FILES["ns.yaml"]), 8)
    cache.put(parse_cache.text_digest(FILES["ns.yaml"]), [(0, {"kind": "Namespace"})])
    cache.save()
    again = parse_cache.ParseCache(tmp_path / "cache", str(tmp_path))
    assert again.scanned(str(path)) == (seen, (parse_cache.text_digest(FILES["ns.yaml"]), 8))
    for junk in ("junk", (seen, "not a digest", 8), (seen, b"digest")):
        again._seen_old[str(path)] = junk  # type: ignore[assignment]
        assert again.scanned(str(path)) == (seen, None)
