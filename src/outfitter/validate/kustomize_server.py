"""One kustomize process for all the builds of a validate run.

`kubectl kustomize` costs a process start (0.15-0.3 s) per build; tools/kustomize-batch
(built by tools/build.sh) runs the same kustomize library kubectl embeds and serves many
builds from one process: a JSON request per line on its stdin (an id, the folder), a JSON
answer per line on its stdout (the id, the YAML kubectl would print, or the error line
kubectl would print). It runs in the sandbox's offline environment, as kubectl does.

It also renders flux-operator ResourceSets (render_resource_set): their templates are Go
text/templates with sprig's functions, which only Go runs as the operator does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import IO, Any

from outfitter.repo import sandbox
from outfitter.tools_dir import tools_bin_dir

BINARY = "kustomize-batch"


class ServerGone(Exception):
    """The server ended (or was never there) before it answered: build another way."""


def find_binary() -> str | None:
    """The built tool: tools/build.sh's bin folder (with no $OUTFITTER_TOOLS_DIR, also the
    default one under ~/.cache: a run with another $XDG_CACHE_HOME than the build's still
    finds it), else PATH."""
    folders = [tools_bin_dir()]
    if not os.environ.get("OUTFITTER_TOOLS_DIR"):
        folders.append(Path.home() / ".cache" / "outfitter" / "tools" / "bin")
    for folder in folders:
        built = folder / BINARY
        if built.is_file() and os.access(built, os.X_OK):
            return str(built)
    return shutil.which(BINARY)


class KustomizeServer:
    """A running kustomize-batch; build() is safe from several threads; close() it."""

    def __init__(self, binary: str) -> None:
        try:
            self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
                [binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,  # kustomize's warnings; kubectl's were dropped too
                env=sandbox.offline_env())
        except OSError as err:
            raise ServerGone(str(err)) from err
        self.pid = self._proc.pid
        self._lock = threading.Lock()
        self._waiting: dict[int, Future[tuple[str, str | None]]] = {}
        self._next = 0
        self._gone = False
        assert self._proc.stdout is not None
        self._reader = threading.Thread(target=self._read, args=(self._proc.stdout,),
                                        name="kustomize-server", daemon=True)
        self._reader.start()

    def build(self, folder: str, timeout: float) -> tuple[str, str | None]:
        """(the YAML, None) or ("", kubectl's error line). Raises ServerGone."""
        return self._ask({"dir": folder}, f"kustomize build of {folder}", timeout)

    def render_resource_set(self, obj: dict[str, Any], providers: list[dict[str, Any]],
                            timeout: float) -> tuple[str, str | None]:
        """(the objects a ResourceSet makes as YAML, None) or ("", why not), from its
        inline inputs and its providers' ([{name, namespace, inputs}], in order). Raises
        ServerGone."""
        return self._ask({"resourceset": obj, "providers": providers},
                         "ResourceSet rendering", timeout)

    def _ask(self, request: dict[str, Any], what: str, timeout: float
             ) -> tuple[str, str | None]:
        with self._lock:
            if self._gone or self._proc is None or self._proc.stdin is None:
                raise ServerGone("the kustomize server has ended")
            self._next += 1
            ident = self._next
            answer: Future[tuple[str, str | None]] = Future()
            self._waiting[ident] = answer
            line = json.dumps({"id": ident, **request}, default=str) + "\n"
            try:
                self._proc.stdin.write(line.encode("utf-8"))
                self._proc.stdin.flush()
            except (OSError, ValueError) as err:
                self._waiting.pop(ident, None)
                raise ServerGone(str(err)) from err
        try:
            return answer.result(timeout=timeout)
        except FutureTimeout:
            # A build that hangs: the process goes (as kubectl's would) and the builds
            # queued behind it are built another way.
            self.close(wait=0)
            return "", f"{what} timed out after {timeout:g} seconds"

    def _read(self, stdout: IO[bytes]) -> None:
        for raw in stdout:
            try:
                got = json.loads(raw)
                ident = int(got["id"])
            except (ValueError, KeyError, TypeError):
                continue  # not an answer: nothing waits for it
            with self._lock:
                answer = self._waiting.pop(ident, None)
            if answer is not None:
                error = got.get("error")
                answer.set_result((str(got.get("yaml") or ""),
                                   str(error) if error else None))
        with self._lock:
            self._gone = True
            waiting, self._waiting = self._waiting, {}
        for answer in waiting.values():
            answer.set_exception(ServerGone("the kustomize server ended before it answered"))

    def close(self, wait: float = 5.0) -> None:
        """End the process (stdin closed; killed if it does not end within `wait`)."""
        with self._lock:
            proc, self._proc = self._proc, None
            self._gone = True
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()
        except OSError:
            pass
        if wait <= 0:
            proc.kill()
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            proc.kill()
        proc.wait()
        if threading.current_thread() is not self._reader:
            self._reader.join()
        if proc.stdout is not None:
            proc.stdout.close()
