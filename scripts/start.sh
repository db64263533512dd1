#!/usr/bin/env bash
# The main job: set everything up, then start the local stack (NATS, ClickHouse, Redis)
# and tapfleet itself (control plane, ingest, this machine's agent). Leaves it running;
# stop everything with `node bin/tapfleet.js stack down`. (The demo joins with its issue.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node bin/tapfleet.js stack up --with jaeger,product
node bin/tapfleet.js stack status
cat <<'TXT'

tapfleet is running. Try:
  node bin/tapfleet.js hosts
  node bin/tapfleet.js deploy docs/examples/syscalls-by-comm.tap --select stack=local --ttl 5m
  node bin/tapfleet.js aggs DEPLOYMENT ; node bin/tapfleet.js loss DEPLOYMENT
Stop with: node bin/tapfleet.js stack down
TXT
