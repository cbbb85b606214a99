#!/usr/bin/env bash
# Lint, type-check and run every test (unit and integration against the real control plane).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check src tests bench
.venv/bin/mypy
.venv/bin/lint-imports
.venv/bin/pytest "$@"
