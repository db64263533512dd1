#!/usr/bin/env bash
# Start-up as a user waits for it: command start -> first event, `tapfleet run` (bundle in the
# compile cache, and cold: empty cache) vs `bpftrace -e` on the same scripts (a tracepoint, a
# USDT probe, a uprobe) and the same running workload, runs interleaved; and `tapfleet --help` vs
# `node -e 0`. Needs root (the kernel). Writes bench/results/start.md and start.json.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
command -v bpftrace >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bpftrace >/dev/null
node test/dist/bench/start-bench.js "$@"
