"""Benchmark: `outfitter status` against `kubectl get -A -o json` of the same kinds.

Starts the test control plane (tools/build.sh must have run), installs the upstream CRDs,
seeds N objects (default 10,000) across the kinds status reads, then times status and the
kubectl baseline in the same run and prints wall times, request counts and the ratio.
Target: status no slower than the kubectl baseline (ratio <= 1.0).

    .venv/bin/python bench/status_bench.py [--objects 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tests" / "integration"))

from outfitter import yamlio  # noqa: E402
from outfitter.cluster.connect import open_reader  # noqa: E402
from outfitter.config import parse_profile  # noqa: E402
from outfitter.status.engine import run_status  # noqa: E402
from outfitter.testcluster import ControlPlane  # noqa: E402

NAMESPACES = [f"bench-{i:02d}" for i in range(20)]


def seed_objects(n: int) -> list[dict[str, Any]]:
    """n objects of kinds status lists (no Pods: KWOK would run them all)."""
    makers = [
        lambda i, ns: {"apiVersion": "aquasecurity.github.io/v1alpha1",
                       "kind": "VulnerabilityReport",
                       "metadata": {"name": f"vr-{i}", "namespace": ns},
                       "report": {"summary": {"criticalCount": i % 3, "highCount": 1,
                                              "mediumCount": 0, "lowCount": 0,
                                              "unknownCount": 0, "noneCount": 0},
                                  "artifact": {"repository": "nginx", "tag": "1.27"},
                                  "registry": {"server": "index.docker.io"},
                                  "scanner": {"name": "Trivy", "vendor": "Aqua Security",
                                              "version": "0.60.0"},
                                  "os": {"family": "debian", "name": "12.8"},
                                  "updateTimestamp": "2026-11-26T00:00:00Z",
                                  "vulnerabilities": []}},
        lambda i, ns: {"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
                       "metadata": {"name": f"cert-{i}", "namespace": ns},
                       "spec": {"secretName": f"cert-{i}", "dnsNames": [f"h{i}.example.com"],
                                "issuerRef": {"name": "letsencrypt-production",
                                              "kind": "ClusterIssuer"}}},
        lambda i, ns: {"apiVersion": "wgpolicyk8s.io/v1alpha2", "kind": "PolicyReport",
                       "metadata": {"name": f"pr-{i}", "namespace": ns},
                       "results": [{"policy": "require-labels", "result": "fail",
                                    "source": "KyvernoValidatingPolicy"}]},
        lambda i, ns: {"apiVersion": "traefik.io/v1alpha1", "kind": "IngressRoute",
                       "metadata": {"name": f"route-{i}", "namespace": ns},
                       "spec": {"routes": [{"kind": "Rule", "match": f"Host(`h{i}.example.com`)",
                                            "services": [{"name": "s", "port": 80}]}],
                                "tls": {"certResolver": "letsencrypt"}}},
        lambda i, ns: {"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": f"cm-{i}", "namespace": "velero" if i % 2 else ns},
                       "data": {"k": str(i)}},
    ]
    return [makers[i % len(makers)](i, NAMESPACES[i % len(NAMESPACES)]) for i in range(n)]


def kubectl(cp: ControlPlane, *args: str, stdin: str | None = None,
            check: bool = True) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("kubectl") or "kubectl"
    result = subprocess.run([exe, "--kubeconfig", str(cp.kubeconfig), *args], input=stdin,
                            text=True, capture_output=True, check=False)
    if check and result.returncode:
        raise SystemExit(f"kubectl {' '.join(args[:3])}: {result.stderr[-2000:]}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from conftest import install_upstream_crds

    profile = parse_profile({})
    with ControlPlane(nodes=3) as cp:
        with cp.client() as client:
            install_upstream_crds(client)
        kubectl(cp, "apply", "--server-side", "-f", "-", stdin=yamlio.dump_all(
            [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}}
             for n in [*NAMESPACES, "velero", "monitoring", "observability", "security",
                       "flux-system"]]))
        began = time.monotonic()
        objects = seed_objects(args.objects)
        batches = [objects[i:i + 500] for i in range(0, len(objects), 500)]
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda batch: kubectl(
                cp, "apply", "--server-side", "--field-manager=bench", "-f", "-",
                stdin=yamlio.dump_all(batch)), batches))
        print(f"seeded {len(objects)} objects in {time.monotonic() - began:.1f}s")

        status_times, kubectl_times = [], []
        status_requests = kubectl_requests = 0
        kinds: list[str] = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            with open_reader(cp.kubeconfig) as reader:
                run_status(profile, reader)
                status_requests = reader.requests
                # kubectl stops at a kind the server does not serve: give it the served ones.
                kinds = sorted({str(lst.kind) for lst in reader.listings() if lst.state == "ok"})
            status_times.append(time.perf_counter() - t0)

            t0 = time.perf_counter()
            result = kubectl(cp, "get", ",".join(kinds), "-A", "-o", "json", "-v=6",
                             check=False)
            kubectl_times.append(time.perf_counter() - t0)
            if result.returncode:
                raise SystemExit(f"kubectl get failed: {result.stderr[-1000:]}")
            listed = len(yamlio.load(result.stdout)["items"])
            kubectl_requests = len(re.findall(r'verb="GET"|\bGET https?://', result.stderr))
        s, k = min(status_times), min(kubectl_times)
        print(f"kinds read: {len(kinds)}; kubectl listed {listed} objects")
        print(f"outfitter status : {s:6.2f}s  {status_requests} requests")
        print(f"kubectl get -A   : {k:6.2f}s  {kubectl_requests} requests (incl. discovery)")
        print(f"ratio status/kubectl: {s / k:.2f} (target <= 1.00)")


if __name__ == "__main__":
    main()
