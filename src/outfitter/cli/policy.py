"""`outfitter policy readiness|enforce`: Kyverno policies from Audit to Deny (logic in
outfitter.ops.policy and outfitter.ops.policy_edit)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from outfitter.addons.kyverno import KyvernoOptions
from outfitter.cli.app import (
    DEFAULT_PROFILE,
    ContextOpt,
    JsonOpt,
    KubeconfigOpt,
    ProfileOpt,
    RequestTimeoutOpt,
    UsageProblem,
    app,
    err_console,
    out_console,
    profile_from,
)
from outfitter.cli.cluster import cluster_session
from outfitter.config import Profile, load_profile
from outfitter.ops import policy as ops
from outfitter.ops import policy_edit as edit
from outfitter.ops import policy_traps as traps_of

policy_app = typer.Typer(help="Kyverno policies: from Audit to Deny.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")

HISTORY_NOTE = ("reports hold the present only: a fixed or deleted violation leaves no trace, "
                "so 'clean since' counts from the policy's last change")


def _ready_after_days(profile: Profile) -> int:
    opts = profile.addon_options("kyverno")
    assert isinstance(opts, KyvernoOptions)
    return opts.ready_after_days


def _iso(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def readiness_json(results: list[ops.Readiness], reports: ops.Reports, days: int,
                   traps: list[traps_of.Trap]) -> dict[str, Any]:
    return {
        "readyAfterDays": days,
        "reportApis": reports.apis,
        "policies": [{
            "name": r.policy, "mode": r.mode, "state": r.state, "results": r.results,
            "cleanSince": _iso(r.clean_since), "readyAt": _iso(r.ready_at),
            "violations": [{"namespace": v.namespace, "workload": v.workload,
                            "resources": v.resources, "openSince": _iso(v.since),
                            "message": v.message} for v in r.violations],
        } for r in results],
        "traps": [{"policy": t.policy, "message": t.message} for t in traps],
    }


STATE_STYLE = {"ready": "green", "violations": "red", "soaking": "yellow",
               "no-results": "yellow", "enforced": "dim"}


def print_readiness(results: list[ops.Readiness], reports: ops.Reports, days: int,
                    traps: list[traps_of.Trap], now: datetime) -> None:
    console = out_console()
    audit = [r for r in results if r.mode == "audit"]
    if not results:
        console.print("No ValidatingPolicy on the cluster.")
    if not reports.apis:
        console.print("[yellow]No policy report API is served: is Kyverno installed?[/]")
    if audit:
        table = Table("policy", "state", "open", "clean since", "ready at",
                      title=f"Policies in Audit (ready after {days} day(s) without violations;"
                            f" reports: {', '.join(reports.apis) or 'none'})",
                      title_justify="left")
        for r in audit:
            style = STATE_STYLE[r.state]
            table.add_row(r.policy, f"[{style}]{r.state}[/]", str(r.open),
                          _iso(r.clean_since) or "-", _iso(r.ready_at) or "-")
        console.print(table)
    open_rows = [(r.policy, v) for r in audit for v in r.violations]
    if open_rows:
        table = Table("policy", "namespace", "workload", "resources", "open for", "message",
                      title="Open violations", title_justify="left")
        for name, v in open_rows:
            table.add_row(name, v.namespace, v.workload, str(v.resources), ops.age(v.since, now),
                          v.message)
        console.print(table)
    enforced = [r.policy for r in results if r.mode != "audit"]
    if enforced:
        console.print(f"Not in Audit: {', '.join(enforced)}")
    for trap in traps:
        console.print(f"[yellow]warning[/]: {trap}", soft_wrap=True)
    if audit:
        console.print(f"[dim]note: {HISTORY_NOTE}[/]")
        ready = [r.policy for r in audit if r.state == "ready"]
        if ready:
            console.print(f"Ready for Deny: {', '.join(ready)} "
                          "(`outfitter policy enforce --ready`)")


@policy_app.command("readiness")
def readiness(
    profile: ProfileOpt = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    as_json: JsonOpt = False,
    request_timeout: RequestTimeoutOpt = 15.0,
) -> None:
    """Per policy in Audit: open violations by namespace and workload, and whether it is
    ready for Deny (no violation for readyAfterDays). Exit 0 done, 2 bad input."""
    days = _ready_after_days(profile_from(profile))
    now = datetime.now(UTC)
    with cluster_session(kubeconfig, context, request_timeout) as conn:
        client = conn.client
        results, reports, policies = ops.readiness(client, days, now)
        traps = traps_of.cluster_traps(client, policies)
    if as_json:
        sys.stdout.write(json.dumps(readiness_json(results, reports, days, traps), indent=2)
                         + "\n")
    else:
        print_readiness(results, reports, days, traps, now)


def _find_profile(given: Path | None, repo: Path) -> Path | None:
    if given is not None:
        return given
    for candidate in (DEFAULT_PROFILE, repo / DEFAULT_PROFILE):
        if candidate.is_file():
            return candidate
    return None


def _refusals(names: list[str], by_name: dict[str, ops.Readiness], days: int,
              now: datetime) -> list[str]:
    problems = []
    for name in names:
        r = by_name.get(name)
        if r is None:
            problems.append(f"{name}: not on the cluster, so no reports to go by")
        elif r.state == "violations":
            where = ", ".join(f"{v.namespace}/{v.workload}" for v in r.violations[:3])
            more = f" and {r.open - 3} more" if r.open > 3 else ""
            problems.append(f"{name}: {r.open} open violation(s) ({where}{more}); fix them "
                            "first (outfitter policy readiness)")
        elif r.state == "no-results":
            problems.append(f"{name}: no report results at all (does its match select "
                            "anything? is Kyverno's reports controller running?)")
        elif r.state == "soaking":
            problems.append(f"{name}: clean for {ops.age(r.clean_since, now)} only; "
                            f"readyAfterDays is {days} (ready at {_iso(r.ready_at)})")
    return problems


@policy_app.command("enforce")
def enforce(
    names: Annotated[list[str] | None, typer.Argument(help="policies to switch")] = None,
    ready: Annotated[bool, typer.Option(
        "--ready", help="switch every policy in Audit that is ready")] = False,
    force: Annotated[bool, typer.Option(
        "--force", help="switch even policies that still have violations")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="only print the diff")] = False,
    repo: Annotated[Path, typer.Option(
        "--repo", help="the GitOps repository's root", file_okay=False)] = Path("."),
    profile: ProfileOpt = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    request_timeout: RequestTimeoutOpt = 15.0,
) -> None:
    """Switch policies from Audit to Deny in the GitOps tree (and the profile) and print the
    diff; commit and push it for Flux to apply. Exit 0 done, 2 refused or bad input."""
    if bool(names) == ready:
        raise UsageProblem(["name the policies to switch, or give --ready (not both)"])
    if not repo.is_dir():
        raise UsageProblem([f"{repo}: not a directory"])
    repo = repo.resolve()
    profile_path = _find_profile(profile, repo)
    the_profile = load_profile(profile_path) if profile_path else None
    days = _ready_after_days(the_profile) if the_profile else KyvernoOptions().ready_after_days
    search = repo
    if the_profile is not None and (repo / the_profile.gitops.path).is_dir():
        search = repo / the_profile.gitops.path
    err = err_console()
    now = datetime.now(UTC)
    with cluster_session(kubeconfig, context, request_timeout) as conn:
        client = conn.client
        results, _, _ = ops.readiness(client, days, now)
        by_name = {r.policy: r for r in results}
        if ready:
            in_tree = {d.name for d in edit.find_policies(repo, search)}
            names = [r.policy for r in results if r.mode == "audit" and r.state == "ready"]
            for name in names:
                if name not in in_tree:
                    err.print(f"{name}: ready, but not in the tree under {search}; left alone")
            names = [n for n in names if n in in_tree]
            if not names:
                err.print("No policy in Audit is ready for Deny (outfitter policy readiness).")
                return
        assert names is not None
        plan = edit.plan_enforce(repo, list(dict.fromkeys(names)), search,
                                 profile_path.resolve() if profile_path else None)
        problems = _refusals(plan.switched, by_name, days, now)
        if problems and not force:
            raise UsageProblem([*problems, "nothing written; --force switches them anyway"])
        after = edit.tree_policies(search, plan)
        switched_docs = [o for o in after if o["metadata"]["name"] in plan.switched]
        traps = [*traps_of.selects_nothing_traps(client, switched_docs),
                 *traps_of.deprecated_field_traps(after), *traps_of.overlap_traps(after)]
    for note in plan.notes:
        err.print(note)
    for problem in problems:
        err.print(f"[yellow]forced[/]: {problem}", soft_wrap=True)
    for trap in traps:
        err.print(f"[yellow]warning[/]: {trap}", soft_wrap=True)
    sys.stdout.write(plan.diff())
    if not plan.edits:
        return
    if dry_run:
        err.print("dry run: nothing written")
        return
    for note in edit.write_enforce(repo, plan):
        err.print(f"[yellow]note[/]: {note}", soft_wrap=True)
    if plan.switched:
        err.print(f"switched to Deny: {', '.join(plan.switched)}; commit and push for Flux to "
                  "apply it")
    else:  # the tree was already in Deny (an interrupted earlier run): the profile caught up
        err.print("the profile now says deny as the tree does; commit and push it")
