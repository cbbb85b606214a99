"""A map over many items that uses every core: the items are dealt out to forked copies of
this process, each sends its results back through a pipe, and the results come back in the
items' order.

Reading and parsing the files of a tree is most of a cold validate run and each file's
work stands alone, so it is the part worth spreading over cores. fork() is used (not a
process pool) because the copy starts at once with everything already imported and read
(the parse cache, the schemas): no start-up to pay, nothing to send but the items' indices.

Anything short of a clean result from a copy (it could not be made, died, was killed, sent
a short or broken reply) makes the parent compute that share itself, so the answer never
depends on whether the copies worked. The map runs in one process where fork is missing or
unsafe: another thread is running (a forked copy would inherit its locks held), or there are
too few items to be worth a process.
"""

from __future__ import annotations

import os
import pickle
import signal
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

MIN_ITEMS = 200  # below this a forked copy costs more than it saves


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def workers_for(items: int, workers: int | None = None, min_items: int | None = None) -> int:
    """The processes fork_map would use for so many items: 1 where it maps here."""
    min_items = MIN_ITEMS if min_items is None else min_items
    if items < min_items or not hasattr(os, "fork") or threading.active_count() > 1:
        return 1
    count = cores() if workers is None else workers
    return max(1, min(count, items // max(1, min_items // 2)))


def fork_map(func: Callable[[T], R], items: Sequence[T], workers: int | None = None,
             min_items: int | None = None) -> list[R]:
    """[func(item) for item in items], shared out over `workers` processes (default: the
    cores). Results must pickle; func must not rely on side effects in this process for
    the items a copy handles."""
    count = workers_for(len(items), workers, min_items)
    if count < 2:
        return [func(item) for item in items]
    # Dealt round-robin, so that large files clustered in one folder are shared out too.
    shares = [range(k, len(items), count) for k in range(count)]
    children: list[tuple[int, int] | None] = []  # None: no copy could be made for it
    results: list[R | None] = [None] * len(items)
    try:
        for share in shares[1:]:
            children.append(_start(func, items, share))
        for index in shares[0]:
            results[index] = func(items[index])
    except BaseException:
        for child in children:  # interrupted: no copy outlives this call
            if child is not None:
                os.kill(child[0], signal.SIGKILL)
                os.close(child[1])
                os.waitpid(child[0], 0)
        raise
    for share, child in zip(shares[1:], children, strict=True):
        part: list[R] | None = _collect(*child, len(share)) if child is not None else None
        if part is None:  # the copy failed, or was never made: its share is done here
            part = [func(items[index]) for index in share]
        for index, result in zip(share, part, strict=True):
            results[index] = result
    return results  # type: ignore[return-value]  # every index was filled above


def _start(func: Callable[[T], R], items: Sequence[T], share: range
           ) -> tuple[int, int] | None:
    """The copy computing `share` (its pid, the pipe to read), or None when the system has
    no process (or pipe) to spare."""
    try:
        read_end, write_end = os.pipe()
    except OSError:
        return None
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return None
    if pid == 0:  # the copy: compute, send, and leave without running the parent's exits
        status = 1
        try:
            os.close(read_end)
            data = pickle.dumps([func(items[index]) for index in share],
                                protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write_end, "wb") as out:
                out.write(data)
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    return pid, read_end


def _collect(pid: int, pipe: int, expected: int) -> list[R] | None:
    """A copy's results, or None when it did not finish cleanly."""
    try:
        with os.fdopen(pipe, "rb") as source:
            data = source.read()
    finally:
        _, status = os.waitpid(pid, 0)
    if status != 0:
        return None
    try:
        part = pickle.loads(data)
    except Exception:  # a short or broken reply
        return None
    return part if isinstance(part, list) and len(part) == expected else None


__all__ = ["cores", "fork_map", "workers_for"]
