#!/usr/bin/env bash
# `npm run bench [-- --quick] [-- --only a,b [--keep-others]]`: every benchmark, one at a time, then BENCHMARKS.md
# at the repository root (each figure, its baseline from the same run, the ratio, the goal,
# machine and versions, links to bench/results/). Full run: about 30-45 min on 2 vCPU, each bench
# bounded by a timeout (145 min in all at most); --quick: 6-10 min. Needs root (the kernel).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The probe-cost baseline; not needed by tapfleet itself, so only the bench installs it.
command -v bpftrace >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bpftrace >/dev/null

# The benches' stacks bind fixed loopback ports (26000-40299): reserved as scripts/test.sh does, restored after.
source scripts/port-band.sh
reserve_port_band
trap release_port_band EXIT
node test/dist/bench/run-all.js "$@"
