"""Reading and parsing files ahead, in forked worker processes, for large trees.

Parsing YAML is most of a schema pass, and it is the only work done here: the workers read
and parse files — for the scan before the pass (CRDs, Flux Kustomizations, kustomization
files), then for the pass — in the order they will be asked for, and send back what they
found (pickled, which costs a fraction of parsing). Everything else — which files the pass reads,
overlays, schemas, lint, references, findings and their order — stays in the one process
that runs the pass, exactly as without workers. A file whose result is missing, or that is
asked for out of turn, is read in-process as before.

At most a few chunks are read ahead, so memory stays flat in the size of the tree. Workers
are forked once the tree has been walked (they are sent nothing but paths) and only on
Linux; a small tree, or one validated against a live cluster, stays in one process.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Generic, TypeVar

from outfitter.validate.documents import DocItem, InputProblem, iter_docs, read_text

if TYPE_CHECKING:
    from multiprocessing.pool import AsyncResult, Pool

T = TypeVar("T")

MIN_FILES = 2000  # below this a pool costs about what it saves (measured on 2 cores)
MAX_WORKERS = 4  # the pass itself (one process) takes the documents no faster than this
CHUNK = 128  # files per task at most (fewer for a short list, to share it out evenly)
AHEAD = 4  # chunks in flight per worker
TIMEOUT = 300.0  # seconds for one chunk before giving up on the workers


def parse_file(path: str) -> list[DocItem]:
    """A file's documents as the pass reads them (validate.kustomize.Builder.documents)."""
    text = read_text(path)
    if isinstance(text, InputProblem):
        return [text]
    return list(iter_docs(text))


def _ignore_interrupt() -> None:
    """Workers leave Ctrl-C to the pass, which stops them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_chunk(func: Callable[[str], object], paths: list[str]) -> list[bytes | None]:
    out: list[bytes | None] = []
    for path in paths:
        try:
            out.append(pickle.dumps(func(path), protocol=pickle.HIGHEST_PROTOCOL))
        except Exception:  # e.g. too deep to pickle: read in-process
            out.append(None)
    return out


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def can_fork() -> bool:
    return sys.platform.startswith("linux") and \
        "fork" in multiprocessing.get_all_start_methods()


def idle_cores(cores: int) -> float:
    """Cores other processes leave free (the 1-minute load average), as `make -l` judges."""
    try:
        return cores - os.getloadavg()[0]
    except OSError:
        return float(cores)


def worker_count(requested: int | None, files: int) -> int:
    """Workers for a tree of `files` files: `requested` if given (1: none), else one per
    core (up to MAX_WORKERS) when the tree is large enough and a core is idle. On a machine
    other processes keep busy, workers only compete for the same cores and add the cost of
    sending their results (a third more CPU time, measured): the pass stays in one process."""
    if not can_fork():
        return 1
    if requested is not None:
        return max(1, requested)
    if files < MIN_FILES:
        return 1
    cores = available_cores()
    if cores < 2 or idle_cores(cores) < 1:
        return 1
    return min(cores, MAX_WORKERS)


def _chunks(paths: list[str], size: int) -> Iterator[list[str]]:
    """Chunks of `size` paths, the first ones smaller: the pass starts on the first files
    while the workers are still on the next ones."""
    start, step = 0, min(8, size)
    while start < len(paths):
        yield paths[start:start + step]
        start += step
        step = min(size, step * 2)


class Workers:
    """A pool of forked workers; close() it."""

    def __init__(self, workers: int) -> None:
        self.size = workers
        self.pool: Pool | None = multiprocessing.get_context("fork").Pool(
            workers, initializer=_ignore_interrupt)

    def reader(self, func: Callable[[str], T], paths: list[str]) -> Reader[T]:
        """func(path) for each path, worked out ahead; func must be a module's function."""
        return Reader(self, func, paths)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = None


class Reader(Generic[T]):
    """Results of func(path), handed out in the order the paths were listed."""

    def __init__(self, workers: Workers, func: Callable[[str], T], paths: list[str]) -> None:
        self._workers = workers
        self._func = func
        self._chunks = _chunks(paths, max(8, min(CHUNK, len(paths) // (AHEAD * workers.size))))
        self._pending: deque[tuple[list[str], AsyncResult[list[bytes | None]]]] = deque()
        self._ahead = AHEAD * workers.size
        self._paths: list[str] = []
        self._blobs: list[bytes | None] = []
        self._next = 0
        self._fill()

    def _fill(self) -> None:
        while self._workers.pool is not None and len(self._pending) < self._ahead:
            chunk = next(self._chunks, None)
            if chunk is None:
                return
            self._pending.append(
                (chunk, self._workers.pool.apply_async(_run_chunk, (self._func, chunk))))

    def take(self, path: str) -> T | None:
        """The result for `path` if it is the next path listed; None: work it out here."""
        if self._next >= len(self._paths):
            if not self._pending:
                return None
            chunk, result = self._pending.popleft()
            try:
                blobs = result.get(TIMEOUT)
            except Exception:  # a worker lost: the rest is read in-process
                self._workers.close()
                self._pending.clear()
                blobs = [None] * len(chunk)
            self._paths, self._blobs, self._next = chunk, blobs, 0
            self._fill()
        if self._paths[self._next] != path:
            return None
        blob = self._blobs[self._next]
        self._blobs[self._next] = None
        self._next += 1
        if blob is None:
            return None
        value: T = pickle.loads(blob)
        return value
