"""`certs migrate` on a kustomize overlay that patches a route (the layout of
fluxcd/flux2-kustomize-helm-example: apps/base + apps/production patches)."""

from __future__ import annotations

import shutil
from pathlib import Path

from outfitter.config import default_profile
from outfitter.ops import certs
from repo_diff import snapshot

OVERLAY = Path(__file__).resolve().parents[1] / "fixtures" / "repos" / "overlay-patches"


def test_a_route_an_overlay_patches_is_left_alone_and_the_patch_is_no_route(
    tmp_path: Path,
) -> None:
    root = Path(shutil.copytree(OVERLAY, tmp_path / "repo"))
    before = snapshot(root)
    mig = certs.plan_migration(root, default_profile(), "letsencrypt")
    # One route, where it is defined; the patch (other hosts, its own certResolver) is
    # not judged as a route, and the route it changes is not migrated behind its back.
    assert [(r.where, r.status) for r in mig.routes] == [
        ("apps/base/podinfo/ingressroute.yaml:1", "left alone")]
    assert mig.routes[0].reason == (
        "the kustomize patch apps/production/route-patch.yaml changes it (hosts or TLS may "
        "differ in what Flux applies): migrate it by hand")
    assert mig.to_migrate == []
    certs.write(mig)
    assert snapshot(root) == before


def test_without_the_patch_the_same_route_migrates(tmp_path: Path) -> None:
    root = Path(shutil.copytree(OVERLAY, tmp_path / "repo"))
    kustomization = root / "apps" / "production" / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text().replace(
        "  - path: route-patch.yaml\n    target:\n      kind: IngressRoute\n", ""))
    mig = certs.plan_migration(root, default_profile(), "letsencrypt")
    assert [(r.where, r.status) for r in mig.routes] == [
        ("apps/base/podinfo/ingressroute.yaml:1", "migrate")]
