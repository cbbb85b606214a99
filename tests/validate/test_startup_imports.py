"""Start-up of `outfitter validate`: a run imports what it uses (issue #11).

Each case runs in a fresh interpreter, because the test process has imported everything
already; the child prints the top-level names in sys.modules after the command.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n"
# Runs the command with stdout to a pipe, then reports the modules it imported on stderr.
CHILD = """
import contextlib, io, json, sys
from outfitter.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    status = main(sys.argv[1:])
sys.stderr.write(json.dumps({"status": status, "stdout": out.getvalue(),
                             "modules": sorted(sys.modules)}))
"""


def _run(*args: str, cache: Path | None = None) -> tuple[int, str, set[str]]:
    env = {**os.environ, "OUTFITTER_PARSE_CACHE": str(cache)} if cache else None
    done = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True,
                          text=True, check=True, env=env)
    answer = json.loads(done.stderr)
    return answer["status"], answer["stdout"], set(answer["modules"])


def _imports(modules: set[str], package: str) -> bool:
    return any(m == package or m.startswith(package + ".") for m in modules)


def test_a_json_run_into_a_pipe_imports_no_rich_pydantic_or_helm(tmp_path: Path) -> None:
    (tmp_path / "cm.yaml").write_text(CONFIGMAP)
    status, stdout, modules = _run("validate", str(tmp_path / "cm.yaml"),
                                   "--kubernetes-version", "1.36", "--json")
    assert status == 0
    assert json.loads(stdout)["summary"]["validated_against_schema"] == 1
    for heavy in ("rich", "pydantic", "outfitter.helm", "outfitter.config", "lightkube"):
        assert not _imports(modules, heavy), f"{heavy} imported by a --json run"


def test_the_terminal_report_still_uses_rich(tmp_path: Path) -> None:
    (tmp_path / "cm.yaml").write_text(CONFIGMAP + "  bogus: 1\n")
    status, stdout, modules = _run("validate", str(tmp_path / "cm.yaml"),
                                   "--kubernetes-version", "1.36")
    assert status == 1
    assert "bogus" in stdout and "findings" in stdout
    assert _imports(modules, "rich")


def test_a_rendered_tree_reads_its_profile_once(tmp_path: Path) -> None:
    """outfitter's render record means the built-in profile: the first run reads it (pydantic
    and the add-ons), later runs take its namespaces from the cache."""
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / ".outfitter.json").write_text("{}\n")
    (tree / "cm.yaml").write_text(CONFIGMAP.replace("settings\n", "settings\n  namespace: "
                                                                   "monitoring\n"))
    args = ("validate", str(tree), "--kubernetes-version", "1.36", "--json")
    cache = tmp_path / "cache"
    first = _run(*args, cache=cache)
    second = _run(*args, cache=cache)
    assert _imports(first[2], "pydantic") and not _imports(second[2], "pydantic")
    assert first[:2] == second[:2]
    assert json.loads(second[1])["summary"]["by_rule"] == {}  # monitoring: the profile's
