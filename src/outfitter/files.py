"""Reading and rewriting a file the user owns (an edited manifest, the roadmap, the profile)
without surprising them.

- Reading: only a regular file (a FIFO would block forever), bounded in size, UTF-8; the
  text is returned exactly (CRLF and a BOM kept), so a rewrite changes only what it meant to.
- Writing: a temporary file beside the target, then one rename — a kill at any moment leaves
  the old file or the new one, never half of one. The file keeps its permission bits (a
  temporary file is created 0600), and a symlink is followed: the file it points to is
  rewritten and the link stays a link. A link that leads outside the folder the command
  works on is refused (`outside_root`), so an edit never lands somewhere the user did not
  point the command at.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import stat
import tempfile
from pathlib import Path

MAX_BYTES = 16 << 20
# The temporary file a write makes beside its target: mkstemp's `.<name>.<8 random>.tmp`.
TEMPORARY = re.compile(r"^\.(.+)\.[a-z0-9_]{8}\.tmp$")


class UnsafeFile(ValueError):
    """A file outfitter will not read or rewrite; `str()` is one line."""


def read_exact(path: Path, max_bytes: int = MAX_BYTES) -> str:
    where = str(path)
    try:
        fd = os.open(where, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
                     | getattr(os, "O_CLOEXEC", 0))
    except OSError as err:
        raise UnsafeFile(f"{where}: cannot read: {(err.strerror or str(err)).lower()}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise UnsafeFile(f"{where}: cannot read: {kind}")
        if info.st_size > max_bytes:
            raise UnsafeFile(f"{where}: too large to read ({info.st_size >> 20} MiB; the limit "
                             f"is {max_bytes >> 20} MiB)")
        data = b""
        while chunk := os.read(fd, 1 << 20):
            data += chunk
            if len(data) > max_bytes:
                raise UnsafeFile(f"{where}: too large to read")
    finally:
        os.close(fd)
    if b"\x00" in data[:8192]:
        raise UnsafeFile(f"{where}: a binary file, not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise UnsafeFile(f"{where}: not UTF-8 text (byte {err.start})") from None


def target_of(path: Path) -> Path:
    """The file a write to `path` lands in: the end of its symlink chain, else itself."""
    return path.resolve() if path.is_symlink() else path


def outside_root(path: Path, root: Path) -> str | None:
    """Why writing `path` would leave `root` (one line), or None."""
    real_root = root.resolve()
    target = path.resolve()
    if target == real_root or real_root in target.parents:
        return None
    via = f" (a symlink to {target})" if path.is_symlink() else ""
    return f"{path}{via} lies outside {root}; not written"


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def remove_stale_temporaries(target: Path) -> list[Path]:
    """Delete the temporary files an earlier write of `target` left when it was killed
    before its rename (`.<target name>.<8 random>.tmp` beside it): outfitter's own naming,
    the same folder, only for this file, only regular files. Returns what was removed."""
    removed = []
    with contextlib.suppress(OSError):
        for tmp in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
            match = TEMPORARY.match(tmp.name)
            if match and match.group(1) == target.name and tmp.is_file() \
                    and not tmp.is_symlink():
                tmp.unlink(missing_ok=True)
                removed.append(tmp)
    return removed


def write_keeping(path: Path, data: bytes) -> Path:
    """Replace the file at `path` (at its symlink's target) by `data` in one rename, keeping
    its permission bits; a new file gets the umask's mode. Returns the file written.
    Temporary files of an earlier write of the same file that was killed are removed first,
    so a rerun leaves nothing stray in the user's repository."""
    target = target_of(path)
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = _default_mode()
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return target
