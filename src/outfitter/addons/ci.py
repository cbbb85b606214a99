"""CI for the GitOps repository (profile `ci: github`): the checks a reviewer of a Renovate
pull request needs, and a status check Renovate's automerge waits for.

Nothing runs in the cluster: the whole output is two files at the repository's root —
- `.github/workflows/outfitter.yaml`: `outfitter validate --helm` on every push and pull
  request, its SARIF uploaded to code scanning (findings appear on the changed lines), and
  on pull requests `outfitter diff` of the merge base against the head, posted (and kept up
  to date) as one comment;
- `lefthook.yml`: `outfitter validate` before each commit that touches the tree (lefthook
  runs it; `lefthook install` once per clone).
"""

from __future__ import annotations

from outfitter import __version__, yamlio
from outfitter.addons.base import Addon, Priority, Rendered
from outfitter.addons.context import Context
from outfitter.config import Profile

WORKFLOW = ".github/workflows/outfitter.yaml"
LEFTHOOK = "lefthook.yml"
HELM_VERSION = "v4.3.2"  # the helm tools/build.sh builds; Flux 2.8 embeds Helm 4
HEADER = "# Rendered by outfitter from the cluster profile (ci: github). Edit the profile.\n"


def _setup() -> list[dict[str, object]]:
    return [
        {"uses": "actions/setup-python@v5", "with": {"python-version": "3.12"}},
        {"uses": "azure/setup-helm@v4", "with": {"version": HELM_VERSION}},
        {"name": "Install outfitter", "run": f'pip install "outfitter=={__version__}"'},
    ]


def workflow(tree: str) -> dict[str, object]:
    validate_steps: list[dict[str, object]] = [
        {"uses": "actions/checkout@v4"},
        *_setup(),
        {"name": "Chart cache", "uses": "actions/cache@v4",
         "with": {"path": "~/.cache/outfitter/charts",
                  "key": f"outfitter-charts-${{{{ hashFiles('{tree}/**/*.yaml') }}}}",
                  "restore-keys": "outfitter-charts-"}},
        {"name": "outfitter validate --helm", "id": "validate", "continue-on-error": True,
         "run": f"outfitter validate {tree} --helm --sarif outfitter.sarif"},
        {"name": "Upload findings to code scanning", "if": "always()",
         "uses": "github/codeql-action/upload-sarif@v3",
         "with": {"sarif_file": "outfitter.sarif", "category": "outfitter"}},
        {"name": "Fail on findings", "if": "steps.validate.outcome == 'failure'",
         "run": "exit 1"},
    ]
    diff_steps: list[dict[str, object]] = [
        {"uses": "actions/checkout@v4", "with": {"fetch-depth": 0}},
        *_setup(),
        {"name": "outfitter diff", "env": {"BASE": "${{ github.base_ref }}"},
         "run": "set +e\n"
                'outfitter diff "origin/$BASE" HEAD --markdown > diff.md\n'
                "code=$?\n"
                "cat diff.md\n"
                "# 0: no change, 1: changes (both are fine here), 2: bad input\n"
                'if [ "$code" -ge 2 ]; then exit "$code"; fi\n'},
        {"name": "Comment the rendered diff on the pull request",
         "env": {"GH_TOKEN": "${{ github.token }}",
                 "PR": "${{ github.event.pull_request.number }}"},
         "run": 'gh pr comment "$PR" --body-file diff.md --edit-last --create-if-none\n'},
    ]
    return {
        "name": "outfitter",
        "on": {"pull_request": {}, "push": {"branches": ["main"]}},
        "permissions": {"contents": "read"},
        "jobs": {
            "validate": {"name": "outfitter validate", "runs-on": "ubuntu-latest",
                         "permissions": {"contents": "read", "security-events": "write"},
                         "steps": validate_steps},
            "diff": {"name": "outfitter diff", "if": "github.event_name == 'pull_request'",
                     "runs-on": "ubuntu-latest",
                     "permissions": {"contents": "read", "pull-requests": "write"},
                     "steps": diff_steps},
        },
    }


def lefthook(tree: str) -> dict[str, object]:
    return {"pre-commit": {"commands": {"outfitter-validate": {
        "glob": f"{tree}/**/*.{{yaml,yml}}",
        "run": f"outfitter validate {tree}",
    }}}}


class Ci(Addon):
    name = "ci"
    title = "CI checks"
    namespace = "ci"  # nothing is installed there; the namespace only names the add-on
    priority = Priority.LOW

    def enabled(self, profile: Profile) -> bool:
        return profile.ci is not None and self.options(profile).enabled

    def resources(self, ctx: Context) -> Rendered:
        tree = ctx.profile.gitops.path.strip("/")
        return Rendered(repository_files={
            WORKFLOW: HEADER + yamlio.dump(workflow(tree)),
            LEFTHOOK: HEADER + yamlio.dump(lefthook(tree)),
        })

    def notes(self, ctx: Context) -> list[str]:
        return [
            f"{WORKFLOW}: `outfitter validate --helm` on pushes and pull requests (SARIF to "
            "code scanning) and `outfitter diff` as a pull-request comment; require the "
            "'outfitter validate' check in branch protection so Renovate's automerge waits "
            "for it. Pull requests from forks get a read-only token: no comment there.",
            f"{LEFTHOOK}: `outfitter validate` before each commit (run `lefthook install`).",
        ]


ADDON = Ci()
