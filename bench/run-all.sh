#!/usr/bin/env bash
# `npm run bench [-- --quick] [-- --only a,b]`: every benchmark, one at a time, then BENCHMARKS.md
# at the repository root (each figure, its baseline from the same run, the ratio, the goal,
# machine and versions, links to bench/results/). Full run: about 30-45 min on 2 vCPU, each bench
# bounded by a timeout (145 min in all at most); --quick: 6-10 min. Needs root (the kernel).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The probe-cost baseline; not needed by tapfleet itself, so only the bench installs it.
command -v bpftrace >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bpftrace >/dev/null

# The benches' stacks bind fixed loopback ports (26000-40299): keep the kernel from handing one
# out as an outgoing connection's source port meanwhile (as scripts/test.sh does), restored after.
reserved=/proc/sys/net/ipv4/ip_local_reserved_ports
old_reserved=""
if [ -w "$reserved" ]; then
  old_reserved=$(cat "$reserved")
  echo "${old_reserved:+$old_reserved,}14000-48999" > "$reserved"
fi
restore() {
  if [ -w "$reserved" ]; then echo "$old_reserved" > "$reserved"; fi
}
trap restore EXIT
node test/dist/bench/run-all.js "$@"
