/**
 * The CLI's bundle (scripts/bundle-cli.mjs) as tests see it: whether bin/tapfleet.js will run it,
 * and which compiled modules each of its files holds, so a module trace of a bundled process
 * reads as the modules it loaded.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod/v3';
import { PROJECT_ROOT } from '@tapfleet/runtime';

export const BUNDLE_DIR = join(PROJECT_ROOT, 'services', 'cli', 'bundle');
export const STAMP_FILE = join(BUNDLE_DIR, 'stamp.json');

const Stamp = z.object({ build: z.string(), inputs: z.record(z.number()) });
/** esbuild's metafile, the part read here: each output file's inputs (paths relative to the repository). */
const Meta = z.object({ outputs: z.record(z.object({ inputs: z.record(z.unknown()) })) });

export function readStamp(): z.infer<typeof Stamp> {
  return Stamp.parse(JSON.parse(readFileSync(STAMP_FILE, 'utf8')));
}

/** The rule bin/tapfleet.js applies: every file the stamp names still has the mtime it recorded. */
export function bundleCurrent(): boolean {
  if (!existsSync(STAMP_FILE)) return false;
  return Object.entries(readStamp().inputs).every(([f, mtimeMs]) => existsSync(join(PROJECT_ROOT, f)) && statSync(join(PROJECT_ROOT, f)).mtimeMs === mtimeMs);
}

/** Absolute path of each bundle file -> the absolute paths of the modules it holds. */
export function bundleContents(): Map<string, string[]> {
  const meta = Meta.parse(JSON.parse(readFileSync(join(BUNDLE_DIR, readStamp().build, 'meta.json'), 'utf8')));
  return new Map(Object.entries(meta.outputs).map(([out, o]) => [join(PROJECT_ROOT, out), Object.keys(o.inputs).map((i) => join(PROJECT_ROOT, i))]));
}

export const isBundleFile = (path: string): boolean => path.startsWith(`${BUNDLE_DIR}/`);

/** A trace's modules with each bundle file replaced by the modules it holds. */
export function unbundled(modules: string[], contents: Map<string, string[]>): string[] {
  return [...new Set(modules.flatMap((m) => (isBundleFile(m) ? contents.get(m) ?? [m] : [m])))];
}
