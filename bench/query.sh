#!/usr/bin/env bash
# Query benchmark: transaction lookup, one-hour hop percentiles, slowest-100 and the web page's
# time to first render at 10M and 50M stored events (bulk-inserted by ClickHouse). Starts its own
# NATS, ClickHouse and Redis on ports 40201-40205, ingest (migrations) and the query service,
# and stops them. Needs Debian's chromium. Writes bench/results/query.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
node test/dist/bench/query-bench.js "$@"
