"""The command line, in-process: exit codes, outputs, and nothing written on bad input."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from outfitter import yamlio
from outfitter.addons import registry
from outfitter.cli import main
from outfitter.config import load_profile


def test_init_writes_a_profile_that_loads(tmp_path: Path) -> None:
    out = tmp_path / "outfitter.yaml"
    assert main(["init", "--out", str(out), "--name", "lab", "--nodes", "4"]) == 0
    profile = load_profile(out)
    assert profile.cluster.name == "lab" and profile.cluster.nodes.count == 4


def test_init_takes_the_repository_address_from_the_checkouts_origin(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "home-ops"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "remote", "add", "origin",
                    "git@github.com:someone/home-ops.git"], check=True)
    assert main(["init", "--out", str(repo / "outfitter.yaml")]) == 0
    assert load_profile(repo / "outfitter.yaml").gitops.repo_url == \
        "git@github.com:someone/home-ops.git"
    assert "gitops.repoURL: git@github.com:someone/home-ops.git (the Git remote origin)" in \
        capsys.readouterr().err
    # A token in an https remote never reaches the profile; a worktree reads the shared
    # config of its repository.
    subprocess.run(["git", "-C", str(repo), "remote", "set-url", "origin",
                    "https://someone:ghp_secret@github.com/someone/home-ops.git"], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t",
                    "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    subprocess.run(["git", "-C", str(repo), "worktree", "add", "-q", str(tmp_path / "wt")],
                   check=True)
    assert main(["init", "--out", str(tmp_path / "wt" / "outfitter.yaml")]) == 0
    assert load_profile(tmp_path / "wt" / "outfitter.yaml").gitops.repo_url == \
        "https://github.com/someone/home-ops.git"
    assert "ghp_secret" not in capsys.readouterr().err
    # Outside a checkout the example address stays, and nothing claims otherwise.
    assert main(["init", "--out", str(tmp_path / "outfitter.yaml")]) == 0
    assert "github.com" not in load_profile(tmp_path / "outfitter.yaml").gitops.repo_url
    assert "repoURL" not in capsys.readouterr().err


def test_init_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "outfitter.yaml"
    out.write_text("# mine\n")
    assert main(["init", "--out", str(out)]) == 2
    assert out.read_text() == "# mine\n"
    assert "exists; use --force" in capsys.readouterr().err


def test_init_from_roadmap_reports_unmapped_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = tmp_path / "ROADMAP.md"
    doc.write_text("## Priority: High\n\n### Velero - x\n\n### Vault - y\n\n"
                   "## Already Implemented\n\n- [x] **Traefik** - z\n"
                   "- [x] **kube-prometheus-stack** - m\n- [x] **External Secrets** - s\n")
    out = tmp_path / "p.yaml"
    assert main(["init", "--from-roadmap", str(doc), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "not offered: Vault (line 5: ### Vault - y)" in err
    assert "velero (high priority) ← line 3: ### Velero - x" in err
    assert "also enabled: object-storage (comes with velero)" in err
    data = yamlio.load(out.read_text())
    assert data["existing"] == ["kube-prometheus-stack", "traefik", "external-secrets"]
    assert data["addons"]["velero"]["enabled"] is True
    assert data["addons"]["kyverno"]["enabled"] is False
    assert data["addons"]["object-storage"]["enabled"] is True


# Velero under a priority; only Traefik already implemented (no secret store in use).
VELERO_ROADMAP = ("## Priority: High\n\n### Velero - x\n\n## Already Implemented\n\n"
                  "- [x] **Traefik** - t\n")


def test_init_from_roadmap_refuses_an_impossible_result(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = tmp_path / "ROADMAP.md"
    doc.write_text(VELERO_ROADMAP)
    out = tmp_path / "p.yaml"
    # A profile that cannot be rendered is not written, schema included.
    assert main(["init", "--from-roadmap", str(doc), "--out", str(out),
                 "--domain", "not a domain"]) == 2
    assert "cluster.domain: String should match pattern" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ROADMAP.md"]


def test_init_from_roadmap_without_a_secret_store_chooses_sops_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = tmp_path / "ROADMAP.md"
    # Velero's credentials need a secret store; External Secrets is not listed as in use.
    doc.write_text(VELERO_ROADMAP)
    out = tmp_path / "p.yaml"
    assert main(["init", "--from-roadmap", str(doc), "--out", str(out)]) == 0
    assert "profile setting: secrets.provider: sops (chosen: the roadmap names no secret " \
           "store in use" in capsys.readouterr().err
    assert load_profile(out).secrets.provider == "sops"


FIXTURES = Path(__file__).parent / "fixtures" / "roadmaps"


def test_init_from_a_checklist_roadmap_says_what_it_did(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "p.yaml"
    doc = FIXTURES / "improvement-plan.md"
    assert main(["init", "--from-roadmap", str(doc), "--out", str(out)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert "  falco (medium priority) ← line 21: - [ ] Runtime security: try Falco, alerts " \
           "into ntfy" in err
    assert "not offered: Karpenter (line 29: - [ ] Karpenter-style node autoscaling " \
           "(probably not possible on bare m…)" in err
    assert "not requested, not enabled: descheduler (line 31: - [ ] We don't need " \
           "Descheduler with three identical nodes)" in err
    data = yamlio.load(out.read_text())
    written = load_profile(out)  # what the profile turns on (`ci` also needs `ci: github`)
    enabled = sorted(a.name for a in registry.all_addons() if a.enabled(written))
    assert enabled == ["cost", "falco", "kyverno", "object-storage", "outfitter", "renovate",
                       "velero"]
    assert data["addons"]["falco"]["priority"] == "medium"
    # SOPS is the profile's secrets provider, not a tool outfitter lacks.
    assert "profile setting: secrets.provider: sops ← line 16: - [ ] Encrypt the remaining " \
           "secrets in git with SOPS + age" in err
    assert data["secrets"]["provider"] == "sops"
    assert not any(line.startswith("not offered: SOPS") for line in err)
    # same input, same bytes
    again = tmp_path / "again" / "p.yaml"  # same name: the profile names its schema file
    again.parent.mkdir()
    assert main(["init", "--from-roadmap", str(doc), "--out", str(again)]) == 0
    assert again.read_bytes() == out.read_bytes()


def test_init_from_a_roadmap_naming_only_tools_not_offered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = tmp_path / "TODO.md"
    doc.write_text("# TODO\n\n- [ ] SOPS for secrets\n- [ ] try Flagger\n")
    out = tmp_path / "p.yaml"
    assert main(["init", "--from-roadmap", str(doc), "--out", str(out)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {doc}: asks for no add-on outfitter offers (it names only tools outfitter "
        f"does not offer: Flagger)")
    assert not out.exists()


@pytest.mark.parametrize(("name", "data"), [
    ("values.yaml", b"velero:\n  enabled: true\n"),
    ("ROADMAP.md", b""),
    ("ROADMAP.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
    ("ROADMAP.md", "# Roadmap\n- [ ] Velero\n".encode("utf-16")),
])
def test_init_refuses_a_roadmap_that_is_not_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, data: bytes
) -> None:
    doc = tmp_path / name
    doc.write_bytes(data)
    out = tmp_path / "p.yaml"
    assert main(["init", "--from-roadmap", str(doc), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith(f"error: {doc}: ")
    assert "Traceback" not in err and not out.exists()
    assert doc.read_bytes() == data


def test_init_refuses_a_fifo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = tmp_path / "ROADMAP.md"
    os.mkfifo(doc)
    out = tmp_path / "p.yaml"
    assert main(["init", "--from-roadmap", str(doc), "--out", str(out)]) == 2
    assert "not a regular file" in capsys.readouterr().err and not out.exists()


def test_plan_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert "velero" in [a["name"] for a in data["addons"]]


def test_plan_table_shows_total_against_allocatable(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan"]) == 0
    out = capsys.readouterr().out
    assert "total" in out and "allocatable" in out and "wave 1" in out


def test_bad_profile_one_line_per_problem_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = tmp_path / "p.yaml"
    profile.write_text("cluster:\n  nodez: 1\naddons:\n  vault: {}\n")
    assert main(["plan", "--profile", str(profile)]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error")]
    assert len(lines) == 2
    assert lines[0].startswith("error: cluster.nodez: unknown key")
