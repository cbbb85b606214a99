"""`reloader plan` on a repository laid out as homelab repositories are (tests/fixtures/repos/
reloader-home-ops): flux bootstrap's entry point, a Flux Kustomization per app with
`targetNamespace`, bjw-s app-template v3 (HelmRepository) and v4 (its own OCIRepository)
releases, values in a values.yaml that a configMapGenerator turns into the valuesFrom
ConfigMap, Reloader's annotation on the pod template, values in a SOPS-encrypted Secret, a
chart that is not app-template, a chart from a source the tree does not hold, and a
retired app no Flux Kustomization applies any more."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from outfitter import yamlio
from outfitter.cli import main
from outfitter.ops import reloader
from repo_diff import line_changes, snapshot

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "repos" / "reloader-home-ops"
APPS = "kubernetes/apps"


@pytest.fixture
def home_ops(tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURE, tmp_path / "home-ops"))


def test_every_release_is_judged_or_listed_with_the_reason(home_ops: Path) -> None:
    plan = reloader.plan_repository(home_ops)
    assert [(f.workload, f.status) for f in plan.findings] == [
        ("Deployment default/echo", "needs annotation"),
        ("Deployment media/plex (controller plex)", "annotated"),
        ("Deployment media/prowlarr (controller prowlarr)", "annotated"),
        ("Deployment media/radarr (controller radarr)", "needs annotation"),
        ("Deployment media/sonarr (controller sonarr)", "needs annotation"),
    ]
    found = {f.name: f for f in plan.findings}
    # radarr's controllers are only in values.yaml, read through the generated ConfigMap.
    radarr = found["radarr (controller radarr)"]
    assert [(r.kind, r.name, r.via) for r in radarr.refs] == [
        ("ConfigMap", "radarr-scripts", "persistence.scripts"),
        ("Secret", "radarr-secret", "env")]
    assert radarr.edit_file == f"{APPS}/media/radarr/app/values.yaml"
    # prowlarr: containers from the values file, the annotation inline: merged as Helm does.
    assert [str(r) for r in found["prowlarr (controller prowlarr)"].refs] == [
        "Secret/prowlarr-secret"]
    # plex: Reloader reads the pod template when the workload has no annotation of its own.
    plex = found["plex (controller plex)"]
    assert plex.add == {} and any("pod template" in n for n in plex.notes)
    assert plan.not_judged == [
        f"HelmRelease media/bazarr ({APPS}/media/bazarr/app/helmrelease.yaml:2): values "
        f"unreadable: spec.valuesFrom[0] Secret bazarr-values is SOPS-encrypted: its values are "
        f"unknown",
        f"HelmRelease observability/blackbox ({APPS}/observability/shared/app/helmrelease"
        f".yaml:2): chart unknown (chartRef OCIRepository prometheus-blackbox-exporter is not "
        f"in the repository)",
        f"HelmRelease observability/grafana ({APPS}/observability/grafana/app/helmrelease"
        f".yaml:2): chart grafana is not app-template: the workloads it renders are not in "
        f"the repository (`--live` reads them from the cluster)",
    ]
    # The retired app is named once, never judged or edited.
    assert plan.notes[0] == (
        f"3 file(s) no Flux Kustomization applies were left alone (not-applied: Flux never "
        f"reads them): {APPS}/default/old-app/app/deployment.yaml, "
        f"{APPS}/default/old-app/app/kustomization.yaml, {APPS}/default/old-app/ks.yaml")
    assert not any("old-app" in f.name for f in plan.findings)
    assert plan.skipped == [] and plan.scanned == 5


def test_the_printed_namespaces_come_from_target_namespace(
    home_ops: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["reloader", "plan", str(home_ops)]) == 0
    out = capsys.readouterr().out
    assert "?/" not in out
    assert "Deployment default/echo" in out and "HelmRelease media/radarr" in out
    assert "not judged HelmRelease media/bazarr" in out


def test_write_changes_only_the_annotation_lines_and_a_second_run_nothing(
    home_ops: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(home_ops)
    originals = {rel: (home_ops / rel).read_text() for rel in before}
    assert main(["reloader", "plan", str(home_ops), "--write", "--json"]) == 0
    written = json.loads(capsys.readouterr().out)["written"]
    after = snapshot(home_ops)
    changed = sorted(rel for rel in before if before[rel] != after[rel])
    expected = {
        f"{APPS}/default/echo/app/deployment.yaml": [
            "  annotations:", '    reloader.stakater.com/auto: "true"'],
        # The values behind the generator: where the controller is written.
        f"{APPS}/media/radarr/app/values.yaml": [
            "    annotations:", '      reloader.stakater.com/auto: "true"'],
        f"{APPS}/media/sonarr/app/helmrelease.yaml": [
            "        annotations:", '          reloader.stakater.com/auto: "true"'],
    }
    assert changed == sorted(expected) and len(written) == 3
    for rel, added in expected.items():
        assert line_changes(originals[rel], (home_ops / rel).read_text()) == ([], added), rel
    values = yamlio.load((home_ops / f"{APPS}/media/radarr/app/values.yaml").read_text())
    assert values["controllers"]["radarr"]["annotations"] == {
        "reloader.stakater.com/auto": "true"}
    # The comment at the top of values.yaml is kept.
    assert (home_ops / f"{APPS}/media/radarr/app/values.yaml").read_text().startswith(
        "---\n# Values for the app-template chart")

    plan = reloader.plan_repository(home_ops)
    assert plan.to_annotate == []
    assert reloader.write(plan) == []
    assert snapshot(home_ops) == after


def _release_with_values_from(tmp_path: Path, values_doc: str) -> Path:
    (tmp_path / "helmrelease.yaml").write_text(
        "---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n"
        "  name: app\n  namespace: apps\nspec:\n  chart:\n    spec:\n      chart: app-template\n"
        "      version: 4.4.0\n      sourceRef:\n        kind: HelmRepository\n"
        "        name: bjw-s\n"
        "  interval: 1h\n  valuesFrom:\n    - kind: ConfigMap\n      name: app-values\n")
    (tmp_path / "values.yaml").write_text(values_doc)
    return tmp_path / "helmrelease.yaml"


def test_values_from_a_configmap_manifest_get_the_annotation_inline(tmp_path: Path) -> None:
    # A ConfigMap written as a manifest holds the values as one string: the annotation goes
    # in the HelmRelease's own values, which helm-controller merges on top.
    path = _release_with_values_from(tmp_path, (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-values\n  namespace: apps\n"
        "data:\n  values.yaml: |\n    controllers:\n      main:\n        containers:\n"
        "          app:\n            envFrom:\n              - secretRef:\n"
        "                  name: app-secret\n"))
    before = path.read_text()
    plan = reloader.plan_repository(tmp_path)
    [finding] = plan.findings
    assert finding.status == "needs annotation" and finding.namespace == "apps"
    reloader.write(plan)
    assert line_changes(before, path.read_text()) == ([], [
        "  values:", "    controllers:", "      main:", "        annotations:",
        '          reloader.stakater.com/auto: "true"'])
    assert reloader.plan_repository(tmp_path).to_annotate == []


def test_a_missing_values_object_is_not_judged(tmp_path: Path) -> None:
    _release_with_values_from(tmp_path, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
                                        "  name: other\ndata: {}\n")
    plan = reloader.plan_repository(tmp_path)
    assert plan.findings == []
    assert plan.not_judged == [
        "HelmRelease apps/app (helmrelease.yaml:2): values unreadable: spec.valuesFrom[0] "
        "ConfigMap app-values is not in the repository (made in the cluster?): its values are "
        "unknown"]
