#!/usr/bin/env bash
# End to end: probe hit -> trace visible in Jaeger and spans in ClickHouse (p50/p99), with the
# demo pipeline traced as three hosts. Starts its own stack on ports 29000-29200 and stops it.
# Writes bench/results/transactions.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
node test/dist/bench/transactions-bench.js "$@"
