#!/usr/bin/env bash
# Ingest benchmark: JetStream -> ClickHouse through `tapfleet ingest` vs clickhouse-client
# from a file, same rows, same run; publish-to-queryable latency. Starts its own NATS,
# ClickHouse and Redis on ports 28001-28005 and stops them. Writes bench/results/ingest.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
node test/dist/bench/ingest-bench.js "$@"
