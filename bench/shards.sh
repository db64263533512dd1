#!/usr/bin/env bash
# ClickHouse shards benchmark: `tapfleet ingest` into one node, into two shards direct and through
# the Distributed table, each vs clickhouse-client with the same rows into the same tables, same run.
# Starts its own NATS, two ClickHouse shards and Redis on ports 48441-48458 and stops them.
# Writes bench/results/shards.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
node test/dist/bench/shards-bench.js "$@"
