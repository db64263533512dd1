#!/usr/bin/env bash
# Fleet benchmark: deploy -> running (3 real agents, N simulated), agent publish
# throughput against raw JetStream, agent footprint. Starts its own NATS + Redis on
# ports 26001/26005 and stops them. Writes bench/results/fleet.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
node test/dist/bench/fleet-bench.js "$@"
