"""Benchmark: `outfitter --help` against a bare start of the same interpreter, in one run.

Both are started as fresh processes, alternately, `--repeat` times each; the medians are
compared. The CLI imports a command's modules only when that command runs, so `--help`
costs Typer and the command table, not Rich, pydantic, the add-ons or a cluster client.
Goal: ratio <= 10 (it was 48 before the lazy command table).

    .venv/bin/python bench/cli_import_bench.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

HELP = ["-c", "import sys; from outfitter.cli import main; sys.exit(main(['--help']))"]
BARE = ["-c", "pass"]
PLAN_IMPORTS = ["-c", "import sys, outfitter.cli.core; "
                      "sys.exit(any(m.split('.')[0] in ('lightkube', 'httpx', 'httpx2') "
                      "for m in sys.modules))"]


def timed(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    timed(HELP)  # warm the file cache and the .pyc files
    bare, cli = [], []
    for _ in range(args.repeat):
        bare.append(timed(BARE))
        cli.append(timed(HELP))
    b, c = statistics.median(bare), statistics.median(cli)
    print(f"bare interpreter start: {b * 1000:.0f} ms (median of {args.repeat})")
    print(f"outfitter --help:       {c * 1000:.0f} ms (median of {args.repeat})")
    print(f"ratio: {c / b:.1f}x (goal <= 10x)")
    clean = subprocess.run([sys.executable, *PLAN_IMPORTS]).returncode == 0
    print(f"plan/render/init import a cluster client: {'no' if clean else 'YES'}")


if __name__ == "__main__":
    main()
