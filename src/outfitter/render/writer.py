"""Write a rendered tree without ever losing what the user owns.

outfitter keeps a record (`.outfitter.json` at the tree's root) of every file it wrote and
the hash of what it wrote. On a re-render it rewrites only those files; a file the user
edited since, or a file outfitter never wrote, is a conflict: nothing is written and each
conflict is reported on its own line (`--force` takes over edited files, never foreign ones).
Files outfitter wrote before but no longer renders are removed only when unchanged. Each file
is written to a temporary file and renamed, so none is ever half-written.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from outfitter.errors import InputError

RECORD = ".outfitter.json"


class WriteConflict(InputError):
    """Files in the way of a render; nothing was written."""


@dataclass
class WriteReport:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    """Stale files outfitter wrote but the user changed: left in place."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_record(root: Path) -> dict[str, str]:
    path = root / RECORD
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
        files = data["files"]
        if not isinstance(files, dict):
            raise TypeError
        return {str(k): str(v) for k, v in files.items()}
    except (ValueError, KeyError, TypeError):
        raise WriteConflict([f"{path}: unreadable record of outfitter's files; "
                             f"fix or remove it by hand"]) from None


def write_tree(root: Path, files: dict[str, str], force: bool = False) -> WriteReport:
    record = read_record(root)
    conflicts = []
    for rel in files:
        path = root / rel
        if not path.exists():
            continue
        if path.is_dir():
            conflicts.append(f"{path}: a directory is in the way of a file outfitter writes")
        elif rel not in record:
            conflicts.append(f"{path}: exists and was not written by outfitter; "
                             f"move it away or render to another folder")
        elif sha256(path.read_bytes()) != record[rel] and not force:
            conflicts.append(f"{path}: changed since outfitter wrote it; "
                             f"keep your change in the profile, or --force to overwrite")
    if conflicts:
        raise WriteConflict(conflicts)

    report = WriteReport()
    new_record: dict[str, str] = {}
    for rel, text in files.items():
        data = text.encode()
        new_record[rel] = sha256(data)
        path = root / rel
        if path.exists() and path.read_bytes() == data:
            report.unchanged.append(rel)
            continue
        atomic_write(path, data)
        report.written.append(rel)

    for rel, digest in sorted(record.items()):
        if rel in files:
            continue
        path = root / rel
        if not path.exists():
            continue
        if sha256(path.read_bytes()) == digest:
            path.unlink()
            report.removed.append(rel)
            _remove_empty_parents(path.parent, root)
        else:
            report.kept.append(rel)
    atomic_write(root / RECORD, (json.dumps(
        {"version": 1, "files": dict(sorted(new_record.items()))}, indent=2) + "\n").encode())
    return report


def record_edit(root: Path, rel: str, before: bytes | None = None) -> bool:
    """Take a file outfitter wrote, as edited now by outfitter itself (`policy enforce`, which
    changes the profile to match), as outfitter's: the next render then neither refuses it nor
    sees a change. With `before`, only when the record still holds those bytes' hash, so a
    user's own earlier edit is never passed off as outfitter's. Returns whether it did."""
    record = read_record(root)
    if rel not in record or (before is not None and record[rel] != sha256(before)):
        return False
    record[rel] = sha256((root / rel).read_bytes())
    atomic_write(root / RECORD, (json.dumps(
        {"version": 1, "files": dict(sorted(record.items()))}, indent=2) + "\n").encode())
    return True


def _remove_empty_parents(folder: Path, root: Path) -> None:
    while folder != root and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
