"""The documents of a tree's files kept between runs, by the files' content.

Parsing YAML is most of a validate run, and most runs (a pre-commit hook, an editor, a
loop while fixing findings) see files that have not changed since the last one. The cache
is one file per validated root in the user's cache directory: for each file read last time,
the digest of its text and its documents as `marshal` bytes (the format Python's own
bytecode cache uses; documents are only maps, lists, strings, numbers, booleans and None).
A file is looked up by the digest of the text just read, so a changed file is parsed again;
the key also holds a digest of the loader's own source and PyYAML's version, so a loader
that changes reads nothing cached. Files whose parse found a problem are never cached (the
problem is reported the same way every run).

A file whose status (size, times, inode, mode) is the one recorded last run is not even
read again: its digest and what the scan found in its text (scanned()) are taken from the
last run, as git's index does. A file changed less than RACY_NS before it was looked at is
never recorded so (two writes within one tick of the file system's clock can leave the same
status behind), so it is read every time until it has settled.

The cache is rewritten at the end of a run with the files of that run only (temp file and
rename), so it never grows past one tree. Anything unreadable in it is ignored.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import yaml

from outfitter import yamlio
from outfitter.validate import documents
from outfitter.validate.documents import DocItem, InputProblem

_FORMAT = b"outfitter-parse-cache/3"
KEEP = 32  # trees whose cache is kept (the most recently validated ones)
RACY_NS = 2_000_000_000  # a file changed this recently is read again (FAT's clock: 2 s)

# A file's status as the cache compares it: mode, size, mtime and ctime (ns), inode, device.
Seen = tuple[int, int, int, int, int, int]


def cache_dir() -> Path | None:
    """$OUTFITTER_PARSE_CACHE (`off`: no cache), else the user's cache directory."""
    chosen = os.environ.get("OUTFITTER_PARSE_CACHE", "").strip()
    if chosen:
        return None if chosen.lower() in ("off", "0", "no", "false") else Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "outfitter" / "parsed"


def _loader_digest() -> bytes:
    """What the documents depend on: the loader's source and PyYAML's version."""
    digest = hashlib.blake2b(_FORMAT, digest_size=16)
    digest.update(yaml.__version__.encode())
    digest.update(b"C" if hasattr(yaml, "CSafeLoader") else b"Py")
    for module in (documents, yamlio):
        source = getattr(module, "__file__", None)
        try:
            digest.update(Path(str(source)).read_bytes())
        except OSError:
            digest.update(b"?")
    return digest.digest()


def text_digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class ParseCache:
    """Documents by text digest: those of the last run (read), those of this run (kept)."""

    def __init__(self, folder: Path | None, root: str) -> None:
        """folder None: kept in memory for this run only (documents parsed by forked
        workers are handed over through it), never read or written."""
        name = hashlib.blake2b(os.path.realpath(root).encode(), digest_size=12).hexdigest()
        self.path = folder / f"{name}.bin" if folder is not None else None
        self._key = _loader_digest()
        self._old: dict[bytes, bytes] = {}
        self._new: dict[bytes, bytes] = {}
        # path -> (its status, its text's digest, what the scan found in it): last run's,
        # and this run's.
        self._seen_old: dict[str, tuple[Seen, bytes, int]] = {}
        self._seen_new: dict[str, tuple[Seen, bytes, int]] = {}
        # The files the last run scanned, and this one (the engine counts them): a tree
        # the last run saw is read from the cache, the work too small to share out.
        self.last_files = 0
        self.files = 0
        if self.path is not None:
            self._read()
        self._added = False  # entries added to _old this run (parsed by workers)
        # Documents parsed ahead of the pass (validate.parse_ahead): asked for new ones
        # when a digest is not here yet.
        self.ahead: Callable[[], Iterable[tuple[bytes, bytes]]] | None = None
        self._settled = time.time_ns() - RACY_NS  # files changed after this are read again

    def _read(self) -> None:
        assert self.path is not None
        try:
            data = marshal.loads(self.path.read_bytes())
        except (OSError, EOFError, ValueError, TypeError):
            return
        if isinstance(data, tuple) and len(data) == 4 and data[0] == self._key \
                and isinstance(data[1], dict) and isinstance(data[2], dict) \
                and isinstance(data[3], int):
            self._old, self._seen_old, self.last_files = data[1], data[2], data[3]

    def scanned(self, path: str) -> tuple[Seen | None, tuple[bytes, int] | None]:
        """The file's status (None when it changed too recently to be told apart by it, or
        cannot be read), and, when it is last run's, last run's (digest, scan flags)."""
        if self.path is None:  # not kept between runs: nothing to compare with
            return None, None
        try:
            info = os.stat(path)
        except (OSError, ValueError):
            return None, None
        if info.st_mtime_ns > self._settled or info.st_ctime_ns > self._settled:
            return None, None
        seen = (info.st_mode, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino,
                info.st_dev)
        found = self._seen_old.get(path)
        if not (isinstance(found, tuple) and len(found) == 3 and found[0] == seen
                and isinstance(found[1], bytes) and isinstance(found[2], int)):
            return seen, None  # not recorded, changed, or not as this version writes it
        return seen, (found[1], found[2])

    def record(self, path: str, seen: Seen, digest: bytes, flags: int) -> None:
        """What the scan found in a file as it is now, for scanned() next run."""
        self._seen_new[path] = (seen, digest, flags)

    def __len__(self) -> int:
        return len(self._old)

    def get(self, digest: bytes) -> list[DocItem] | None:
        blob = self._old.get(digest)
        if blob is None and self.ahead is not None:
            for found, parsed_ahead in self.ahead():
                self.add(found, parsed_ahead)
            blob = self._old.get(digest)
        if blob is None:
            return None
        try:
            docs = marshal.loads(blob)
        except (EOFError, ValueError, TypeError):
            return None
        if not isinstance(docs, list):
            return None
        self._new[digest] = blob
        return list(enumerate(docs))

    def __contains__(self, digest: bytes) -> bool:
        return digest in self._old or digest in self._new

    def add(self, digest: bytes, blob: bytes) -> None:
        """Documents parsed elsewhere (a forked worker), as encode() gave them."""
        self._old[digest] = self._new[digest] = blob
        self._added = True

    def put(self, digest: bytes, items: list[DocItem]) -> None:
        """The documents of a file parsed without a problem."""
        if digest in self._new:
            return
        blob = encode(items)
        if blob is not None:
            self._new[digest] = blob

    def save(self) -> None:
        """This run's entries, written whole (temp file and rename); failures ignored."""
        if self.path is None or (not self._added and self._new.keys() == self._old.keys()
                                 and self._seen_new == self._seen_old
                                 and self.files == self.last_files):
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".parsed-", dir=self.path.parent)
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(marshal.dumps((self._key, self._new, self._seen_new, self.files)))
                os.replace(tmp, self.path)
            except BaseException:
                os.unlink(tmp)
                raise
            self._prune()
        except OSError:
            pass

    def _prune(self) -> None:
        """Only the caches of the KEEP trees validated last stay, and as many profiles'
        namespaces (validate.profile_cache; the schema definitions, one per Kubernetes
        version, stay)."""
        assert self.path is not None
        for pattern in ("*.bin", "profile-*.json"):
            found = sorted(self.path.parent.glob(pattern), key=lambda p: p.stat().st_mtime,
                           reverse=True)
            for old in found[KEEP:]:
                old.unlink(missing_ok=True)


def encode(items: list[DocItem]) -> bytes | None:
    """The documents of a file parsed without a problem as the cache keeps them; None for
    a file with a problem (parsed again each time, so that it is reported alike) or a
    type marshal does not know."""
    if any(isinstance(item, InputProblem) for item in items):
        return None
    try:
        return marshal.dumps([item[1] for item in items if not isinstance(item, InputProblem)])
    except ValueError:
        return None


def parsed(text: str, cache: ParseCache, digest: bytes | None = None) -> list[DocItem]:
    """The text's documents: from the cache, else parsed (and kept for the next run)."""
    digest = digest or text_digest(text)
    items = cache.get(digest)
    if items is None:
        items = list(documents.iter_docs(text))
        cache.put(digest, items)
    return items

