"""What kustomize is allowed to see: a copy (symlinks to the files, kustomization files
rewritten) of exactly what a build may read, inside the repository, with remote entries,
paths leaving the repository and missing paths left out — so `kubectl kustomize` fetches
nothing and reads nothing outside, and one bad entry does not hide the rest of its build
(the repository model reports each of them once). Its environment points every proxy at a
closed local port and forbids git transports, in case anything slips through.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import Any

from outfitter import yamlio
from outfitter.repo.reach import Reader, is_remote, path_fields
from outfitter.validate.fstree import KUSTOMIZATION_FILES, join

_LIST_FIELDS = ("resources", "bases", "components", "patchesStrategicMerge", "crds",
                "configurations", "generators", "transformers", "validators")
_PATH_ITEMS = ("patches", "patchesJson6902", "replacements")
_CLOSED = "http://127.0.0.1:9"


def offline_env() -> dict[str, str]:
    env = dict(os.environ)
    for key in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                "all_proxy"):
        env[key] = _CLOSED
    env["NO_PROXY"] = env["no_proxy"] = ""
    env["GIT_ALLOW_PROTOCOL"] = "file"
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["KUBECONFIG"] = os.devnull
    return env


@dataclass(frozen=True)
class Refusal:
    """Why kustomize is not shown a file: as validate reports a file it cannot read."""

    rule: str  # "yaml-syntax" | "unreadable"
    message: str
    line: int | None = None


class Mirror:
    def __init__(self, reader: Reader, dest: str) -> None:
        self.reader = reader
        self.dest = dest
        self.root = reader.boundary.root
        self._done: set[str] = set()
        self._checked: dict[str, Refusal | None] = {}
        # A generator's input files: kustomize copies their bytes, it never parses them.
        self._data: set[str] = set()

    @property
    def refused(self) -> dict[str, Refusal]:
        """The files left out for what they hold (a kustomization lists them no more)."""
        return {path: why for path, why in self._checked.items() if why is not None}

    def refusal(self, path: str) -> Refusal | None:
        if path not in self._checked:
            self._checked[path] = _refusal(path, parsed=path not in self._data)
        return self._checked[path]

    def path(self, original: str) -> str:
        return os.path.join(self.dest, os.path.relpath(original, self.root))

    def original(self, mirrored: str) -> str:
        prefix = self.dest.rstrip(os.sep) + os.sep
        if mirrored.startswith(prefix):
            return os.path.join(self.root, mirrored[len(prefix):])
        return mirrored

    def unmirror_text(self, text: str) -> str:
        return text.replace(self.dest + os.sep, "").replace(self.dest, ".")

    def add(self, target: str) -> str:
        """Mirror a resource (a file, or a kustomize folder with what its build reads)."""
        if target in self._done:
            return self.path(target)
        self._done.add(target)
        if self.reader.fs.is_dir(target):
            reach = self.reader.build(target, target)
            os.makedirs(self.path(target), exist_ok=True)
            for folder in reach.folders:
                for key, value in path_fields(self.reader.kustomization(folder) or {}):
                    if key in ("configMapGenerator", "secretGenerator"):
                        self._data.add(join(folder, value))
            for path in sorted(reach.reads):
                self._file(path)
        else:
            self._file(target)
        return self.path(target)

    def _file(self, path: str) -> None:
        out = self.path(path)
        if os.path.lexists(out) or not self.reader.boundary.contains(path):
            return
        os.makedirs(os.path.dirname(out), exist_ok=True)
        if os.path.basename(path) in KUSTOMIZATION_FILES:
            docs = self.reader.kdocs(os.path.dirname(path))
            if len(docs) == 1 and isinstance(docs[0], dict):
                with open(out, "w", encoding="utf-8") as handle:
                    handle.write(yamlio.dump(self._cleaned(os.path.dirname(path), docs[0])))
                return
        if self.refusal(path) is not None:
            return  # an alias bomb, too large, not text: kustomize must not read it
        os.symlink(os.path.realpath(path), out)

    def _keep(self, folder: str, entry: Any, parsed: bool = True) -> bool:
        """Whether kustomize is shown an entry; `parsed`: a file it reads as YAML (a
        resource, a patch), left out when it cannot be, so the rest still builds."""
        if not isinstance(entry, str):
            return True  # an inline patch
        if "\n" in entry:
            return True
        if is_remote(entry):
            return False
        path = join(folder, entry.rpartition("=")[2])
        fs = self.reader.fs
        if not self.reader.boundary.contains(path):
            return False
        if fs.is_file(path):
            return not parsed or self.refusal(path) is None
        return fs.is_dir(path)

    def _cleaned(self, folder: str, spec: dict[str, Any]) -> dict[str, Any]:
        out = dict(spec)
        out.pop("helmCharts", None)
        out.pop("helmChartInflationGenerator", None)
        for key in _LIST_FIELDS:
            if isinstance(out.get(key), list):
                out[key] = [e for e in out[key] if self._keep(folder, e)]
        for key in _PATH_ITEMS:
            if isinstance(out.get(key), list):
                out[key] = [e for e in out[key] if not (
                    isinstance(e, dict) and "path" in e and not self._keep(folder, e["path"]))]
        for key in ("configMapGenerator", "secretGenerator"):
            if not isinstance(out.get(key), list):
                continue
            gens = []
            for gen in out[key]:
                if isinstance(gen, dict):
                    gen = dict(gen)
                    for fld in ("files", "envs"):
                        if isinstance(gen.get(fld), list):
                            gen[fld] = [e for e in gen[fld]
                                        if self._keep(folder, e, parsed=False)]
                    if isinstance(gen.get("env"), str) and \
                            not self._keep(folder, gen["env"], parsed=False):
                        del gen["env"]
                gens.append(gen)
            out[key] = gens
        return out


def _refusal(path: str, parsed: bool = True) -> Refusal | None:
    """Why kustomize may not read the file, if so: YAML or JSON it parses must read as
    yamlio reads it (not too large, not binary, no alias bomb, valid where it uses
    aliases); any other file, and a generator's data whatever its name (kustomize puts it
    into the ConfigMap as it is, binary files into binaryData), must be a regular file
    within yamlio's size limit."""
    if not parsed or (not path.endswith((".yaml", ".yml", ".json")) and
                      os.path.basename(path) not in KUSTOMIZATION_FILES):
        try:
            info = os.stat(path)
        except OSError as err:
            return Refusal("unreadable", f"cannot read: {err.strerror or err}")
        if not stat.S_ISREG(info.st_mode):
            return Refusal("unreadable", "cannot read: not a regular file")
        if info.st_size > yamlio.MAX_BYTES:
            return Refusal("unreadable", f"too large to read ({info.st_size / (1 << 20):.1f} "
                           f"MiB; the limit is {yamlio.MAX_BYTES >> 20} MiB)")
        return None
    try:
        text = yamlio.read_text(path)
    except yamlio.YamlInputError as err:
        return Refusal("unreadable", err.message, err.line)
    if "&" in text and "*" in text and path.endswith((".yaml", ".yml")):
        try:
            yamlio.load_all_checked(text, where=path)
        except yamlio.YamlInputError as err:
            what = err.message.removeprefix("not valid YAML: ")
            return Refusal("yaml-syntax", f"invalid YAML: {what}", err.line)
    return None
