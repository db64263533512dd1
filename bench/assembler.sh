#!/usr/bin/env bash
# Assembler benchmark: the engine's events/s on one core (1M events of 200k transactions)
# against decoding alone, and memory per open transaction. No servers needed.
# Writes bench/results/assembler.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
node --expose-gc test/dist/bench/assembler-bench.js "$@"
