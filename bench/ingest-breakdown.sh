#!/usr/bin/env bash
# Where an insert into probe_events spends ClickHouse's time: clickhouse-client into probe_events
# and into copies with one materialized view at a time (or none). Starts its own ClickHouse on
# ports 28100-28110 and stops it. Writes bench/results/ingest-breakdown.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
node test/dist/bench/ingest-breakdown.js "$@"
