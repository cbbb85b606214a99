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
from typing import Any

from outfitter import yamlio
from outfitter.repo.reach import Reader, is_remote
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


class Mirror:
    def __init__(self, reader: Reader, dest: str) -> None:
        self.reader = reader
        self.dest = dest
        self.root = reader.boundary.root
        self._done: set[str] = set()

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
        if not _safe(path):
            return  # an alias bomb, too large, not text: kustomize must not read it
        os.symlink(os.path.realpath(path), out)

    def _keep(self, folder: str, entry: Any) -> bool:
        if not isinstance(entry, str):
            return True  # an inline patch
        if "\n" in entry:
            return True
        if is_remote(entry):
            return False
        path = join(folder, entry.rpartition("=")[2])
        fs = self.reader.fs
        return self.reader.boundary.contains(path) and (fs.is_file(path) or fs.is_dir(path))

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
                            gen[fld] = [e for e in gen[fld] if self._keep(folder, e)]
                    if isinstance(gen.get("env"), str) and not self._keep(folder, gen["env"]):
                        del gen["env"]
                gens.append(gen)
            out[key] = gens
        return out


def _safe(path: str) -> bool:
    """Whether kustomize may read the file: YAML or JSON as yamlio would read it (not too
    large, not binary, no alias bomb); any other file (a generator's data: kustomize puts
    binary files into binaryData) only a regular file within yamlio's size limit."""
    if not path.endswith((".yaml", ".yml", ".json")) and \
            os.path.basename(path) not in KUSTOMIZATION_FILES:
        try:
            info = os.stat(path)
        except OSError:
            return False
        return stat.S_ISREG(info.st_mode) and info.st_size <= yamlio.MAX_BYTES
    try:
        text = yamlio.read_text(path)
    except yamlio.YamlInputError:
        return False
    if "&" in text and "*" in text and path.endswith((".yaml", ".yml")):
        try:
            yamlio.load_all_checked(text, where=path)
        except yamlio.YamlInputError:
            return False
    return True
