#!/usr/bin/env bash
# The main job: set everything up, then start the local stack (and, as later
# issues land, the tapfleet services and the demo). Leaves it running; stop with
# `node bin/tapfleet.js stack down`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node bin/tapfleet.js stack up
node bin/tapfleet.js stack status
