"""The command: exit codes, the human report grouped by file, --json, SARIF, and the rules
documentation kept in step with the catalogue."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from validate_trees import write_tree

from outfitter.cli import main
from outfitter.validate.findings import RULES

REPO = Path(__file__).resolve().parents[2]
CLEAN = {"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: "
                    "default\ndata: {k: v}\n"}
BROKEN = {
    **CLEAN,
    "deploy.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web, namespace: default}
        spec:
          replicas: "two"
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              containers: [{name: web, image: nginx}]
        """,
}


def test_clean_tree_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_tree(tmp_path, CLEAN)
    assert main(["validate", str(tmp_path), "--kubernetes-version", "1.36"]) == 0
    assert "clean: 1 files, 1 objects (1 checked against a schema" in capsys.readouterr().out


def test_findings_exit_1_grouped_by_file_with_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_tree(tmp_path, BROKEN)
    assert main(["validate", str(tmp_path), "--kubernetes-version", "1.36"]) == 1
    out = capsys.readouterr().out
    assert "\ndeploy.yaml\n" in out
    assert re.search(r"5\s+error\s+schema\s+Deployment default/web: spec.replicas", out)
    assert re.search(r"10\s+warning\s+image-latest", out)


def test_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_tree(tmp_path, BROKEN)
    assert main(["validate", str(tmp_path), "--json", "--kubernetes-version", "1.36"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["errors"] == 1 and data["summary"]["warnings"] == 1
    assert data["summary"]["kubernetes_version"] == "1.36"
    assert [(f["file"], f["line"], f["rule"], f["severity"]) for f in data["findings"]] == [
        ("deploy.yaml", 5, "schema", "error"), ("deploy.yaml", 10, "image-latest", "warning")]
    assert data["findings"][0]["object"] == "Deployment default/web"


def test_sarif_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_tree(tmp_path / "repo", BROKEN)
    sarif = tmp_path / "out" / "validate.sarif"
    assert main(["validate", str(tmp_path / "repo"), "--sarif", str(sarif),
                 "--kubernetes-version", "1.36"]) == 1
    data = json.loads(sarif.read_text())
    assert data["version"] == "2.1.0"
    run = data["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["image-latest", "schema"]
    result = next(r for r in run["results"] if r["ruleId"] == "schema")
    assert result["level"] == "error"
    location = result["locations"][0]["physicalLocation"]
    assert location == {"artifactLocation": {"uri": "deploy.yaml", "uriBaseId": "ROOT"},
                        "region": {"startLine": 5}}
    assert run["originalUriBaseIds"]["ROOT"]["uri"].startswith("file://")
    assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == "schema"


def test_broken_yaml_exits_2_and_still_reports_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_tree(tmp_path, {**BROKEN, "bad.yaml": "apiVersion: v1\nkind: ConfigMap\ndata: [\n"})
    assert main(["validate", str(tmp_path), "--json", "--kubernetes-version", "1.36"]) == 2
    rules = [f["rule"] for f in json.loads(capsys.readouterr().out)["findings"]]
    assert rules == ["yaml-syntax", "schema", "image-latest"]


@pytest.mark.parametrize(("args", "message"), [
    (["validate", "/nonexistent/tree"], "/nonexistent/tree: no such file or directory"),
    (["validate", "/dev/null"], "/dev/null: not a file or a folder (a device, a FIFO or a "
                                "socket is never read)"),
    (["validate", ".", "--kubernetes-version", "1.2"], "no schemas for Kubernetes 1.2"),
    (["validate", ".", "--server", "--kubeconfig", "/nonexistent/kubeconfig"],
     "kubeconfig /nonexistent/kubeconfig: no such file"),
])
def test_usage_errors_exit_2(args: list[str], message: str,
                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_every_rule_is_documented_and_every_documented_rule_exists() -> None:
    text = (REPO / "docs" / "validate-rules.md").read_text()
    documented = set(re.findall(r'<a id="([a-z-]+)"></a>`([a-z-]+)`', text))
    assert {a for a, b in documented if a == b} == set(RULES)
    for rule in RULES.values():
        row = next(line for line in text.splitlines() if f'id="{rule.id}"' in line)
        assert f"| {rule.severity}" in row, rule.id


def test_an_unreachable_cluster_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("""\
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
""")
    write_tree(tmp_path / "repo", CLEAN)
    assert main(["validate", str(tmp_path / "repo"), "--kubeconfig", str(kubeconfig)]) == 2
    err = capsys.readouterr().err
    assert "cannot reach the API server at https://127.0.0.1:1: connection refused" in err


def test_path_is_a_folder_of_the_repository_validated(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--path is taken from the current folder, else from the repository validated; one
    outside it is refused (before: /etc became a Flux path '../../etc' and a flux-path
    error, and `--path clusters/main` from elsewhere was 'not a directory')."""
    repo = tmp_path / "repo"
    write_tree(repo, {"clusters/main/cm.yaml": "apiVersion: v1\nkind: ConfigMap\n"
                                               "metadata: {name: a, namespace: default}\n"
                                               "data: {k: v}\n"})
    monkeypatch.chdir(tmp_path)
    args = ["validate", str(repo), "--json", "--kubernetes-version", "1.36", "--path"]
    assert main([*args, "clusters/main"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["objects"] == 1
    (tmp_path / "outside").mkdir()
    assert main([*args, "outside"]) == 2
    assert f"--path outside: not in the repository validated ({repo})" in \
        capsys.readouterr().err
