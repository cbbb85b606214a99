"""`ci: github`: the workflow and the lefthook entry at the repository's root."""

from __future__ import annotations

from typing import Any

from outfitter import yamlio
from outfitter.config import parse_profile
from outfitter.plan import build_plan
from outfitter.render.flux import render_tree


def files(data: dict[str, Any]) -> dict[str, str]:
    return render_tree(build_plan(parse_profile(data)))


def test_nothing_without_ci() -> None:
    rendered = files({})
    assert ".github/workflows/outfitter.yaml" not in rendered
    assert "lefthook.yml" not in rendered
    assert "ci" not in {ap.addon.name for ap in build_plan(parse_profile({})).addons}


def test_the_workflow_validates_with_helm_uploads_sarif_and_comments_the_diff() -> None:
    rendered = files({"ci": "github", "gitops": {"path": "clusters/home/apps"}})
    flow = yamlio.load(rendered[".github/workflows/outfitter.yaml"])
    assert set(flow["on"]) == {"pull_request", "push"}
    validate = flow["jobs"]["validate"]
    runs = [s.get("run", "") for s in validate["steps"]]
    assert "outfitter validate clusters/home/apps --helm --sarif outfitter.sarif" in runs
    upload = next(s for s in validate["steps"]
                  if str(s.get("uses", "")).startswith("github/codeql-action/upload-sarif"))
    assert upload["with"]["sarif_file"] == "outfitter.sarif" and upload["if"] == "always()"
    assert validate["permissions"] == {"contents": "read", "security-events": "write"}
    diff = flow["jobs"]["diff"]
    assert diff["if"] == "github.event_name == 'pull_request'"
    script = "\n".join(s.get("run", "") for s in diff["steps"])
    assert 'outfitter diff "origin/$BASE" HEAD --markdown > diff.md' in script
    assert "gh pr comment" in script
    # The base branch reaches the shell through the environment, never spliced into it.
    assert "${{" not in script
    assert diff["permissions"] == {"contents": "read", "pull-requests": "write"}
    hook = yamlio.load(rendered["lefthook.yml"])
    assert hook["pre-commit"]["commands"]["outfitter-validate"]["run"] == \
        "outfitter validate clusters/home/apps"


def test_same_profile_same_bytes() -> None:
    assert files({"ci": "github"}) == files({"ci": "github"})
