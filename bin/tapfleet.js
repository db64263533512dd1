#!/usr/bin/env node
// The one `tapfleet` entry point; everything it does lives in the workspaces (services/cli composes them).
import { readFileSync, statSync } from 'node:fs';

const ROOT = new URL('../', import.meta.url);
const BUNDLE = new URL('services/cli/bundle/', ROOT);

/**
 * The CLI bundled into a few files (scripts/bundle-cli.mjs, `npm run build`) starts faster than
 * the ~120 modules it is made of. It runs only when the build stamp's files (each package's
 * tsconfig.tsbuildinfo, node_modules' lock) still have the mtimes they had when it was built:
 * after a `tsc -b` that rebuilt any package, or an npm install, the packages themselves run.
 * A dozen stats, well under a millisecond. TAPFLEET_NO_BUNDLE=1 runs the packages regardless.
 * Returns the current build's entry URL, or undefined to run the packages.
 */
function freshBundle() {
  if (process.env.TAPFLEET_NO_BUNDLE === '1') return undefined;
  try {
    const { build, inputs } = JSON.parse(readFileSync(new URL('stamp.json', BUNDLE), 'utf8'));
    // A build's own name (no path out of the bundle directory), and a stamp that watches something.
    if (typeof build !== 'string' || !/^build-[a-z0-9-]+$/.test(build)) return undefined;
    if (inputs === null || typeof inputs !== 'object' || Array.isArray(inputs)) return undefined;
    const watched = Object.entries(inputs);
    if (!watched.length) return undefined;
    const fresh = watched.every(([file, mtimeMs]) => statSync(new URL(file, ROOT)).mtimeMs === mtimeMs);
    const entry = new URL(`${build}/tapfleet.mjs`, BUNDLE);
    // A build directory removed by hand while the stamp still names it: the packages, not a failed import.
    return fresh && statSync(entry).isFile() ? entry.href : undefined;
  } catch {
    return undefined; // no bundle (a fresh clone before `npm run build`, the Docker images), or a watched file gone
  }
}

const bundle = freshBundle();
/** @type {{ main: (argv: string[]) => Promise<number> }} */
const cli = bundle ? await import(bundle) : await import('@tapfleet/cli');
const code = await cli.main(process.argv.slice(2));
// A command that failed (a service whose start threw, say) must not linger because a client it
// opened still holds the event loop (a NATS connection reconnecting forever kept a failed
// assembler alive and "starting" for minutes). Success ends when its work is done, as before.
if (code !== 0) process.exit(code);
process.exitCode = code;
