#!/usr/bin/env bash
# Idempotent set-up shared by `npm start` and `npm test`: npm packages, TypeScript
# build and the CLI's bundle, then `tapfleet setup` (Debian packages, tracefs, native parts). Quiet when
# nothing is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f node_modules/.tapfleet-lock ] || [ "$(cat node_modules/.tapfleet-lock)" != "$lock_sum" ]; then
  echo "setup: installing npm packages (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > node_modules/.tapfleet-lock
fi

echo "setup: building TypeScript" >&2
npx tsc -b tsconfig.json
# The CLI bundled for start-up; bin/tapfleet.js runs it only while it matches the build above.
node scripts/bundle-cli.mjs

node bin/tapfleet.js setup
