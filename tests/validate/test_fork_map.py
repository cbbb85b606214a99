"""How validate uses the machine. Files are read and parsed by forked copies of the
process: the results are the serial map's, in order, whatever happens to a copy, and
validate reports the same, to the byte, whether its files were scanned here or by workers,
with or without the parse cache."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from validate_trees import run, write_tree

from outfitter.validate import engine, fork_map
from outfitter.validate.findings import Report
from outfitter.validate.parse_cache import ParseCache

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "repos"
PARENT = os.getpid()


def tagged(item: int) -> tuple[int, int]:
    return item * item, os.getpid()


def reaped(pid: int) -> bool:
    """The copy was waited for: it is no longer a child of this process (the suite's other
    children, a control plane among them, are left alone)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def test_the_items_are_shared_out_and_the_results_come_back_in_order() -> None:
    results = fork_map.fork_map(tagged, range(500), workers=3, min_items=10)
    assert [square for square, _ in results] == [i * i for i in range(500)]
    pids = {pid for _, pid in results}
    assert len(pids) == 3 and PARENT in pids  # the parent did a share, two copies the rest
    assert all(reaped(pid) for pid in pids - {PARENT})


def dies_in_a_copy(item: int) -> tuple[int, int]:
    if os.getpid() != PARENT and item == 7:
        os._exit(3)
    return tagged(item)


def unpicklable_in_a_copy(item: int) -> object:
    return (lambda: item) if os.getpid() != PARENT else item


def test_a_copy_that_fails_has_its_share_done_by_the_parent() -> None:
    results = fork_map.fork_map(dies_in_a_copy, range(300), workers=2, min_items=10)
    assert [square for square, _ in results] == [i * i for i in range(300)]
    assert {pid for _, pid in results[1::2]} == {PARENT}  # the dead copy's share, redone
    assert fork_map.fork_map(unpicklable_in_a_copy, range(300), workers=2,
                             min_items=10) == list(range(300))


def test_a_copy_the_system_cannot_make_has_its_share_done_by_the_parent(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def no_fork() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    results = fork_map.fork_map(tagged, range(300), workers=3, min_items=10)
    assert results == [(i * i, PARENT) for i in range(300)]


def test_small_maps_and_threaded_processes_stay_in_one_process() -> None:
    assert {pid for _, pid in fork_map.fork_map(tagged, range(50), workers=2)} == {PARENT}
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert fork_map.workers_for(1000, 2) == 1  # a copy would inherit the thread's locks
        results = fork_map.fork_map(tagged, range(1000), workers=2)
    finally:
        stop.set()
        other.join()
    assert {pid for _, pid in results} == {PARENT}
    assert fork_map.workers_for(1000, 2) == 2
    assert fork_map.workers_for(150, 8, min_items=100) == 3  # at least 50 items each


def test_an_interrupted_map_leaves_no_copy_behind(tmp_path: Path) -> None:
    started = tmp_path / "started"

    def work(item: int) -> int:
        if os.getpid() != PARENT:  # a copy says it runs, and takes its time
            with started.open("a") as out:
                out.write(f"{os.getpid()}\n")
            time.sleep(0.01)
        elif item == 4:  # the parent is interrupted once the copy is at work
            deadline = time.monotonic() + 10
            while not started.exists() and time.monotonic() < deadline:
                time.sleep(0.01)
            raise KeyboardInterrupt
        return item

    with pytest.raises(KeyboardInterrupt):
        fork_map.fork_map(work, range(400), workers=2, min_items=10)
    copies = {int(line) for line in started.read_text().split()}
    assert len(copies) == 1 and all(reaped(pid) for pid in copies)


def report_bytes(report: Report) -> list[tuple[object, ...]]:
    return [(f.file, f.line, f.doc, f.rule, f.severity, f.subject, f.message, f.applied_by)
            for f in report.sorted()] + [(report.objects, report.validated, report.files)]


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.iterdir()))
def test_validate_reports_alike_with_workers_and_without(
        name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each realistic fixture, scanned in one process and by two (the size threshold
    lowered so that these trees reach it), without the cache, cold, and from the cache the
    workers filled."""
    root = tmp_path / name
    shutil.copytree(FIXTURES / name, root, symlinks=True)
    serial = report_bytes(run(root, workers=1))
    monkeypatch.setattr(fork_map, "MIN_ITEMS", 4)
    forks: list[int] = []
    real = fork_map.fork_map

    def counted(func: object, items: list[str], workers: int) -> object:
        forks.append(fork_map.workers_for(len(items), workers))  # 2: it forks
        return real(func, items, workers)  # type: ignore[arg-type]

    monkeypatch.setattr(fork_map, "fork_map", counted)
    assert report_bytes(run(root, workers=2)) == serial
    cache = tmp_path / "cache"
    assert report_bytes(run(root, workers=2, parse_cache=cache)) == serial  # cold
    assert forks == [2, 2]
    # Warm: what the workers parsed is in the cache, so this run scans in one process.
    assert report_bytes(run(root, workers=2, parse_cache=cache)) == serial
    assert report_bytes(run(root, workers=1, parse_cache=cache)) == serial
    assert forks == [2, 2]


BROKEN = {
    "syntax.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [\n",
    "binary.yaml": "apiVersion: v1\x00\x01\n",
    "slow.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: yes\n  namespace: a\n"
                 "data: {mode: 0644, on: off}\n",  # YAML 1.1 words: PyYAML's reading
    # A Flux Kustomization, then a document that does not parse: the first still counts.
    "flux/ks.yaml": """
        apiVersion: kustomize.toolkit.fluxcd.io/v1
        kind: Kustomization
        metadata: {name: apps, namespace: flux-system}
        spec: {interval: 1h, path: ./apps, prune: true,
               sourceRef: {kind: GitRepository, name: flux-system}}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: [
        """,
}


def test_files_with_problems_are_reported_alike_when_workers_scan_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {f"apps/cm-{i}.yaml": f"apiVersion: v1\nkind: ConfigMap\nmetadata: "
                                  f"{{name: c{i}, namespace: a}}\ndata: {{k: '{i}'}}\n"
             for i in range(30)}
    root = write_tree(tmp_path / "tree", {**files, **BROKEN})
    serial = report_bytes(run(root, workers=1))
    assert {f[3] for f in serial[:-1]} >= {"yaml-syntax", "unreadable"}
    monkeypatch.setattr(fork_map, "MIN_ITEMS", 4)
    assert report_bytes(run(root, workers=2)) == serial
    cache = tmp_path / "cache"
    assert report_bytes(run(root, workers=2, parse_cache=cache)) == serial
    assert report_bytes(run(root, workers=2, parse_cache=cache)) == serial


def test_a_worker_hands_over_documents_the_parent_reads_back(tmp_path: Path) -> None:
    """What the repository model needs before the pass (here a Flux Kustomization) is
    parsed in the worker and handed over; a file only the pass reads goes back as text,
    parsed ahead of the pass (test_parse_ahead)."""
    tree = write_tree(tmp_path, {
        "ks.yaml": "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n"
                   "metadata: {name: apps}\n",
        "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"})
    cache = ParseCache(None, str(tmp_path))
    scan = engine.scan_file(str(tree / "ks.yaml"), keep_text=True, cache=cache, worker=True)
    assert scan.flux and scan.text is None and scan.items is None
    assert scan.digest is not None and scan.blob is not None
    cache.add(scan.digest, scan.blob)
    assert cache.get(scan.digest) == [(0, {"apiVersion": "kustomize.toolkit.fluxcd.io/v1",
                                           "kind": "Kustomization",
                                           "metadata": {"name": "apps"}})]
    again = engine.scan_file(str(tree / "ks.yaml"), cache=cache, worker=True)
    assert again.digest == scan.digest and again.blob is None  # known: not parsed again
    plain = engine.scan_file(str(tree / "cm.yaml"), keep_text=True, cache=cache, worker=True)
    assert plain.objects and plain.blob is None and plain.text is not None
