"""Files parsed ahead of the pass by a forked copy of this process, on another core.

On a cold run (nothing in the parse cache) parsing the files the pass validates is a third
of the run, and the pass itself keeps one core busy: a forked copy parses them meanwhile, and
the pass takes each file's documents from it when they are there. The copy starts as soon as
the scan has read the files, so that it works while the repository model and the pass's
plan are made (a core idle before): in the files' order at first, then in the pass's order
once the plan has it (prefer()). The pass never waits for the copy: a file the copy has not
reached yet is parsed in the pass, as it would be without the copy. The documents are the
same either way (the parser is the same), so the result never depends on how far the copy
got, or whether it started, ran, or died.

The copy writes into memory both processes share, never blocked by a reader: each record
is the file's text digest, its documents as the parse cache keeps them (parse_cache.encode)
and a checksum of both, its length written last; a record whose checksum does not match
yet (not all of it visible to this process) is read again on the next call.
"""

from __future__ import annotations

import contextlib
import hashlib
import mmap
import os
import signal
import struct
from collections.abc import Iterator, Sequence

from outfitter.validate.documents import InputProblem, iter_docs, read_text
from outfitter.validate.parse_cache import encode, text_digest

_HEAD = struct.Struct("<I")  # a record's length, 0 until the record is written whole
_SUM = 8  # bytes of a record's checksum
_DIGEST = 16  # bytes of a text digest (parse_cache.text_digest)
_SPACE_PER_CHAR = 4  # room reserved per character of text: encoded documents are larger
_INDEX = struct.Struct("<I")  # an index into the files, in the pass's order (prefer())


class ParseAhead:
    """A forked copy parsing `files` ([(path, text or None to read it, its digest or
    None)]) in that order; take() gives what it has parsed since the last call."""

    def __init__(self, files: Sequence[tuple[str, str | None, bytes | None]]) -> None:
        chars = sum(len(text) if text is not None else 4096 for _, text, _ in files)
        # Anonymous shared memory is given pages as they are written: reserving is free.
        self._memory = mmap.mmap(-1, (1 << 20) + _SPACE_PER_CHAR * chars)
        # The pass's order, when known: its length (plus one; 0 until then) written last.
        self._order = mmap.mmap(-1, _HEAD.size + _INDEX.size * len(files))
        self._count = len(files)
        self._offset = 0
        try:
            self._pid = os.fork()
        except OSError:
            self._memory.close()
            self._order.close()
            raise
        if self._pid == 0:  # the copy: parse, write, and leave without the parent's exits
            status = 1
            try:
                _write_records(self._memory, files, self._order)
                status = 0
            finally:
                os._exit(status)

    def prefer(self, order: Sequence[int]) -> None:
        """Parse these files (indices into `files`) next, in this order; the others not at
        all. Given once: the copy takes the order between two files."""
        order = [index for index in order if 0 <= index < self._count][:self._count]
        for at, index in enumerate(order):
            _INDEX.pack_into(self._order, _HEAD.size + at * _INDEX.size, index)
        _HEAD.pack_into(self._order, 0, len(order) + 1)  # last: the order is whole

    def take(self) -> Iterator[tuple[bytes, bytes]]:
        """(text digest, encoded documents) of the files parsed since the last call."""
        memory = self._memory
        while self._offset + _HEAD.size <= len(memory):
            (length,) = _HEAD.unpack_from(memory, self._offset)
            if length == 0:
                return
            start = self._offset + _HEAD.size
            record = memory[start:start + length]
            body, check = record[:-_SUM], record[-_SUM:]
            if len(record) != length or _checksum(body) != check:
                return  # not all of it is visible here yet
            self._offset = start + length
            yield body[:_DIGEST], body[_DIGEST:]

    def close(self) -> None:
        """The copy stopped (wherever it got to) and its memory released."""
        if self._pid > 0:
            with contextlib.suppress(ProcessLookupError):  # it has finished
                os.kill(self._pid, signal.SIGKILL)
            os.waitpid(self._pid, 0)
            self._pid = 0
        self._memory.close()
        self._order.close()


def _write_records(memory: mmap.mmap, files: Sequence[tuple[str, str | None, bytes | None]],
                   order: mmap.mmap) -> None:
    offset = 0
    for path, kept, digest in _in_order(files, order):
        text = kept if kept is not None else read_text(path)
        if isinstance(text, InputProblem):
            continue
        blob = encode(list(iter_docs(text)))
        if blob is None:
            continue  # a file with a problem is parsed in the pass, where it is reported
        if kept is None or digest is None:  # read now: its digest is taken again
            digest = text_digest(text)
        body = digest + blob
        record = body + _checksum(body)
        end = offset + _HEAD.size + len(record)
        if end + _HEAD.size > len(memory):
            return  # out of room: the pass parses the rest
        memory[offset + _HEAD.size:end] = record
        _HEAD.pack_into(memory, offset, len(record))  # last: the record is whole
        offset = end


def _in_order(files: Sequence[tuple[str, str | None, bytes | None]], order: mmap.mmap
              ) -> Iterator[tuple[str, str | None, bytes | None]]:
    """The files in their order until the pass's order is known (read between two files),
    then those of the pass's order not given yet, in that order."""
    done: set[int] = set()
    for index, file in enumerate(files):
        (count,) = _HEAD.unpack_from(order, 0)
        if count:
            break
        done.add(index)
        yield file
    else:
        return
    for at in range(count - 1):
        (index,) = _INDEX.unpack_from(order, _HEAD.size + at * _INDEX.size)
        if index not in done:
            done.add(index)
            yield files[index]


def _checksum(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=_SUM).digest()


__all__ = ["ParseAhead"]
