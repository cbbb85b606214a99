"""Real policy results from the real engine, turned into the reports Kyverno's reports
controller would write, for tests.

The Kyverno CLI (`kubectl-kyverno apply --cluster`, built from Kyverno's Go module) evaluates
policies against the objects in the test control plane: that is the real engine. Kyverno's
reports controller cannot run here, so `controller_reports` does its last step by hand: one
`wgpolicyk8s.io/v1alpha2` PolicyReport per resource (what Kyverno 1.19 writes by default),
named by the resource's UID, owned by it, with the CLI's results and timestamps.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from lightkube import Client, codecs


def cli_report(kyverno: Path, policies: Path, kubeconfig: Path, namespace: str) -> dict[str, Any]:
    """The CLI's ClusterReport for the objects of one namespace."""
    result = subprocess.run(
        [str(kyverno), "apply", str(policies), "--cluster", "--kubeconfig", str(kubeconfig),
         "--namespace", namespace, "--policy-report", "--output-format", "json"],
        capture_output=True, text=True, check=False, timeout=120)
    start = result.stdout.find("{")
    assert start >= 0, result.stdout + result.stderr
    report: dict[str, Any] = json.loads(result.stdout[start:])
    return report


def controller_reports(cluster_report: dict[str, Any]) -> list[dict[str, Any]]:
    by_resource: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
    for result in cluster_report.get("results") or []:
        for res in result.get("resources") or []:
            entry = {k: v for k, v in result.items() if k != "resources"}
            by_resource.setdefault(res["uid"], (res, []))[1].append(entry)
    reports = []
    for uid, (res, results) in sorted(by_resource.items()):
        summary = {k: sum(1 for r in results if r["result"] == k)
                   for k in ("pass", "fail", "warn", "error", "skip")}
        reports.append({
            "apiVersion": "wgpolicyk8s.io/v1alpha2", "kind": "PolicyReport",
            "metadata": {
                "name": uid, "namespace": res["namespace"],
                "labels": {"app.kubernetes.io/managed-by": "kyverno"},
                "ownerReferences": [{"apiVersion": res["apiVersion"], "kind": res["kind"],
                                     "name": res["name"], "uid": uid}],
            },
            "scope": {k: res[k] for k in ("apiVersion", "kind", "name", "namespace", "uid")},
            "results": sorted(results, key=lambda r: (r["policy"], r.get("rule", ""))),
            "summary": summary,
        })
    return reports


def publish(client: Client, reports: list[dict[str, Any]]) -> None:
    for report in reports:
        client.apply(codecs.from_dict(report), field_manager="kyverno-stand-in", force=True)


def offline_report(kyverno: Path, folder: Path, policies: list[dict[str, Any]],
               resources: list[dict[str, Any]]) -> dict[str, Any]:
    """The real Kyverno CLI's policy report for `resources` against `policies`."""
    from outfitter import yamlio

    (folder / "policies.yaml").write_text(yamlio.dump_all(policies))
    (folder / "resources.yaml").write_text(yamlio.dump_all(resources))
    result = subprocess.run(
        [str(kyverno), "apply", str(folder / "policies.yaml"),
         "--resource", str(folder / "resources.yaml"),
         "--policy-report", "--output-format", "json"],
        capture_output=True, text=True, check=False, timeout=300)
    start = result.stdout.find("{")
    assert start >= 0, result.stdout + result.stderr
    report: dict[str, Any] = json.loads(result.stdout[start:])
    return report
