"""`policy enforce`'s edits of the GitOps tree and the profile: only the intended lines
change, comments and layout stay, and render agrees with the edited tree afterwards."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest

from outfitter import yamlio
from outfitter.config import parse_profile
from outfitter.ops.policy_edit import (
    EditProblem,
    edit_profile,
    edit_tree_file,
    plan_enforce,
    write_enforce,
)
from outfitter.plan import build_plan
from outfitter.profile_init import profile_data, profile_text
from outfitter.render.flux import render_tree
from outfitter.render.writer import RECORD, record_edit, sha256, write_tree

POLICY_FILE = "kubernetes/apps/kyverno/kyverno/config/validatingpolicy.yaml"


def changed(before: str, after: str) -> tuple[list[str], list[str]]:
    removed, added = [], []
    for line in difflib.ndiff(before.splitlines(), after.splitlines()):
        if line.startswith("- "):
            removed.append(line[2:])
        elif line.startswith("+ "):
            added.append(line[2:])
    return removed, added


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository outfitter rendered from a profile `outfitter init` wrote."""
    text = profile_text(profile_data(None))
    (tmp_path / "outfitter.yaml").write_text(text)
    write_tree(tmp_path, render_tree(build_plan(parse_profile(yamlio.load(text)))))
    return tmp_path


def test_rendered_tree_and_profile_change_only_the_intended_lines(repo: Path) -> None:
    tree_before = (repo / POLICY_FILE).read_text()
    profile_before = (repo / "outfitter.yaml").read_text()
    plan = plan_enforce(repo, ["require-labels", "disallow-host-path"], repo / "kubernetes/apps",
                        repo / "outfitter.yaml")
    assert plan.switched == ["require-labels", "disallow-host-path"]
    assert write_enforce(repo, plan) == []
    tree_after = (repo / POLICY_FILE).read_text()
    assert changed(tree_before, tree_after) == (
        ["    - Audit", "  failurePolicy: Ignore"] * 2,
        ["    - Deny", "  failurePolicy: Fail"] * 2)
    assert tree_after.startswith("# Rendered by outfitter")  # the header comment stays
    removed, added = changed(profile_before, (repo / "outfitter.yaml").read_text())
    assert removed == ["    policies: {}"]
    assert added == ["    policies: {require-labels: deny, disallow-host-path: deny}"]

    # The record takes the edited file as outfitter's, and render writes the same bytes.
    record = json.loads((repo / RECORD).read_text())["files"]
    assert record[POLICY_FILE] == sha256(tree_after.encode())
    profile = parse_profile(yamlio.load((repo / "outfitter.yaml").read_text()))
    report = write_tree(repo, render_tree(build_plan(profile)))
    assert POLICY_FILE in report.unchanged
    assert (repo / POLICY_FILE).read_text() == tree_after


def test_a_file_the_user_edited_keeps_its_record_so_render_keeps_it(repo: Path) -> None:
    path = repo / POLICY_FILE
    path.write_text(path.read_text().replace("# Rendered", "# mine. Rendered"))
    plan = plan_enforce(repo, ["require-labels"], repo / "kubernetes/apps", None)
    notes = write_enforce(repo, plan)
    assert notes and "you had edited it" in notes[0]
    assert plan.profile_rel is None
    edited = path.read_text()
    # The record still holds what outfitter wrote, so the re-render (a three-way merge) sees
    # the user's edits as theirs and leaves the file as it is.
    report = write_tree(repo, render_tree(build_plan(parse_profile({}))))
    assert POLICY_FILE in report.theirs
    assert path.read_text() == edited


def test_record_edit_refuses_a_file_not_as_outfitter_wrote_it(repo: Path) -> None:
    path = repo / POLICY_FILE
    before = path.read_bytes()
    path.write_bytes(before + b"# x\n")
    assert not record_edit(repo, POLICY_FILE, b"something else")
    assert record_edit(repo, POLICY_FILE, before)
    assert not record_edit(repo, "not/recorded.yaml")


PROFILES = {
    "block policies gain a sibling": (
        "addons:\n  kyverno:\n    policies:\n      # trial first\n      require-labels: audit\n",
        ["      disallow-host-path: deny"], []),
    "an existing entry keeps its comment and quotes": (
        "addons:\n  kyverno:\n    policies:\n      disallow-host-path: 'audit'  # trial\n",
        ["      disallow-host-path: 'deny'  # trial"],
        ["      disallow-host-path: 'audit'  # trial"]),
    "no policies yet": (
        "# profile\naddons:\n  kyverno:\n    # audit first\n    mode: audit\n",
        ["    policies:", "      disallow-host-path: deny"], []),
    "no kyverno yet": (
        "addons:\n    velero:\n        bucket: b\n",
        ["    kyverno:", "      policies:", "        disallow-host-path: deny"], []),
    "no addons at all": (
        "cluster:\n  name: lab\n",
        ["addons:", "  kyverno:", "    policies:", "      disallow-host-path: deny"], []),
    "a flow mapping": (
        "addons:\n  kyverno: {mode: audit}\n",
        ["  kyverno: {mode: audit, policies: {disallow-host-path: deny}}"],
        ["  kyverno: {mode: audit}"]),
}


@pytest.mark.parametrize("case", sorted(PROFILES))
def test_profile_edits(case: str, tmp_path: Path) -> None:
    text, added, removed = PROFILES[case]
    path = tmp_path / "outfitter.yaml"
    path.write_text(text)
    edit = edit_profile(path, "outfitter.yaml", ["disallow-host-path"])
    assert changed(text, edit.after) == (removed, added)
    data = yamlio.load(edit.after)
    assert data["addons"]["kyverno"]["policies"]["disallow-host-path"] == "deny"


HAND_WRITTEN = """\
---
# keep me
apiVersion: policies.kyverno.io/v1
kind: ValidatingPolicy
metadata:
  name: a
spec:
  validationActions:
  - "Audit"
  - Warn     # noisy
  failurePolicy: Ignore
---
apiVersion: policies.kyverno.io/v1
kind: ValidatingPolicy
metadata:
  name: b
spec:
  validationActions: [Audit]
"""


def test_hand_written_policies_change_only_validation_actions(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(HAND_WRITTEN)
    edit = edit_tree_file(path, "p.yaml", {"a", "b"})
    assert changed(HAND_WRITTEN, edit.after) == (
        ['  - "Audit"', "  - Warn     # noisy", "  validationActions: [Audit]"],
        ['  - "Deny"', "  validationActions: [Deny]"])
    # Not outfitter's: its failurePolicy is the author's choice.
    assert "failurePolicy: Ignore" in edit.after


def test_what_cannot_be_edited_in_place_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(HAND_WRITTEN.replace("[Audit]", "[\n    Audit\n  ]"))
    with pytest.raises(EditProblem, match="over several lines"):
        edit_tree_file(path, "p.yaml", {"b"})
    with pytest.raises(EditProblem, match="c: no ValidatingPolicy of that name"):
        plan_enforce(tmp_path, ["c"], tmp_path, None)
    assert path.read_text() == HAND_WRITTEN.replace("[Audit]", "[\n    Audit\n  ]")


def test_a_policy_already_in_deny_is_noted_not_edited(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(HAND_WRITTEN.replace("[Audit]", "[Deny]"))
    plan = plan_enforce(tmp_path, ["b"], tmp_path, None)
    assert plan.edits == [] and plan.notes == ["b: already Deny in the tree"]
