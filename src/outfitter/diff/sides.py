"""The two sides of a diff as folders: a git ref exported with `git archive` into a
temporary folder, or the working tree as it is on disk (uncommitted changes included)."""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from outfitter.errors import InputError

WORKING_TREE = "working tree"


class DiffInputError(InputError):
    """A repository or ref diff cannot use (exit 2)."""


@dataclass(frozen=True)
class Side:
    label: str  # the ref as given (or "working tree"), with its commit
    ref: str | None  # None: the working tree


def _git(repo: Path, *args: str) -> str:
    git = shutil.which("git")
    if git is None:
        raise DiffInputError(["git is not installed: diff compares git refs"])
    done = subprocess.run([git, "-C", str(repo), *args], capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        message = (done.stderr.strip().splitlines() or ["git failed"])[-1]
        raise DiffInputError([f"git {' '.join(args)}: {message.removeprefix('fatal: ')}"])
    return done.stdout.strip()


def toplevel(path: Path) -> Path:
    if not path.is_dir():
        raise DiffInputError([f"{path}: not a directory"])
    return Path(_git(path, "rev-parse", "--show-toplevel"))


def default_branch(repo: Path) -> str:
    """origin's HEAD when known, else main, else master."""
    git = shutil.which("git") or "git"
    done = subprocess.run([git, "-C", str(repo), "symbolic-ref", "--quiet", "--short",
                           "refs/remotes/origin/HEAD"], capture_output=True, text=True,
                          check=False)
    if done.returncode == 0 and done.stdout.strip():
        return done.stdout.strip()
    for name in ("main", "master"):
        check = subprocess.run([git, "-C", str(repo), "rev-parse", "--verify", "--quiet",
                                f"refs/heads/{name}"], capture_output=True, check=False)
        if check.returncode == 0:
            return name
    raise DiffInputError(["no default branch found (origin/HEAD, main or master): give BASE"])


def resolve(repo: Path, base: str | None, head: str | None) -> tuple[Side, Side]:
    """BASE defaults to the merge-base of HEAD with the default branch; HEAD to the
    working tree."""
    if head is not None:
        head_side = Side(f"{head} ({_short(repo, head)})", _commit(repo, head))
    else:
        head_side = Side(WORKING_TREE, None)
    if base is None:
        branch = default_branch(repo)
        commit = _git(repo, "merge-base", "HEAD", branch)
        return Side(f"merge-base with {branch} ({commit[:12]})", commit), head_side
    return Side(f"{base} ({_short(repo, base)})", _commit(repo, base)), head_side


def _commit(repo: Path, ref: str) -> str:
    try:
        return _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except DiffInputError:
        raise DiffInputError([f"{ref}: not a commit in this repository"]) from None


def _short(repo: Path, ref: str) -> str:
    return _commit(repo, ref)[:12]


@contextmanager
def checked_out(repo: Path, side: Side) -> Iterator[Path]:
    """The side's files in a folder (a temporary one for a ref, removed afterwards)."""
    if side.ref is None:
        yield repo
        return
    git = shutil.which("git") or "git"
    done = subprocess.run([git, "-C", str(repo), "archive", "--format=tar", side.ref],
                          capture_output=True, check=False)
    if done.returncode != 0:
        raise DiffInputError([f"git archive {side.ref}: "
                              f"{done.stderr.decode(errors='replace').strip()}"])
    with tempfile.TemporaryDirectory(prefix="outfitter-diff-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
            archive.extractall(tmp, filter="data")
        yield Path(tmp)
