"""Secrets encrypted with SOPS, for repositories that keep their secrets in Git.

With `secrets.provider: sops` add-ons render `SopsSecret`s: the Secret with templates in
place of values. Here each is filled in and encrypted by the real `sops` binary under the
repository's own `.sops.yaml` creation rules (its age recipients), from the repository's root.

- A credential outfitter makes (object storage keys, basic-auth users) is generated once with
  the `secrets` module; an encrypted file that exists with the same keys is kept byte for byte,
  so a re-render neither regenerates it nor re-encrypts it.
- A credential the user owns is an encrypted placeholder, filled with `sops edit`; the file is
  then the user's to keep, and later renders keep it as it is.
- When a file must be (re)written while another file already holds the same credential, the
  value is read back from that one with `sops decrypt` (the user's age key), so two Secrets
  never disagree.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from outfitter import yamlio
from outfitter.addons.credentials import (
    SopsSecret,
    Source,
    fill,
    generate,
    placeholder,
    recover,
    variables,
)
from outfitter.errors import InputError
from outfitter.plan import Plan
from outfitter.render.flux import Files, render_tree, sops_file
from outfitter.render.writer import record_edit

CONFIG = ".sops.yaml"
INSTALL_HINT = ("sops is not on PATH: install it (a release binary from "
                "https://github.com/getsops/sops/releases, or `go install "
                "github.com/getsops/sops/v3/cmd/sops@v3.13.3`) and render again")


class SopsError(InputError):
    """sops could not be run, or refused; nothing was written."""


def sops_secrets(plan: Plan) -> dict[str, SopsSecret]:
    """Every Secret to encrypt, by its path relative to the repository's root."""
    return {sops_file(plan, ap, obj): obj for ap in plan.addons
            for obj in ap.rendered.app + ap.rendered.config if isinstance(obj, SopsSecret)}


def find_sops() -> str:
    found = shutil.which("sops")
    if found is None:
        raise SopsError([INSTALL_HINT])
    return found


def render_repository(plan: Plan, repo: Path) -> Files:
    """The files to write into the repository at `repo`: the tree, with every Secret to
    encrypt filled in and encrypted (or kept as it is). Raises before anything is written."""
    if not plan.context.sops:
        return render_tree(plan)
    secrets_ = sops_secrets(plan)
    if not secrets_:
        return render_tree(plan)
    sops = find_sops()
    if not (repo / CONFIG).is_file():
        raise SopsError([f"{repo / CONFIG}: missing; sops needs the repository's creation "
                         f"rules (age recipients) to encrypt the add-ons' Secrets"])
    files = render_tree(plan, inherit_decryption=parent_provides_decryption(
        repo, plan.profile.gitops.path))
    sealed = Sealer(sops, repo).seal(secrets_)
    for rel, text in sealed.items():
        files[rel] = text
    return files


def adopt_edited(repo: Path, plan: Plan, files: Files) -> None:
    """Take the encrypted files the user filled with `sops edit` as outfitter's own again:
    editing them is how they are meant to be used, so a render that keeps them as they are
    must not refuse them as edited."""
    for rel in sops_secrets(plan):
        path = repo / rel
        if rel in files and path.is_file() and path.read_text() == files[rel]:
            record_edit(repo, rel)


# --- keep, recover, generate, encrypt ------------------------------------------------------

def _shape(doc: Any) -> Any:
    """What an encrypted file shows in the clear: everything but the values and sops' own
    metadata. Two files of one shape hold the same keys of the same Secret."""
    if not isinstance(doc, dict):
        return None
    shape = {k: v for k, v in doc.items() if k not in ("sops", "data", "stringData")}
    shape["keys"] = sorted({*(doc.get("data") or {}), *(doc.get("stringData") or {})})
    return shape


@dataclass
class _Existing:
    rel: str
    text: str
    secret: SopsSecret


class Sealer:
    def __init__(self, sops: str, repo: Path) -> None:
        self.sops = sops
        self.repo = repo
        self.values: dict[tuple[str, str], str] = {}

    def seal(self, secrets_: dict[str, SopsSecret]) -> dict[str, str]:
        kept: dict[str, _Existing] = {}
        to_write: dict[str, SopsSecret] = {}
        for rel, secret in sorted(secrets_.items()):
            path = self.repo / rel
            text = path.read_text() if path.is_file() else None
            if text is not None and self._same_shape(rel, text, secret):
                kept[rel] = _Existing(rel, text, secret)
            else:
                to_write[rel] = secret
        if not to_write:
            return {rel: e.text for rel, e in kept.items()}
        needed = {s.key: s for secret in to_write.values() for s in secret.sources.values()}
        self._recover(needed, kept, to_write)
        # Passwords before the htpasswd lines made from them.
        for key, source in sorted(needed.items(), key=lambda kv: kv[1].generate == "htpasswd"):
            if key not in self.values:
                self.values[key] = (placeholder(source) if source.generate is None
                                    else generate(source, self.values))
        out = {rel: e.text for rel, e in kept.items()}
        for rel, secret in to_write.items():
            out[rel] = self._encrypt(rel, secret)
        return dict(sorted(out.items()))

    def _same_shape(self, rel: str, text: str, secret: SopsSecret) -> bool:
        try:
            docs = yamlio.load_all(text)
        except Exception:
            return False
        plain = {k: v for k, v in secret.items()}
        return len(docs) == 1 and "sops" in docs[0] and _shape(docs[0]) == _shape(plain)

    def _recover(self, needed: dict[tuple[str, str], Source], kept: dict[str, _Existing],
                 to_write: dict[str, SopsSecret]) -> None:
        """Values of credentials that files on disk already hold: from the files being kept,
        and from the files being rewritten (their keys changed, their credentials did not)."""
        holders = [(e.rel, e.secret) for e in kept.values()]
        holders += [(rel, s) for rel, s in to_write.items() if (self.repo / rel).is_file()]
        for rel, secret in holders:
            wanted = {s.key for s in secret.sources.values()} & needed.keys()
            if not wanted or wanted <= self.values.keys():
                continue
            carried = ", ".join(sorted(f"{item}/{prop}" for item, prop in wanted))
            data = self._decrypt(rel, reason=f"to carry {carried} into the files being written")
            if data is None:
                continue  # a file of a different shape that is not ours to read
            for key, template in secret.templates.items():
                value = data.get(key)
                if not isinstance(value, str) or not variables(template):
                    continue
                got = recover(template, value)
                for var, val in (got or {}).items():
                    source = secret.sources.get(var)
                    if source is not None and source.key in wanted:
                        self.values.setdefault(source.key, val)

    def _run(self, args: list[str], stdin: bytes | None, what: str) -> bytes:
        try:
            done = subprocess.run(
                [self.sops, *args], input=stdin, cwd=self.repo, capture_output=True,
                check=False, timeout=120)
        except OSError as err:
            raise SopsError([f"{self.sops}: cannot run: {err.strerror}"]) from None
        if done.returncode != 0:
            message = done.stderr.decode(errors="replace").strip().splitlines()
            raise SopsError([f"{what}: sops failed: {message[-1] if message else 'no message'}"])
        return done.stdout

    def _decrypt(self, rel: str, reason: str) -> dict[str, Any] | None:
        out = self._run(["decrypt", "--input-type", "yaml", "--output-type", "yaml", rel],
                        None, f"{self.repo / rel}: cannot decrypt {reason}")
        docs = yamlio.load_all(out.decode())
        if len(docs) != 1 or not isinstance(docs[0], dict):
            return None
        return dict(docs[0].get("stringData") or {})

    def _encrypt(self, rel: str, secret: SopsSecret) -> str:
        values = {var: self.values[source.key] for var, source in secret.sources.items()}
        plain = {k: v for k, v in secret.items()}
        plain["stringData"] = {key: fill(t, values) for key, t in secret.templates.items()}
        text = yamlio.dump(plain).encode()
        out = self._run(
            ["encrypt", "--filename-override", rel, "--input-type", "yaml",
             "--output-type", "yaml", "/dev/stdin"],
            text, f"{self.repo / rel}: cannot encrypt under {self.repo / CONFIG}").decode()
        docs = yamlio.load_all(out)
        if len(docs) != 1 or _shape(docs[0]) != _shape(secret):
            raise SopsError([
                f"{self.repo / CONFIG}: the creation rule for {rel} encrypts more than the "
                f"Secret's data; add `encrypted_regex: ^(data|stringData)$` to it (Flux and "
                f"kustomize need apiVersion, kind and metadata in the clear)"])
        return out


# --- the repository's parent Kustomizations ------------------------------------------------

def parent_provides_decryption(repo: Path, tree_path: str) -> bool:
    """A Flux Kustomization of the repository that applies the tree's folder patches
    `spec.decryption` into the Kustomizations it applies (cluster-template's `cluster-apps`).
    A simple reading: any such patch on a Kustomization whose path holds the tree."""
    tree = tree_path.strip("/").removeprefix("./")
    for path in sorted(repo.rglob("*.y*ml")):
        rel = path.relative_to(repo)
        if any(part.startswith(".") for part in rel.parts) or rel.as_posix().startswith(tree):
            continue
        try:
            if path.stat().st_size > 1_000_000:
                continue
            docs = yamlio.load_all(path.read_text())
        except Exception:
            continue
        for doc in docs:
            if _patches_decryption(doc, tree):
                return True
    return False


def _patches_decryption(doc: Any, tree: str) -> bool:
    if not isinstance(doc, dict) or doc.get("kind") != "Kustomization" or not str(
            doc.get("apiVersion", "")).startswith("kustomize.toolkit.fluxcd.io/"):
        return False
    spec = doc.get("spec") or {}
    path = str(spec.get("path", "")).strip("/").removeprefix("./").strip("/")
    if not (tree == path or tree.startswith(f"{path}/") or path == ""):
        return False
    for patch in spec.get("patches") or []:
        if not isinstance(patch, dict):
            continue
        target = patch.get("target") or {}
        if target.get("kind") not in (None, "Kustomization"):
            continue
        try:
            bodies = yamlio.load_all(str(patch.get("patch", "")))
        except Exception:
            continue
        for body in bodies:
            if isinstance(body, dict) and body.get("kind") == "Kustomization" and \
                    isinstance(body.get("spec"), dict) and "decryption" in body["spec"]:
                return True
    return False
