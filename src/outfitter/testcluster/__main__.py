"""``python -m outfitter.testcluster up [--nodes N]`` runs a test control plane until Ctrl-C;
``python -m outfitter.testcluster check`` tells which binaries are missing."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from outfitter.testcluster.controlplane import (
    CONTROL_PLANE_TOOLS,
    ControlPlane,
    ControlPlaneError,
    missing_tools,
)
from outfitter.tools_dir import tools_base_dir

# tools/build.sh relative to a source checkout (src/outfitter/testcluster/__main__.py).
_BUILD_SCRIPT = Path(__file__).resolve().parents[3] / "tools" / "build.sh"


def _build_hint() -> str:
    script = _BUILD_SCRIPT if _BUILD_SCRIPT.is_file() else Path("tools/build.sh")
    return f"build them with: {script}  (OUTFITTER_TOOLS_DIR overrides {tools_base_dir()})"


def _check() -> int:
    missing = missing_tools()
    if not missing:
        print(f"all control-plane tools present in {tools_base_dir()}: "
              f"{', '.join(CONTROL_PLANE_TOOLS)}")
        return 0
    print(f"missing in {tools_base_dir()}: {', '.join(missing)}")
    print(_build_hint())
    return 1


def _up(nodes: int, workdir: str | None, keep: bool) -> int:
    missing = missing_tools()
    if missing:
        print(f"missing: {', '.join(missing)}", file=sys.stderr)
        print(_build_hint(), file=sys.stderr)
        return 1

    # SIGTERM (e.g. `kill`) should shut down as cleanly as Ctrl-C does.
    def _on_term(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _on_term)
    cp = ControlPlane(nodes=nodes, workdir=workdir, keep=keep or None)
    try:
        print(f"starting control plane with {nodes} node(s) ...", flush=True)
        try:
            cp.start()
        except ControlPlaneError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"ready in {cp.startup_seconds:.1f}s: {cp.server}")
        print(f"kubeconfig: {cp.kubeconfig}")
        print(f"logs:       {cp.workdir}/*.log")
        print(f"export KUBECONFIG={cp.kubeconfig}")
        print("Ctrl-C to stop.", flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
    finally:
        cp.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m outfitter.testcluster",
                                     description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start a control plane and wait for Ctrl-C")
    up.add_argument("--nodes", type=int, default=3, help="fake KWOK nodes (default 3)")
    up.add_argument("--workdir", help="use this folder (kept afterwards) instead of a temp one")
    up.add_argument("--keep", action="store_true", help="keep the workdir after stopping")
    sub.add_parser("check", help="list missing binaries and how to build them")
    args = parser.parse_args(argv)
    if args.command == "check":
        return _check()
    return _up(args.nodes, args.workdir, args.keep)


if __name__ == "__main__":
    sys.exit(main())
