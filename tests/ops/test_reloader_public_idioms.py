"""`reloader plan` on idioms of public homelab repositories that outfitter's own fixtures
did not have: app-template values naming objects through `{{ .Release.Name }}` (the chart
runs them through `tpl`), annotations separated from the next key by a blank line, and
kustomize overlays that patch a HelmRelease."""

from __future__ import annotations

import shutil
from pathlib import Path

from outfitter.ops import reloader
from repo_diff import line_changes

RELEASE_HEAD = (
    "---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n"
    "  name: karma\n  namespace: observability\nspec:\n  interval: 1h\n  chartRef:\n"
    "    kind: OCIRepository\n    name: app-template\n")


def test_a_templated_name_in_a_reload_annotation_covers_the_object_it_renders_to(
    tmp_path: Path,
) -> None:
    # The reload annotation names `{{ .Release.Name }}-configmap`, which app-template
    # renders to karma-configmap: the object the persistence item mounts.
    path = tmp_path / "helmrelease.yaml"
    path.write_text(RELEASE_HEAD + (
        "  values:\n    controllers:\n      karma:\n        annotations:\n"
        '          configmap.reloader.stakater.com/reload: "{{ .Release.Name }}-configmap"\n'
        "        containers:\n          app:\n            envFrom:\n"
        "              - secretRef:\n"
        '                  name: "{{ .Release.Name }}-secret"\n'
        "    persistence:\n      config-file:\n        type: configMap\n"
        "        name: karma-configmap\n"))
    plan = reloader.plan_repository(tmp_path)
    [finding] = plan.findings
    # The Secret's name is rendered too, so the plan says which object it really is.
    assert [str(r) for r in finding.refs] == ["ConfigMap/karma-configmap",
                                             "Secret/karma-secret"]
    assert finding.status == "partly annotated"
    assert [str(r) for r in finding.missing] == ["Secret/karma-secret"]
    # The user's templated list stays as written; only the Secret's list is added.
    assert finding.add == {"secret.reloader.stakater.com/reload": "karma-secret"}


def test_release_name_follows_helm_controller(tmp_path: Path) -> None:
    # helm-controller names the release <targetNamespace>-<name> when the HelmRelease sets
    # a targetNamespace and no releaseName: the templated name must follow.
    path = tmp_path / "helmrelease.yaml"
    path.write_text(RELEASE_HEAD + (
        "  targetNamespace: tools\n"
        "  values:\n    controllers:\n      karma:\n        annotations:\n"
        '          configmap.reloader.stakater.com/reload: "{{ .Release.Name }}-configmap"\n'
        "    persistence:\n      config-file:\n        type: configMap\n"
        "        name: karma-configmap\n"))
    [finding] = reloader.plan_repository(tmp_path).findings
    assert finding.status == "partly annotated" and finding.namespace == "tools"
    assert finding.add == {"configmap.reloader.stakater.com/reload":
                           "{{ .Release.Name }}-configmap,karma-configmap"}
    path.write_text(path.read_text().replace("  targetNamespace: tools\n",
                                             "  targetNamespace: tools\n"
                                             "  releaseName: karma\n"))
    [finding] = reloader.plan_repository(tmp_path).findings
    assert finding.status == "annotated"


def test_an_added_annotation_goes_before_the_blank_line_that_ends_the_block(
    tmp_path: Path,
) -> None:
    # A blank line separates the annotations from `pod:`; the new entry joins the others
    # above it instead of hanging below the gap.
    path = tmp_path / "helmrelease.yaml"
    before = RELEASE_HEAD + (
        "  values:\n    controllers:\n      karma:\n        annotations:\n"
        "          secret.reloader.stakater.com/reload: karma-secret\n\n"
        "        pod:\n          securityContext:\n            fsGroup: 2000\n\n"
        "        containers:\n          app:\n            envFrom:\n"
        "              - secretRef:\n                  name: karma-secret\n"
        "    persistence:\n      config-file:\n        type: configMap\n"
        "        name: karma-configmap\n")
    path.write_text(before)
    plan = reloader.plan_repository(tmp_path)
    reloader.write(plan)
    after = path.read_text()
    assert after == before.replace(
        "karma-secret\n\n        pod:",
        'karma-secret\n          configmap.reloader.stakater.com/reload: "karma-configmap"\n'
        "\n        pod:")
    assert reloader.plan_repository(tmp_path).to_annotate == []


def test_a_comment_at_the_end_of_the_last_annotation_stays_on_its_line(
    tmp_path: Path,
) -> None:
    path = tmp_path / "helmrelease.yaml"
    before = RELEASE_HEAD + (
        "  values:\n    controllers:\n      karma:\n        annotations:\n"
        "          secret.reloader.stakater.com/reload: karma-secret  # rotated weekly\n\n"
        "        containers:\n          app:\n            envFrom:\n"
        "              - secretRef:\n                  name: karma-secret\n"
        "    persistence:\n      config-file:\n        type: configMap\n"
        "        name: karma-configmap\n")
    path.write_text(before)
    reloader.write(reloader.plan_repository(tmp_path))
    removed, added = line_changes(before, path.read_text())
    assert removed == []
    assert added == ['          configmap.reloader.stakater.com/reload: "karma-configmap"']
    assert "karma-secret  # rotated weekly\n" in path.read_text()


OVERLAY = Path(__file__).resolve().parents[1] / "fixtures" / "repos" / "overlay-patches"


def test_kustomize_patch_files_are_not_objects_of_their_own(tmp_path: Path) -> None:
    # flux2-kustomize-helm-example's layout: apps/production patches the base's objects.
    # The patch documents are partial: never judged or edited as workloads, but named.
    root = Path(shutil.copytree(OVERLAY, tmp_path / "repo"))
    plan = reloader.plan_repository(root)
    assert [(f.workload, f.where, f.status) for f in plan.findings] == [
        ("Deployment podinfo/podinfo", "apps/base/podinfo/deployment.yaml:1",
         "needs annotation")]
    assert plan.notes == [
        "1 file(s) are kustomize patches (or generator input) of workloads or HelmReleases, "
        "not objects: judged where the object is defined, without what the patch changes: "
        "apps/production/podinfo-patch.yaml"]
    assert sorted(str(p.relative_to(root)) for p in reloader.write(plan)) == [
        "apps/base/podinfo/deployment.yaml"]


def test_a_mistyped_reload_annotation_is_named_and_does_not_count(tmp_path: Path) -> None:
    # `config.reloader.stakater.com/reload` (not `configmap.`): Reloader ignores it, so the
    # ConfigMap it names is still missing, and the plan says why.
    path = tmp_path / "helmrelease.yaml"
    path.write_text(RELEASE_HEAD + (
        "  values:\n    controllers:\n      karma:\n        annotations:\n"
        "          secret.reloader.stakater.com/reload: karma-secret\n"
        "          config.reloader.stakater.com/reload: karma-configmap\n"
        "        containers:\n          app:\n            envFrom:\n"
        "              - secretRef:\n                  name: karma-secret\n"
        "    persistence:\n      config-file:\n        type: configMap\n"
        "        name: karma-configmap\n"))
    [finding] = reloader.plan_repository(tmp_path).findings
    assert finding.status == "partly annotated"
    assert finding.add == {"configmap.reloader.stakater.com/reload": "karma-configmap"}
    assert finding.notes == [
        "config.reloader.stakater.com/reload is not an annotation Reloader reads: it does "
        "not count (did you mean configmap.reloader.stakater.com/reload?)"]


def test_a_release_every_cluster_defines_is_named_once(tmp_path: Path) -> None:
    # joryirving/home-ops: the same flux-instance HelmRelease in each cluster's folder.
    for cluster in ("main", "utility"):
        folder = tmp_path / cluster
        folder.mkdir()
        (folder / "helmrelease.yaml").write_text(
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n"
            "  name: flux-instance\n  namespace: flux-system\nspec:\n  chart:\n    spec:\n"
            "      chart: flux-instance\n      sourceRef:\n        kind: HelmRepository\n"
            "        name: controlplaneio\n")
    plan = reloader.plan_repository(tmp_path)
    assert len(plan.not_judged) == 2
    assert plan.notes == [
        "1 HelmRelease(s) render workloads that are not in the repository "
        "(flux-system/flux-instance): `outfitter reloader plan --live` finds which of them "
        "read a ConfigMap or Secret, with the post-renderer patch for each."]
