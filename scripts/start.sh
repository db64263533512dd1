#!/usr/bin/env bash
# The main job (`npm start`): set everything up, then run `tapfleet demo` in the foreground: the
# local stack (NATS, ClickHouse, Redis, Jaeger), tapfleet (control plane, ingest, assembler, query
# service, this host's agent), and the demo trading pipeline as three traced hosts, each with its
# own agent. It prints the web page's URL and runs until Ctrl-C, then stops everything it started.
# Arguments go to `tapfleet demo` (e.g. `npm start -- --rate 1000`).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "npm start needs root: it installs Debian packages, and its agents load eBPF programs and attach uprobes" >&2
  echo "(CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN). Run it as root, e.g. sudo npm start" >&2
  exit 1
fi
bash scripts/setup.sh
exec node bin/tapfleet.js demo "$@"
