#!/usr/bin/env bash
# The demo pipeline's overhead from being traced: orders/s and round-trip p50/p99 (the client's
# own figures) untraced vs traced by three agents, rounds alternating. Starts its own stack on
# ports 29400-29600 and stops it. Needs root (the kernel). Writes bench/results/demo-overhead.{md,json}.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
node test/dist/bench/demo-overhead.js "$@"
