#!/usr/bin/env bash
# Probe costs, start-up and stop time: tapfleet vs Debian's bpftrace, in one run, both tools
# printing the same events to the same sink (a file on tmpfs), rounds interleaved.
# Needs root (the kernel); writes bench/results/probe-costs.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
command -v bpftrace >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bpftrace >/dev/null
node test/dist/bench/probe-costs.js "$@"
