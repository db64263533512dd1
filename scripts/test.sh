#!/usr/bin/env bash
# The whole test suite on real services and the real kernel. It runs its own stack
# on separate ports and data dir (.tapfleet/test) so a developer's stack is untouched,
# and stops what it started on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

export TAPFLEET_DATA_DIR="$PWD/.tapfleet/test"
export TAPFLEET_NATS_URL=nats://127.0.0.1:14222 TAPFLEET_NATS_MONITOR_PORT=18222
export TAPFLEET_CLICKHOUSE_URL=http://127.0.0.1:18123 TAPFLEET_CLICKHOUSE_TCP_PORT=19000
export TAPFLEET_REDIS_URL=redis://127.0.0.1:16379
export TAPFLEET_JAEGER_OTLP_HTTP_PORT=14318 TAPFLEET_JAEGER_OTLP_GRPC_PORT=14317 TAPFLEET_JAEGER_QUERY_PORT=26686
export TAPFLEET_LOG_LEVEL="${TAPFLEET_LOG_LEVEL:-warn}"

# Test stacks bind fixed loopback ports: reserve their band from ephemeral use for the run.
source scripts/port-band.sh
reserve_port_band
restore() {
  node bin/tapfleet.js stack down >/dev/null
  release_port_band
}
trap restore EXIT
# Jaeger is the real OTLP receiver the span tests read back from.
node bin/tapfleet.js stack up --with jaeger

mapfile -t files < <(find schemas services agents test -path '*/node_modules' -prune -o -path '*/dist/*' -name '*.test.js' -print | sort)
node --test --test-reporter=spec --test-concurrency=1 "$@" "${files[@]}"
