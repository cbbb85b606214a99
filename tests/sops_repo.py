"""A GitOps repository with `.sops.yaml` creation rules for a test age key, and the real sops
and age binaries (built by tools/build.sh) on PATH: what the SOPS tests render into."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from outfitter import yamlio
from outfitter.testcluster import tools_bin_dir

RULES = """---
creation_rules:
  - path_regex: talos/.*\\.sops\\.ya?ml
    key_groups:
      - age:
          - "{key}"
  - path_regex: kubernetes/.*\\.sops\\.ya?ml
    encrypted_regex: "^(data|stringData)$"
    key_groups:
      - age:
          - "{key}"
"""


@dataclass
class SopsRepo:
    root: Path
    key_file: Path
    recipient: str

    def decrypt(self, rel: str) -> dict[str, Any]:
        done = subprocess.run(
            [str(tools_bin_dir() / "sops"), "decrypt", "--input-type", "yaml",
             "--output-type", "yaml", rel],
            cwd=self.root, capture_output=True, text=True, check=True,
            env={**os.environ, "SOPS_AGE_KEY_FILE": str(self.key_file)})
        doc: dict[str, Any] = yamlio.load(done.stdout)
        return doc

    def set(self, rel: str, key: str, value: str) -> None:
        """What `sops edit` does, without an editor."""
        subprocess.run(
            [str(tools_bin_dir() / "sops"), "set", rel, f'["stringData"]["{key}"]',
             f'"{value}"'], cwd=self.root, check=True, capture_output=True,
            env={**os.environ, "SOPS_AGE_KEY_FILE": str(self.key_file)})


def sops_tools() -> Path:
    """The bin folder holding sops, age and age-keygen (fails in CI, skips elsewhere)."""
    bin_dir = tools_bin_dir()
    missing = [b for b in ("sops", "age-keygen") if not (bin_dir / b).exists()]
    if missing:
        msg = f"{', '.join(missing)} missing in {bin_dir}; run tools/build.sh"
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    return bin_dir


def make_repo(root: Path, keys: Path, monkeypatch: pytest.MonkeyPatch) -> SopsRepo:
    """A repository at `root` whose rules encrypt for a fresh age key kept in `keys`; sops
    on PATH and the key in SOPS_AGE_KEY_FILE, as a cluster-template user has them."""
    bin_dir = sops_tools()
    keys.mkdir(parents=True, exist_ok=True)
    key_file = keys / "age.key"
    subprocess.run([str(bin_dir / "age-keygen"), "-o", str(key_file)], check=True,
                   capture_output=True)
    recipient = subprocess.run([str(bin_dir / "age-keygen"), "-y", str(key_file)], check=True,
                               capture_output=True, text=True).stdout.strip()
    root.mkdir(parents=True, exist_ok=True)
    (root / ".sops.yaml").write_text(RULES.format(key=recipient))
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key_file))
    return SopsRepo(root, key_file, recipient)


def rendered_git_repo(plan: Any, root: Path, keys: Path,
                      monkeypatch: pytest.MonkeyPatch) -> Path:
    """The tree of a SOPS plan as `outfitter render` writes it (Secrets encrypted by the real
    sops) into a Git repository, as a user's is; returns its `kubernetes` folder: validate
    finds the repository root, where Flux resolves spec.path, and reads the tree below (not
    the repository's .sops.yaml beside it)."""
    from outfitter.render.sops import render_repository
    from outfitter.render.writer import write_tree

    repo = make_repo(root, keys, monkeypatch)
    write_tree(repo.root, render_repository(plan, repo.root))
    subprocess.run(["git", "init", "-q", str(repo.root)], check=True)
    return repo.root / "kubernetes"
