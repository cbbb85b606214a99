#!/usr/bin/env bash
# Set up outfitter in .venv, build the test control plane tools (needs Go; skipped without),
# then run the main job on the built-in default profile: plan, and render into build/cluster.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -e '.[dev]'

# A real Prometheus for the `logs compare` tests (Debian's package; its service is never
# started, the tests run the binary on 127.0.0.1 themselves). Skipped where apt is not ours.
if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null
  else
    echo "setup: Prometheus not found; the logs compare tests will skip (apt-get install prometheus)"
  fi
fi

if command -v go >/dev/null 2>&1; then
  tools/build.sh
else
  echo "setup: Go not found; the integration tests will skip (install Go, run tools/build.sh)"
fi

.venv/bin/outfitter plan
.venv/bin/outfitter render --out build/cluster
