#!/usr/bin/env bash
# NATS cluster benchmark: publish throughput R1 vs R3 on a 3-node JetStream cluster, and
# recovery after kill -9 of a node under a steady stream into ClickHouse. Starts its own
# 3-node NATS cluster (ports 48330-48338), ClickHouse and Redis (48301-48305) and stops them.
# Writes bench/results/nats-cluster.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
node test/dist/bench/nats-cluster-bench.js "$@"
