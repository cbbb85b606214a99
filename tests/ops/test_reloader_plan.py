"""`outfitter reloader plan` on a Flux repository laid out the way homelab repositories are
(tests/fixtures/flux-repo): kustomize overlays and generators, app-template HelmReleases,
multi-document files, comments, two indentation styles, a Helm template that is not YAML and
a file in two indentation styles whose edit would touch a flow mapping ruamel.yaml rewrites."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import upstream_data
from outfitter import yamlio
from outfitter.cli import main
from outfitter.ops import reloader, reloader_live
from repo_diff import line_changes, snapshot

APPS = "kubernetes/apps"


def by_name(plan: reloader.Plan) -> dict[str, reloader.Finding]:
    return {f.name: f for f in plan.findings}


def test_the_plan_names_each_workload_and_why(repo: Path) -> None:
    plan = reloader.plan_repository(repo)
    found = by_name(plan)
    assert plan.scanned == 9  # 6 workloads with a pod spec + redis + 2 app-template controllers

    jellyfin = found["jellyfin"]
    assert jellyfin.status == "needs annotation"
    assert jellyfin.missing == [reloader.Ref("Secret", "jellyfin-secret", "envFrom")]
    # The generated ConfigMap changes name with its content: no annotation needed for it.
    assert jellyfin.needs_none == {"ConfigMap/jellyfin-config": (
        f"generated with a content-hash name by {APPS}/media/jellyfin/app/kustomization.yaml")}
    assert jellyfin.add == {"reloader.stakater.com/auto": "true"}
    assert jellyfin.where == f"{APPS}/media/jellyfin/app/deployment.yaml:2"

    # An overlay's generator hashes ha-extra; the base turned the hash off for ha-config.
    ha = found["home-assistant"]
    assert ha.status == "needs annotation"
    assert [str(r) for r in ha.missing] == ["ConfigMap/ha-config", "Secret/ha-db"]
    assert list(ha.needs_none) == ["ConfigMap/ha-extra"]
    assert "disableNameSuffixHash" in ha.notes[0]
    assert {r.via for r in ha.refs} == {"projected volume", "env"}

    assert found["paperless"].status == "annotated"
    assert "redis" not in found  # reads no ConfigMap or Secret
    scanner = found["scanner-agent"]
    assert scanner.status == "partly annotated"
    # The named list is extended (init container's secret), not replaced by `auto`.
    assert scanner.add == {"secret.reloader.stakater.com/reload": "scanner-smb,scanner-token"}
    assert found["tika"].status == "opted out" and not found["tika"].add

    sonarr = found["sonarr (controller sonarr)"]
    assert sonarr.status == "needs annotation" and sonarr.helm_release == "sonarr"
    assert [str(r) for r in sonarr.refs] == [
        "ConfigMap/sonarr-extra", "Secret/sonarr-db", "Secret/sonarr-secret"]
    assert sonarr.needs_none == {
        "ConfigMap/scripts": "defined by the chart, which stamps a checksum on the pods"}
    assert sonarr.suggestion is not None and "controllers:\n      sonarr:" in sonarr.suggestion
    assert found["sonarr (controller exporter)"].status == "needs none"

    # Refused: the edit would rewrite the legacy file's `{ name: … }` line; the template is
    # not YAML.
    assert found["wiki"].edit_error is not None
    assert any(s.startswith(f"{APPS}/legacy/wiki/deployment.yaml:1: Deployment legacy/wiki: "
                            f"not edited") for s in plan.skipped)
    assert "kubernetes/templates/deployment.yaml: not valid YAML (line 6); skipped" \
        in plan.skipped
    # A HelmRelease of another chart: its workloads are not in the repository.
    assert any("observability/grafana" in n and "--live" in n for n in plan.notes)


def test_preview_writes_nothing_and_shows_the_diff(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(repo)
    assert main(["reloader", "plan", str(repo)]) == 0
    captured = capsys.readouterr()
    assert snapshot(repo) == before
    assert f"+++ b/{APPS}/media/jellyfin/app/deployment.yaml" in captured.out
    assert '+    reloader.stakater.com/auto: "true"' in captured.out
    assert "preview only: 4 file(s) would change; --write applies it" in captured.err


def test_write_changes_only_the_intended_lines(repo: Path) -> None:
    before = snapshot(repo)
    originals = {rel: (repo / rel).read_text() for rel in before if rel.endswith(".yaml")}
    # legacy/wiki cannot be edited safely: written around it, and exit 1 so that CI sees it.
    assert main(["reloader", "plan", str(repo), "--write"]) == 1
    after = snapshot(repo)
    changed = sorted(rel for rel in before if before[rel] != after[rel])
    assert changed == [
        f"{APPS}/home/home-assistant/base/statefulset.yaml",
        f"{APPS}/home/paperless/app/workloads.yaml",
        f"{APPS}/media/jellyfin/app/deployment.yaml",
        f"{APPS}/media/sonarr/app/helmrelease.yaml",
    ]
    expected = {
        # 2-space style: inserted after the labels, not between a comment and its key.
        f"{APPS}/media/jellyfin/app/deployment.yaml": (
            [], ["  annotations:", '    reloader.stakater.com/auto: "true"']),
        # 4-space style with unindented `-   ` sequences is kept.
        f"{APPS}/home/home-assistant/base/statefulset.yaml": (
            [], ["    annotations:", '        reloader.stakater.com/auto: "true"']),
        f"{APPS}/home/paperless/app/workloads.yaml": (
            ['    secret.reloader.stakater.com/reload: "scanner-smb"'],
            ['    secret.reloader.stakater.com/reload: "scanner-smb,scanner-token"']),
        f"{APPS}/media/sonarr/app/helmrelease.yaml": (
            [], ["        annotations:", '          reloader.stakater.com/auto: "true"']),
    }
    for rel, (removed, added) in expected.items():
        new = (repo / rel).read_text()
        assert line_changes(originals[rel], new) == (removed, added), rel
    # Where the lines went: under the workload's own metadata / the controller.
    jellyfin = yamlio.load_all((repo / f"{APPS}/media/jellyfin/app/deployment.yaml").read_text())
    assert jellyfin[0]["metadata"]["annotations"] == {"reloader.stakater.com/auto": "true"}
    assert "annotations" not in jellyfin[0]["spec"]["template"]["metadata"]
    sonarr = yamlio.load((repo / f"{APPS}/media/sonarr/app/helmrelease.yaml").read_text())
    controllers = sonarr["spec"]["values"]["controllers"]
    assert list(controllers["sonarr"]) == ["annotations", "containers"]
    assert "annotations" not in controllers["exporter"]


def test_a_second_run_finds_nothing_left_to_do(repo: Path) -> None:
    assert main(["reloader", "plan", str(repo), "--write"]) == 1  # wiki: not edited
    before = snapshot(repo)
    plan = reloader.plan_repository(repo)
    assert [f.name for f in plan.to_annotate] == ["wiki"]  # the one it must not edit
    assert reloader.write(plan) == []
    assert snapshot(repo) == before


def test_json_output(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reloader", "plan", str(repo), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    statuses = {f["name"]: f["status"] for f in data["findings"]}
    assert statuses["jellyfin"] == "needs annotation"
    assert statuses["tika"] == "opted out"
    assert data["written"] == [] and data["diff"].count("+++ ") == 4


@pytest.mark.parametrize(("argv", "message"), [
    (["reloader", "plan"], "give a PATH"),
    (["reloader", "plan", "/nonexistent/repo"], "/nonexistent/repo: no such file or folder"),
    (["reloader", "plan", ".", "--live"], "not both"),
    (["reloader", "plan", "--live", "--write"], "--write edits a repository"),
])
def test_usage_errors_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_pod_refs_reads_every_way_a_pod_consumes_config() -> None:
    pod = {
        "imagePullSecrets": [{"name": "registry"}],  # not read by the application
        "volumes": [
            {"name": "a", "configMap": {"name": "cm-vol"}},
            {"name": "b", "secret": {"secretName": "sec-vol"}},
            {"name": "c", "projected": {"sources": [
                {"configMap": {"name": "cm-proj"}}, {"secret": {"name": "sec-proj"}},
                {"serviceAccountToken": {"path": "token"}}]}},
            {"name": "d", "emptyDir": {}},
        ],
        "initContainers": [{"name": "i", "envFrom": [{"secretRef": {"name": "sec-envfrom"}}]}],
        "containers": [{"name": "c", "envFrom": [{"configMapRef": {"name": "cm-envfrom"}}],
                        "env": [{"name": "X", "value": "1"},
                                {"name": "Y", "valueFrom": {"secretKeyRef": {
                                    "name": "sec-env", "key": "k"}}},
                                {"name": "Z", "valueFrom": {"configMapKeyRef": {
                                    "name": "cm-env", "key": "k"}}},
                                {"name": "P", "valueFrom": {"fieldRef": {
                                    "fieldPath": "metadata.name"}}}]}],
    }
    assert sorted((r.kind, r.name, r.via) for r in reloader.pod_refs(pod)) == [
        ("ConfigMap", "cm-env", "env"), ("ConfigMap", "cm-envfrom", "envFrom"),
        ("ConfigMap", "cm-proj", "projected volume"), ("ConfigMap", "cm-vol", "volume"),
        ("Secret", "sec-env", "env"), ("Secret", "sec-envfrom", "envFrom"),
        ("Secret", "sec-proj", "projected volume"), ("Secret", "sec-vol", "volume"),
    ]


def test_coverage_of_existing_annotations() -> None:
    refs = [reloader.Ref("ConfigMap", "a", "volume"), reloader.Ref("Secret", "b", "env")]
    assert reloader.coverage({"reloader.stakater.com/auto": "true"}, refs) == ("covered", [])
    assert reloader.coverage({"reloader.stakater.com/auto": "false"}, refs) == ("opted out", [])
    assert reloader.coverage({"configmap.reloader.stakater.com/auto": "true"}, refs) == (
        "partial", [refs[1]])
    assert reloader.coverage({"secret.reloader.stakater.com/reload": "x, b",
                              "configmap.reloader.stakater.com/reload": "a"}, refs) == (
        "covered", [])
    assert reloader.coverage({"reloader.stakater.com/search": "true"}, refs) == ("search", [])
    assert reloader.coverage({"other": "x"}, refs) == ("none", refs)


def _helmrelease_with(post_renderer: str) -> dict[str, Any]:
    hr = {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
          "metadata": {"name": "grafana", "namespace": "observability"},
          "spec": {"interval": "30m", "chart": {"spec": {
              "chart": "grafana", "sourceRef": {"kind": "HelmRepository", "name": "grafana"}}}}}
    hr["spec"].update(yamlio.load(post_renderer)["spec"])
    return hr


def test_the_post_renderer_patch_fits_the_helmrelease_schema(upstream: None) -> None:
    patch = reloader_live.post_renderer_patch(
        [("Deployment", "grafana"), ("StatefulSet", "grafana-db")],
        {"reloader.stakater.com/auto": "true"})
    hr = _helmrelease_with(patch)
    assert upstream_data.crd_index().validate(hr) == []
    patches = hr["spec"]["postRenderers"][0]["kustomize"]["patches"]
    assert [p["target"] for p in patches] == [
        {"kind": "Deployment", "name": "grafana"}, {"kind": "StatefulSet", "name": "grafana-db"}]
    assert yamlio.load(patches[1]["patch"])["metadata"] == {
        "name": "grafana-db", "annotations": {"reloader.stakater.com/auto": "true"}}


def test_live_objects_are_judged_by_their_labels_and_owners() -> None:
    def deploy(name: str, ns: str, **meta: Any) -> dict[str, Any]:
        return {"kind": "Deployment", "metadata": {"name": name, "namespace": ns, **meta},
                "spec": {"template": {"spec": {"containers": [{
                    "name": "c", "envFrom": [{"secretRef": {"name": f"{name}-env"}}]}]}}}}

    hashed = deploy("site", "web")
    hashed["spec"]["template"]["spec"]["volumes"] = [
        {"name": "v", "configMap": {"name": "site-config-5fk2gt8m7c"}}]
    hashed["spec"]["template"]["spec"]["containers"][0]["envFrom"] = []
    plan = reloader_live.plan_objects([
        deploy("grafana", "observability", labels={
            "helm.toolkit.fluxcd.io/name": "grafana",
            "helm.toolkit.fluxcd.io/namespace": "observability"}),
        deploy("radarr", "media", labels={
            "helm.toolkit.fluxcd.io/name": "radarr", "helm.toolkit.fluxcd.io/namespace": "media",
            "helm.sh/chart": "app-template-4.3.0", "app.kubernetes.io/controller": "radarr"}),
        deploy("coredns", "kube-system"),
        {**deploy("podlevel", "web"), "spec": {"template": {
            "metadata": {"annotations": {"reloader.stakater.com/auto": "true"}},
            "spec": deploy("podlevel", "web")["spec"]["template"]["spec"]}}},
        deploy("prometheus-operated", "monitoring", ownerReferences=[
            {"kind": "Prometheus", "name": "kps", "apiVersion": "monitoring.coreos.com/v1",
             "uid": "1"}]),
        hashed,
    ])
    found = by_name(plan)
    assert "coredns" not in found  # kube-system: Reloader as installed ignores it
    assert found["grafana"].status == "helm"
    assert found["grafana"].helm_release == "observability/grafana"
    assert "postRenderers" in (found["grafana"].suggestion or "")
    assert "controllers:\n      radarr:" in (found["radarr"].suggestion or "")
    assert found["prometheus-operated"].status == "managed by an operator"
    assert found["site"].status == "needs none"
    assert found["podlevel"].status == "annotated"  # Reloader reads the pod template too


def _deployment(tmp_path: Path, workload: str, pod: str) -> Path:
    (tmp_path / "app.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\n" + workload +
        "spec:\n  template:\n    metadata:\n" + pod + "    spec:\n      containers:\n"
        "        - name: app\n          envFrom:\n            - secretRef: {name: app}\n"
        "            - configMapRef: {name: app-env}\n")
    return tmp_path / "app.yaml"


def test_an_annotation_on_the_pod_template_counts(tmp_path: Path) -> None:
    # Reloader reads the pod template's annotations when the workload has none deciding
    # (upstream handler/upgrade.go): `auto` there covers everything.
    _deployment(tmp_path, "", '      annotations:\n        reloader.stakater.com/auto: "true"\n')
    [finding] = reloader.plan_repository(tmp_path).findings
    assert finding.status == "annotated"
    assert any("pod template" in n for n in finding.notes)


def test_a_partial_pod_template_annotation_is_extended_there(tmp_path: Path) -> None:
    path = _deployment(
        tmp_path, "", '      annotations:\n        secret.reloader.stakater.com/reload: "app"\n')
    before = path.read_text()
    plan = reloader.plan_repository(tmp_path)
    [finding] = plan.findings
    assert finding.status == "partly annotated" and finding.on_pod
    assert [str(r) for r in finding.missing] == ["ConfigMap/app-env"]
    reloader.write(plan)
    assert line_changes(before, path.read_text()) == (
        [], ['        configmap.reloader.stakater.com/reload: "app-env"'])
    assert reloader.plan_repository(tmp_path).to_annotate == []


def test_the_workload_annotations_win_over_the_pod_template(tmp_path: Path) -> None:
    # The workload names the Secret: Secret changes are judged by the workload alone, so
    # the pod template's `auto` still covers the ConfigMap (its kind has no workload key).
    _deployment(tmp_path,
                '  annotations:\n    secret.reloader.stakater.com/reload: "other"\n',
                '      annotations:\n        reloader.stakater.com/auto: "true"\n')
    [finding] = reloader.plan_repository(tmp_path).findings
    assert finding.status == "partly annotated"
    assert [str(r) for r in finding.missing] == ["Secret/app"]
    assert finding.add == {"secret.reloader.stakater.com/reload": "other,app"}
    # `auto: "false"` on the workload: opted out, whatever the pod template says.
    _deployment(tmp_path, '  annotations:\n    reloader.stakater.com/auto: "false"\n',
                '      annotations:\n        reloader.stakater.com/auto: "true"\n')
    assert reloader.plan_repository(tmp_path).findings[0].status == "opted out"


def test_live_without_a_usable_cluster_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["reloader", "plan", "--live", "--kubeconfig", str(tmp_path / "none")]) == 2
    assert ": no such file" in capsys.readouterr().err
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: x\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:9'}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: x, context: {cluster: c, user: u}}]\n")
    assert main(["reloader", "plan", "--live", "--kubeconfig", str(kubeconfig)]) == 2
    assert "cannot reach the API server at https://127.0.0.1:9: connection refused" \
        in capsys.readouterr().err


def test_a_release_written_with_spaced_flow_mappings_gets_only_the_annotation(
        tmp_path: Path) -> None:
    # home-ops writes `capabilities: { drop: ["ALL"] }`; ruamel.yaml would write it as
    # `{drop: [ALL]}`, so no style round-trips the file, yet the edit is elsewhere.
    release = tmp_path / "helmrelease.yaml"
    release.write_text(
        "---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n"
        "  name: sabnzbd\nspec:\n  chart:\n    spec:\n      chart: app-template\n"
        "  values:\n    controllers:\n      sabnzbd:\n        containers:\n          app:\n"
        "            envFrom:\n              - secretRef:\n"
        "                  name: \"{{ .Release.Name }}-secret\"\n"
        "            securityContext:\n              capabilities: { drop: [\"ALL\"] }\n")
    before = release.read_text()
    assert main(["reloader", "plan", str(tmp_path), "--write"]) == 0
    assert line_changes(before, release.read_text()) == (
        [], ["        annotations:", '          reloader.stakater.com/auto: "true"'])
    assert reloader.plan_repository(tmp_path).to_annotate == []
