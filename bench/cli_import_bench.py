"""Benchmark: `outfitter --help` and `outfitter validate` of one tiny file against a bare
start of the same interpreter, in one run.

All are started as fresh processes, in turn, `--repeat` times each; the medians are
compared. The CLI imports a command's modules only when that command runs, so `--help`
costs Typer and the command table, not Rich, pydantic, the add-ons or a cluster client.
Goal: ratio <= 10 (it was 48 before the lazy command table).

`validate` of a 4-line ConfigMap with --json into a pipe is the fixed cost every validate
run pays (issue #11): start-up, the built-in schemas, no Rich. Its goal is about 250 ms on
the 2-core test machine, where a bare interpreter starts in about 20 ms. The warm-up run
fills a temporary parse cache (it also keeps the schema definitions), as a user's earlier
run would; the first run's time is printed too. The same file in a tree with outfitter's
render record adds the profile lookup (its namespaces, kept in that cache). The children
may write .pyc files (as an installed package has them) even when PYTHONDONTWRITEBYTECODE
is set here.

    .venv/bin/python bench/cli_import_bench.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HELP = ["-c", "import sys; from outfitter.cli import main; sys.exit(main(['--help']))"]
BARE = ["-c", "pass"]
VALIDATE = ["-c", "from outfitter.cli import run; run()", "validate"]  # + FILE, options
TINY = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n"
PLAN_IMPORTS = ["-c", "import sys, outfitter.cli.core; "
                      "sys.exit(any(m.split('.')[0] in ('lightkube', 'httpx', 'httpx2') "
                      "for m in sys.modules))"]


ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(args: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, *args], check=True, stdout=subprocess.DEVNULL,
                   env=env or ENV)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="outfitter-bench-") as scratch:
        tiny = Path(scratch) / "cm.yaml"
        tiny.write_text(TINY)
        rendered = Path(scratch) / "rendered"  # a render record: the built-in profile
        rendered.mkdir()
        (rendered / ".outfitter.json").write_text("{}\n")
        (rendered / "cm.yaml").write_text(TINY)
        validate = [*VALIDATE, str(tiny), "--kubernetes-version", "1.36", "--json"]
        validate_rendered = [*VALIDATE, str(rendered), "--kubernetes-version", "1.36", "--json"]
        env = {**ENV, "OUTFITTER_PARSE_CACHE": str(Path(scratch) / "cache")}
        timed(HELP)  # warm the file cache and the .pyc files
        first = timed(validate, env)  # an empty parse cache: what a first run pays
        timed(validate_rendered, env)
        bare, cli, val, val_rendered = [], [], [], []
        for _ in range(args.repeat):
            bare.append(timed(BARE))
            cli.append(timed(HELP))
            val.append(timed(validate, env))
            val_rendered.append(timed(validate_rendered, env))
    b, c, v = statistics.median(bare), statistics.median(cli), statistics.median(val)
    r = statistics.median(val_rendered)
    print(f"bare interpreter start: {b * 1000:.0f} ms (median of {args.repeat})")
    print(f"outfitter --help:       {c * 1000:.0f} ms (median of {args.repeat})")
    print(f"ratio: {c / b:.1f}x (goal <= 10x)")
    print(f"outfitter validate one tiny file --json: {v * 1000:.0f} ms (median of "
          f"{args.repeat}; the first run, with an empty cache: {first * 1000:.0f} ms)")
    print(f"ratio: {v / b:.1f}x the bare interpreter (goal: about 250 ms)")
    print(f"the same file in a rendered tree (its profile's namespaces): {r * 1000:.0f} ms "
          f"({r / b:.1f}x)")
    clean = subprocess.run([sys.executable, *PLAN_IMPORTS]).returncode == 0
    print(f"plan/render/init import a cluster client: {'no' if clean else 'YES'}")


if __name__ == "__main__":
    main()
