"""Benchmark: `outfitter validate --helm` and `outfitter diff`, beside plain `validate`, on the
default tree (every roadmap add-on), in one run.

    .venv/bin/python bench/helm_bench.py [--runs 3]

The default tree's chart sources are pointed at one Helm repository served on 127.0.0.1 from
the packed upstream charts (../shared/upstream/helm-charts; Kyverno's with the test suite's
empty stand-ins, see tests/chart_packages.py), so a pull is a real `helm pull` over HTTP:

- plain `validate` (schemas, Flux builds, references, lint);
- `validate --helm`, cold: an empty chart cache, every chart pulled;
- `validate --helm`, warm: the same cache again, nothing pulled;
- `diff` of a two-commit repository (one chart value changed), helm templating both sides
  from the warm cache.

Each is the wall time of the command run in-process (imports excluded), best of --runs, and
printed as a ratio to plain validate. Needs helm (tools/build.sh) and git.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO / "tests")]

import chart_packages  # noqa: E402
from outfitter import yamlio  # noqa: E402
from outfitter.cli import main  # noqa: E402
from outfitter.plan import build_plan  # noqa: E402
from outfitter.render.flux import render_tree  # noqa: E402
from outfitter.testcluster import tools_bin_dir  # noqa: E402
from profiles import variant  # noqa: E402

SOURCE = "bench-charts"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def served(folder: Path) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def chart_repository(helm: str, into: Path) -> dict[str, str]:
    """Every packed chart as a package in `into`; chart name -> version."""
    staging = chart_packages.charts_folder(into.parent / "staging")
    versions = {}
    for item in sorted(staging.iterdir()):
        if item.is_dir():
            subprocess.run([helm, "package", str(item), "-d", str(into)], check=True,
                           capture_output=True)
        else:
            shutil.copy(item.resolve(), into / item.name)
    for package in into.glob("*.tgz"):
        name, _, version = package.name.removesuffix(".tgz").rpartition("-")
        versions[name] = version
    return versions


def point_at(files: dict[str, str], url: str, versions: dict[str, str]) -> dict[str, str]:
    """The tree with every HelmRelease's chart taken from one HelmRepository at `url`."""
    out = {}
    for path, text in files.items():
        if not path.endswith("helmrelease.yaml"):
            out[path] = text
            continue
        docs = yamlio.load_all(text)
        for doc in docs:
            spec = doc["spec"]
            name = _chart_name(spec, files, path)
            spec.pop("chartRef", None)
            spec["chart"] = {"spec": {"chart": name, "version": versions[name],
                                      "sourceRef": {"kind": "HelmRepository", "name": SOURCE,
                                                    "namespace": "flux-system"}}}
        out[path] = yamlio.dump_all(docs)
    root = yamlio.load(out["kubernetes/apps/kustomization.yaml"])
    root["resources"].append("bench-charts.yaml")
    out["kubernetes/apps/kustomization.yaml"] = yamlio.dump(root)
    out["kubernetes/apps/bench-charts.yaml"] = yamlio.dump({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
        "metadata": {"name": SOURCE, "namespace": "flux-system"},
        "spec": {"interval": "12h", "url": url}})
    return out


def _chart_name(spec: dict[str, Any], files: dict[str, str], path: str) -> str:
    chart = (spec.get("chart") or {}).get("spec") or {}
    if chart.get("chart"):
        return str(chart["chart"]).rstrip("/").rsplit("/", 1)[-1]
    folder = path.rsplit("/", 1)[0]
    source = yamlio.load(files[f"{folder}/ocirepository.yaml"].split("---", 1)[-1])
    return str(source["spec"]["url"]).rstrip("/").rsplit("/", 1)[-1]


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def timed(argv: list[str], expect: tuple[int, ...], before: Callable[[], None] | None = None
          ) -> float:
    if before is not None:
        before()
    began = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = main(argv)
    elapsed = time.perf_counter() - began
    if code not in expect:
        raise SystemExit(f"{' '.join(argv)}: exit {code}, expected {expect}")
    return elapsed


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=bench", "-c",
                    "user.email=bench@localhost", *args], check=True, capture_output=True)


def run(runs: int) -> None:
    helm = str(tools_bin_dir() / "helm") if (tools_bin_dir() / "helm").exists() \
        else shutil.which("helm")
    if helm is None or not chart_packages.available():
        raise SystemExit("needs helm (tools/build.sh) and ../shared/upstream/helm-charts")
    with tempfile.TemporaryDirectory(prefix="helm-bench-") as tmp_:
        tmp = Path(tmp_)
        (tmp / "served").mkdir()
        versions = chart_repository(helm, tmp / "served")
        with served(tmp / "served") as url:
            subprocess.run([helm, "repo", "index", str(tmp / "served"), "--url", url],
                           check=True, capture_output=True)
            repo = tmp / "repo"
            write(repo, point_at(render_tree(build_plan(variant("default"))), url, versions))
            git(repo, "init", "-q", "-b", "main")
            git(repo, "add", ".")
            git(repo, "commit", "-q", "-m", "base")
            release = repo / "kubernetes/apps/velero/velero/app/helmrelease.yaml"
            release.write_text(release.read_text().replace("cpu: 50m", "cpu: 60m", 1))
            git(repo, "commit", "-q", "-am", "head")
            cache = tmp / "cache"
            os.environ["OUTFITTER_CHART_CACHE"] = str(cache)
            tree = str(repo / "kubernetes/apps")
            common = ["--kubernetes-version", "1.36"]
            helm_args = [*common, "--helm", "--helm-bin", helm]

            def clear() -> None:
                shutil.rmtree(cache, ignore_errors=True)

            plain = cold = warm = diff = float("inf")
            for _ in range(runs):
                plain = min(plain, timed(["validate", tree, *common], (0, 1)))
                cold = min(cold, timed(["validate", tree, *helm_args], (0, 1), clear))
                warm = min(warm, timed(["validate", tree, *helm_args], (0, 1)))
                diff = min(diff, timed(["diff", "main~1", "main", "--repo", str(repo),
                                        "--helm-bin", helm, "--offline"], (1,)))
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                main(["diff", "main~1", "main", "--repo", str(repo), "--helm-bin", helm,
                      "--offline", "--json"])
            changed = json.loads(out.getvalue())["changes"]
    print(f"default tree, {len(versions)} charts served, best of {runs} "
          f"(seconds, ratio to plain validate)")
    print("  the diff shows: " + "; ".join(
        f"{c['owner']}: {c['object']['kind']} {c['object']['name']} {c['change']}"
        for c in changed))
    for label, value in (("validate", plain), ("validate --helm, cold cache", cold),
                         ("validate --helm, warm cache", warm),
                         ("diff (two commits, both sides templated)", diff)):
        print(f"  {label:44} {value:7.2f}s  {value / plain:5.1f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    run(parser.parse_args().runs)
