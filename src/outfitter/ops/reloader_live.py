"""Reloader annotations for the workloads a cluster runs (`outfitter reloader plan --live`).

The cluster shows what a repository cannot: the workloads a HelmRelease rendered (Flux's
helm-controller labels them with the release), and those an operator owns. A Helm-rendered
workload gets the HelmRelease post-renderer patch that would add the annotation; nothing is
written to the cluster (Flux would take a hand-made annotation away again).
"""

from __future__ import annotations

from typing import Any

from outfitter import yamlio
from outfitter.cluster.namespaces import PLATFORM as LEFT_OUT_NAMESPACES
from outfitter.ops.release_tree import APP_TEMPLATE
from outfitter.ops.reloader import (
    HASH_SUFFIX,
    Finding,
    Plan,
    judge,
    meta_of,
    pod_refs,
)


def post_renderer_patch(targets: list[tuple[str, str]], add: dict[str, str]) -> str:
    """A HelmRelease post-renderer adding `add` to each (kind, name) the chart renders.
    A strategic-merge patch, because a chart's workload may have no annotations map for a
    JSON patch `add` to land in."""
    patches = []
    for kind, name in targets:
        patch = {"apiVersion": "apps/v1", "kind": kind,
                 "metadata": {"name": name, "annotations": dict(add)}}
        patches.append({"target": {"kind": kind, "name": name}, "patch": yamlio.dump(patch)})
    return yamlio.dump({"spec": {"postRenderers": [{"kustomize": {"patches": patches}}]}})


def plan_objects(objects: list[dict[str, Any]]) -> Plan:
    """Findings for workloads read from the cluster (Deployments, StatefulSets, DaemonSets
    as the API returns them)."""
    plan = Plan()
    by_release: dict[str, list[Finding]] = {}
    for obj in sorted(objects, key=lambda o: (meta_of(o).get("namespace", ""),
                                              str(o.get("kind")), meta_of(o).get("name", ""))):
        meta = meta_of(obj)
        ns = meta.get("namespace")
        if ns in LEFT_OUT_NAMESPACES:
            continue
        plan.scanned += 1
        pod_spec = ((obj.get("spec") or {}).get("template") or {}).get("spec")
        refs = pod_refs(pod_spec)
        if not refs:
            continue
        finding = Finding(kind=str(obj.get("kind")), name=str(meta.get("name")), namespace=ns,
                          where="cluster", refs=refs, status="needs annotation")
        owners = meta.get("ownerReferences") or []
        if owners:
            owner = owners[0]
            finding.status = "managed by an operator"
            finding.notes.append(
                f"owned by {owner.get('kind')}/{owner.get('name')}: an annotation here would "
                f"be overwritten; configure it through that resource")
            plan.findings.append(finding)
            continue
        plain = []
        for ref in refs:
            if HASH_SUFFIX.search(ref.name):
                finding.needs_none[str(ref)] = "name ends in a kustomize content hash"
            else:
                plain.append(ref)
        annotations = meta.get("annotations") or {}
        template = (obj.get("spec") or {}).get("template") or {}
        pod = (template.get("metadata") or {}).get("annotations") or {}
        judge(finding, annotations, plain, pod)  # Reloader reads the pod template too
        labels = meta.get("labels") or {}
        hr_name = labels.get("helm.toolkit.fluxcd.io/name")
        if hr_name and finding.add:
            hr_ns = labels.get("helm.toolkit.fluxcd.io/namespace", ns)
            finding.helm_release = f"{hr_ns}/{hr_name}"
            finding.status = "helm"
            chart = str(labels.get("helm.sh/chart", ""))
            controller = labels.get("app.kubernetes.io/controller")
            if chart.startswith(APP_TEMPLATE) and controller:
                lines = "\n".join(f'          {k}: "{v}"' for k, v in finding.add.items())
                finding.suggestion = (f"spec:\n  values:\n    controllers:\n      {controller}:"
                                      f"\n        annotations:\n{lines}")
            else:
                by_release.setdefault(finding.helm_release, []).append(finding)
        elif labels.get("kustomize.toolkit.fluxcd.io/name") and finding.add:
            ks = (f"{labels.get('kustomize.toolkit.fluxcd.io/namespace', '?')}/"
                  f"{labels['kustomize.toolkit.fluxcd.io/name']}")
            finding.notes.append(
                f"applied by Flux Kustomization {ks}: add the annotation in the repository "
                f"(`outfitter reloader plan PATH --write`), or Flux will take it away again")
        plan.findings.append(finding)
    for group in by_release.values():
        add: dict[str, str] = {}
        for f in group:
            add.update(f.add)
        patch = post_renderer_patch([(f.kind, f.name) for f in group], add)
        for f in group:
            f.suggestion = patch
    return plan


def live_objects(client: Any) -> list[dict[str, Any]]:
    """Deployments, StatefulSets and DaemonSets of every namespace, as plain dicts."""
    from outfitter.cluster.kinds import WORKLOADS
    from outfitter.cluster.resources import list_or_none

    objects = []
    for kind in WORKLOADS:
        for obj in list_or_none(client, kind, namespace="*") or []:
            obj["kind"] = kind.kind
            objects.append(obj)
    return objects
