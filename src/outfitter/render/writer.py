"""Write a rendered tree into a living repository without ever losing what the user owns.

outfitter keeps a record (`.outfitter.json` at the repository's root) of every file it wrote
with the hash of what it wrote, and the bytes themselves as the merge base
(`.outfitter/base/<hash>`). A re-render is a three-way merge per file: base = what outfitter
last wrote, theirs = the file now, ours = the new render. A change only Renovate or a person
made survives; a change only the profile made is written; the same lines changed both ways is
a conflict, reported with its diff, and that file is left as it is (`--force` drops theirs).
A file outfitter never wrote is never overwritten, unless it already holds exactly the render.

Files the user owns but outfitter must list itself in (a parent `kustomization.yaml`, the
Renovate configuration) are edited, never owned: outfitter adds its own entries and, later,
removes only the entries it added (kept in the record under `edits`).

The render is journaled: the record is rewritten (atomically) after each file, and a new
file is claimed in it before it is written, so a render killed at any point runs again
cleanly (never finding a file of its own that it takes for the user's). Every path is
resolved and must stay inside the output folder, never through a symbolic link; a record
entry that points outside is refused before anything is touched. New files get the usual
0644 (the umask decides), edited files keep their mode.
"""

from __future__ import annotations

import contextlib
import difflib
import fcntl
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from outfitter.errors import InputError
from outfitter.render.merge3 import merge3

RECORD = ".outfitter.json"
BASES = ".outfitter/base"


class WriteConflict(InputError):
    """The render cannot go ahead; nothing was written."""


class NotEditable(Exception):
    """A shared file outfitter cannot edit without touching what it does not own."""


class SharedKind(Protocol):
    """How to read and edit the entries of a file the user owns."""

    required: bool
    """Whether the render cannot go ahead without the edit (a parent kustomization), or the
    user is told the line to add instead (the Renovate configuration)."""

    def entries(self, text: str) -> list[str]: ...

    def edit(self, text: str, add: list[str], remove: list[str]) -> str: ...

    def manual(self, rel: str, add: list[str]) -> str:
        """What to tell the user when the edit is not safe."""
        ...


@dataclass(frozen=True)
class SharedEdit:
    rel: str
    wanted: tuple[str, ...]
    kind: SharedKind


@dataclass
class Conflict:
    rel: str
    diff: str


@dataclass
class WriteReport:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    """Stale files outfitter wrote but the user changed: left in place."""
    merged: list[str] = field(default_factory=list)
    """Written with the user's (or Renovate's) own changes kept."""
    theirs: list[str] = field(default_factory=list)
    """Left as they are: only the user changed them since outfitter wrote them."""
    edited: list[str] = field(default_factory=list)
    """Files the user owns in which outfitter added or removed its entries."""
    conflicts: list[Conflict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def changes(self) -> bool:
        return bool(self.written or self.merged or self.removed or self.edited or self.conflicts)


@dataclass
class Record:
    files: dict[str, str] = field(default_factory=dict)
    edits: dict[str, list[str]] = field(default_factory=dict)
    addons: dict[str, Any] = field(default_factory=dict)
    """What each rendered add-on leaves behind when turned off (namespace, volumes, buckets)."""

    def dump(self) -> bytes:
        data: dict[str, Any] = {"version": 2, "files": dict(sorted(self.files.items()))}
        if self.edits:
            data["edits"] = {k: v for k, v in sorted(self.edits.items()) if v}
        if self.addons:
            data["addons"] = dict(sorted(self.addons.items()))
        return (json.dumps(data, indent=2) + "\n").encode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: Path, data: bytes) -> None:
    """Write through a temporary file and one rename. A new file gets 0666 less the umask
    (mkstemp's 0600 would hide it from the user's group); an existing one keeps its mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _record_path(root: Path) -> Path:
    path = root / RECORD
    if path.is_symlink() or path.is_dir():
        raise WriteConflict([f"{path}: is a folder or a link, not outfitter's record; "
                             f"move it away"])
    return path


def load_record(root: Path) -> Record:
    path = _record_path(root)
    if not path.exists():
        return Record()
    try:
        data = json.loads(path.read_text())
        files = data["files"]
        edits = data.get("edits", {})
        addons = data.get("addons", {})
        if not isinstance(files, dict) or not isinstance(edits, dict) or not isinstance(
                addons, dict):
            raise TypeError
        record = Record({str(k): str(v) for k, v in files.items()},
                        {str(k): [str(e) for e in v] for k, v in edits.items()}, addons)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise WriteConflict([f"{path}: unreadable record of outfitter's files; "
                             f"fix or remove it by hand"]) from None
    bad = [f"{path}: entry {rel!r} points outside the repository; the record was tampered "
           f"with, nothing is written or removed"
           for rel in [*record.files, *record.edits] if not _is_plain_relative(rel)]
    if bad:
        raise WriteConflict(bad)
    return record


def read_record(root: Path) -> dict[str, str]:
    """Files outfitter wrote, with the hash of what it wrote."""
    return load_record(root).files


def _save_record(root: Path, record: Record) -> None:
    atomic_write(root / RECORD, record.dump())


def _is_plain_relative(rel: str) -> bool:
    p = PurePosixPath(rel)
    return bool(rel) and not p.is_absolute() and ".." not in p.parts and "\\" not in rel \
        and p.parts[:1] != (".",) and not rel.startswith("/")


def check_root(root: Path) -> list[str]:
    """Problems with the output folder itself: below a file, or a file."""
    for parent in [root, *root.parents]:
        if parent.exists():
            if not parent.is_dir():
                return [f"{root}: {'is a file' if parent == root else f'{parent} is a file'}; "
                        f"--out must be a folder (the Git repository's root)"]
            break
    return []


def confine(root: Path, rel: str) -> str | None:
    """Why `rel` cannot be written or removed under root, or None when it can: it must be a
    plain relative path, and no folder on the way (nor the file) may be a symbolic link."""
    if not _is_plain_relative(rel):
        return f"{rel}: not a path inside the output folder"
    here = root
    parts = PurePosixPath(rel).parts
    for i, part in enumerate(parts):
        here = here / part
        if here.is_symlink():
            what = "file" if i == len(parts) - 1 else "folder"
            return (f"{here}: a symbolic link ({what}) inside the output folder; outfitter "
                    f"does not write through links")
        if i < len(parts) - 1 and here.exists() and not here.is_dir():
            return f"{here}: a file is in the way of the folder outfitter writes into"
    if not here.resolve().is_relative_to(root.resolve()):
        return f"{rel}: resolves outside the output folder"
    return None


def _base(root: Path, digest: str) -> bytes | None:
    try:
        return (root / BASES / digest).read_bytes()
    except OSError:
        return None


def _keep_base(root: Path, data: bytes) -> None:
    path = root / BASES / sha256(data)
    if not path.exists():
        atomic_write(path, data)


def _diff(rel: str, theirs: bytes, ours: bytes) -> str:
    return "".join(difflib.unified_diff(
        theirs.decode(errors="replace").splitlines(keepends=True),
        ours.decode(errors="replace").splitlines(keepends=True),
        fromfile=f"{rel} (now)", tofile=f"{rel} (render)"))


@dataclass
class _Action:
    rel: str
    op: str  # write | accept | theirs | remove | drop | edit
    data: bytes = b""
    base: bytes = b""
    record_add: list[str] = field(default_factory=list)


def plan_writes(
    root: Path, files: dict[str, str], force: bool = False,
    edits: tuple[SharedEdit, ...] = (), addons: dict[str, Any] | None = None,
) -> tuple[list[_Action], WriteReport, Record]:
    """What writing would do, touching nothing. Raises WriteConflict (nothing written) on
    input that cannot be used: paths outside the folder, foreign files in the way, a shared
    file that must be edited and cannot be."""
    problems = check_root(root)
    if problems:
        raise WriteConflict(problems)
    record = load_record(root)
    report = WriteReport()
    actions: list[_Action] = []
    for rel in [*files, *(e.rel for e in edits)]:
        why = confine(root, rel)
        if why:
            problems.append(why)
    for rel in [*record.files, *record.edits]:
        if rel not in files and (why := confine(root, rel)):
            problems.append(why)
    if problems:
        raise WriteConflict(list(dict.fromkeys(problems)))  # one line per link, not per file

    for rel, text in files.items():
        path, ours = root / rel, text.encode()
        if path.is_dir():
            problems.append(f"{path}: a directory is in the way of a file outfitter writes")
            continue
        theirs = path.read_bytes() if path.exists() else None
        if theirs == ours:
            report.unchanged.append(rel)
            actions.append(_Action(rel, "accept", ours))
            continue
        if theirs is None:
            actions.append(_Action(rel, "write", ours))
            continue
        if rel not in record.files:
            problems.append(f"{path}: exists and was not written by outfitter; "
                            f"move it away or render to another folder")
            continue
        digest = record.files[rel]
        base = _base(root, digest)
        if sha256(theirs) == digest:
            actions.append(_Action(rel, "write", ours))
        elif base is not None and base == ours:
            report.theirs.append(rel)
            actions.append(_Action(rel, "theirs", base=base))
        elif force:
            actions.append(_Action(rel, "write", ours))
        else:
            merged = None if base is None else merge3(
                base.decode(errors="strict"), theirs.decode(errors="strict"), text)
            if merged is None:
                report.conflicts.append(Conflict(rel, _diff(rel, theirs, ours)))
                if base is not None:
                    actions.append(_Action(rel, "theirs", base=base))
            else:
                report.merged.append(rel)
                actions.append(_Action(rel, "write", merged.encode(), base=ours))

    for edit in edits:
        path = root / edit.rel
        ours_before = record.edits.get(edit.rel, [])
        try:
            text = path.read_text()
            present = edit.kind.entries(text)
            add = [e for e in edit.wanted if e not in present]
            remove = [e for e in ours_before if e not in edit.wanted and e in present]
            new_text = edit.kind.edit(text, add, remove) if add or remove else text
        except (OSError, UnicodeDecodeError, NotEditable) as err:
            add = [e for e in edit.wanted if e not in ours_before]
            message = edit.kind.manual(edit.rel, add)
            if edit.kind.required:
                problems.append(f"{path}: cannot be edited safely ({err}); {message}")
            else:
                report.notes.append(f"{path}: not edited ({err}); {message}")
            continue
        mine = [e for e in edit.wanted if e in ours_before or e in add]
        if new_text != text:
            actions.append(_Action(edit.rel, "edit", new_text.encode(), record_add=mine))
            report.edited.append(edit.rel)
        else:
            actions.append(_Action(edit.rel, "edit", record_add=mine))

    if problems:
        raise WriteConflict(problems)

    for rel, digest in sorted(record.files.items()):
        if rel in files:
            continue
        path = root / rel
        if not path.exists():
            actions.append(_Action(rel, "drop"))
        elif sha256(path.read_bytes()) == digest:
            actions.append(_Action(rel, "remove"))
            report.removed.append(rel)
        else:
            actions.append(_Action(rel, "drop"))
            report.kept.append(rel)
    report.written = [a.rel for a in actions if a.op == "write" and a.rel not in report.merged]
    record.addons = dict(addons or {})
    return actions, report, record


def apply_writes(root: Path, actions: list[_Action], record: Record,
                 on_step: Callable[[], None] | None = None) -> None:
    """Carry out the actions, rewriting the record after each so that a render killed at any
    point leaves a record that is true of the tree."""
    journal = load_record(root)
    journal.addons = record.addons
    _remove_stale_temporaries(root, [a.rel for a in actions] + [RECORD])
    for action in actions:
        rel = action.rel
        before = journal.dump()
        if action.op in ("write", "accept"):
            # A merged file keeps the render as its base; the file holds the user's changes.
            base = action.base or action.data
            _keep_base(root, base)
            journal.files[rel] = sha256(base)
            if action.op == "write":
                if not (root / rel).exists():
                    # Claim a new file before it lands: killed in between, the next render
                    # finds it recorded but missing and writes it; killed after an unclaimed
                    # write, it would find a file it did not write and take it for the user's.
                    _save_record(root, journal)
                    before = journal.dump()
                atomic_write(root / rel, action.data)
        elif action.op == "remove":
            (root / rel).unlink(missing_ok=True)
            _remove_empty_parents((root / rel).parent, root)
            journal.files.pop(rel, None)
        elif action.op == "drop":
            journal.files.pop(rel, None)
        elif action.op == "edit":
            # Claim the entries first: if the render dies before the edit, the next one adds
            # them again; if it dies after, they are already known as outfitter's.
            journal.edits[rel] = sorted(set(journal.edits.get(rel, [])) | set(action.record_add))
            _save_record(root, journal)
            if action.data:
                atomic_write(root / rel, action.data)
            journal.edits[rel] = list(action.record_add)
            if not journal.edits[rel]:
                del journal.edits[rel]
        if journal.dump() != before:
            _save_record(root, journal)
        if on_step is not None:
            on_step()
    _save_record(root, journal)
    _collect_bases(root, journal)


def _remove_stale_temporaries(root: Path, rels: list[str]) -> None:
    """Temporary files a killed render left beside the files it writes (atomic_write's
    `.<name>.<random>.tmp`); only those named after a file outfitter writes there."""
    by_folder: dict[Path, set[str]] = {}
    for rel in rels:
        path = root / rel
        by_folder.setdefault(path.parent, set()).add(path.name)
    by_folder.setdefault(root / BASES, set())
    for folder, names in by_folder.items():
        if not folder.is_dir() or folder.is_symlink():
            continue
        for tmp in folder.glob(".*.tmp"):
            m = _TEMPORARY.match(tmp.name)
            if m and (m.group(1) in names or folder == root / BASES) and tmp.is_file() \
                    and not tmp.is_symlink():
                tmp.unlink()


_TEMPORARY = re.compile(r"^\.(.+)\.[a-z0-9_]{8}\.tmp$")


def _collect_bases(root: Path, record: Record) -> None:
    folder = root / BASES
    if not folder.is_dir() or folder.is_symlink():
        return
    keep = set(record.files.values())
    for blob in folder.iterdir():
        if blob.name not in keep and blob.is_file() and not blob.is_symlink():
            blob.unlink()


@contextlib.contextmanager
def exclusive(root: Path) -> Iterator[None]:
    """One writing render per repository at a time: two at once would each take the other's
    new files for the user's, and remove each other's temporary files. The lock is on the
    folder itself (nothing is added to the repository) and goes with the process."""
    try:
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:  # not made yet (render makes it): nothing else can be writing there
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WriteConflict([f"{root}: another outfitter render is writing here; run "
                                 f"again when it has finished"]) from None
        yield
    finally:
        os.close(fd)


def write_tree(root: Path, files: dict[str, str], force: bool = False,
               edits: tuple[SharedEdit, ...] = (),
               addons: dict[str, Any] | None = None) -> WriteReport:
    actions, report, record = plan_writes(root, files, force, edits, addons)
    apply_writes(root, actions, record)
    return report


def record_edit(root: Path, rel: str, before: bytes | None = None) -> bool:
    """Take a file outfitter wrote, as edited now by outfitter itself (`policy enforce`, which
    changes the profile to match), as outfitter's: the next render then neither refuses it nor
    sees a change. With `before`, only when the record still holds those bytes' hash, so a
    user's own earlier edit is never passed off as outfitter's. Returns whether it did."""
    record = load_record(root)
    if rel not in record.files or (before is not None and record.files[rel] != sha256(before)):
        return False
    data = (root / rel).read_bytes()
    _keep_base(root, data)
    record.files[rel] = sha256(data)
    _save_record(root, record)
    return True


def _remove_empty_parents(folder: Path, root: Path) -> None:
    while folder != root and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
