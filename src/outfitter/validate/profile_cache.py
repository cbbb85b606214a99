"""The namespaces a tree's profile names, kept between runs.

Validate reads the profile only for the namespaces it names (the existing stack's), but
reading it means importing pydantic and every add-on's options: more than a small tree's
whole validation. So the answer is kept in the cache folder, one file per profile location,
with what it was made from: a digest of the profile's text and the size and modification
time of every module file loaded when it was made (outfitter's own, pydantic, PyYAML, …).
Any of them changed — the profile edited, outfitter or a library upgraded — and the profile
is read again. A profile with problems is never kept: its problems are reported every run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from outfitter.files import write_keeping

_FORMAT = "outfitter-profile-namespaces/1"
BUILT_IN = "(built-in profile)"


def namespaces(profile: Path | None, load: Callable[[], set[str]],
               cache: Path | None) -> set[str]:
    """`load()`'s answer for the profile file (None: the built-in one), from the cache when
    nothing it was made from has changed; `load` is called, and its answer kept, otherwise."""
    if cache is None:
        return load()
    where = os.path.realpath(profile) if profile is not None else BUILT_IN
    try:
        text = Path(where).read_bytes() if profile is not None else BUILT_IN.encode()
    except OSError:
        return load()  # reported by load, as every run
    digest = hashlib.blake2b(text, digest_size=16).hexdigest()
    kept = cache / f"profile-{hashlib.blake2b(where.encode(), digest_size=12).hexdigest()}.json"
    found = _read(kept, where, digest)
    if found is not None:
        return found
    answer = load()
    entry = {"format": _FORMAT, "profile": where, "digest": digest,
             "modules": _module_files(), "namespaces": sorted(answer)}
    with contextlib.suppress(OSError):  # a cache that cannot be written is only slower
        write_keeping(kept, json.dumps(entry, separators=(",", ":")).encode())
    return answer


def _read(kept: Path, where: str, digest: str) -> set[str] | None:
    try:
        entry: Any = json.loads(kept.read_text())
        if not (isinstance(entry, dict) and entry.get("format") == _FORMAT
                and entry.get("profile") == where and entry.get("digest") == digest):
            return None
        for path, size, mtime in entry["modules"]:
            info = os.stat(path)
            if info.st_size != size or info.st_mtime_ns != mtime:
                return None
        return {str(name) for name in entry["namespaces"]}
    except (OSError, ValueError, KeyError, TypeError):
        return None  # missing, unreadable, another format or a module gone: read again


def _module_files() -> list[tuple[str, int, int]]:
    """Every module file this process has loaded, with its size and modification time."""
    found = []
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if not isinstance(path, str):
            continue
        with contextlib.suppress(OSError):
            info = os.stat(path)
            found.append((path, info.st_size, info.st_mtime_ns))
    return sorted(set(found))
