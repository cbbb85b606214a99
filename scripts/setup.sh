#!/usr/bin/env bash
# Set up outfitter in .venv, build the test control plane tools (needs Go; skipped without),
# then run the main job on the built-in default profile: plan, and render into build/cluster.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -e '.[dev]'

if command -v go >/dev/null 2>&1; then
  tools/build.sh
else
  echo "setup: Go not found; the integration tests will skip (install Go, run tools/build.sh)"
fi

.venv/bin/outfitter plan
.venv/bin/outfitter render --out build/cluster
