/**
 * The compile cache's key: a digest of everything a bundle is made from, read without parsing
 * the script or loading the compiler (a hit must cost less than the compile it saves).
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { accessSync, constants, existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canonicalJson, CompileCacheEntry } from '@tapfleet/schemas';
import { kernelBuildId } from '@tapfleet/runner';
import { bpfHeadersDigest, COMPILER_VERSION } from '@tapfleet/compiler/light';

/** Bump when the entry layout or what the key covers changes. */
export const CACHE_FORMAT = CompileCacheEntry.shape.format.value;

export interface CacheKeyInputs {
  file: string;
  text: string;
  tapsetsDir: string;
  /** `--binary NAME=PATH`: which binaries `$NAME` probe points resolve to. */
  binaryPaths: Record<string, string>;
  /** The clang binary (config `compiler.clang`); default `clang` from PATH. */
  clang?: string;
  /** Positional parameters (`$1`.., `$#`): compiled in as constants. */
  params?: readonly string[];
}

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

/** A tool as PATH resolves it, identified by its real path, size and mtime (as ccache does): an upgrade changes the key. */
function toolIdentity(name: string): string {
  const candidates = name.includes('/') ? [name] : (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, name));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      const real = realpathSync(c);
      const st = statSync(real);
      return `${name}=${real}:${st.size}:${st.mtimeMs}`;
    } catch {
      // not here: the next PATH entry
    }
  }
  return `${name}=missing`;
}

/** Every .js file under a package's dist by size and mtime: a rebuilt compiler is a new compiler, version bump or not. */
function codeIdentity(dir: string): string {
  const lines: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.js') && !e.name.endsWith('.test.js')) {
        const st = statSync(p);
        lines.push(`${p}:${st.size}:${st.mtimeMs}`);
      }
    }
  };
  walk(dir);
  return sha256(lines.sort().join('\n'));
}

/** The packages whose code decides a bundle's bytes: the compiler, this package's host discovery, the runner's profile readers, the schemas' bundle format. */
function codeDirs(): string[] {
  const localDist = dirname(dirname(fileURLToPath(import.meta.url)));
  // Resolved, not imported: loading the compiler here would cost a cache hit what it saves.
  // From this file's URL (which the CLI bundle keeps: scripts/bundle-cli.mjs), as import would.
  const resolveHere = createRequire(import.meta.url).resolve;
  const pkgDist = (name: string) => dirname(resolveHere(name));
  return [pkgDist('@tapfleet/compiler'), localDist, pkgDist('@tapfleet/runner'), pkgDist('@tapfleet/schemas')];
}

/**
 * The compiler part of the key over the packages' compiled files (codeDirs, codeIdentity): what
 * `tapfleet run` computes when it runs the packages themselves, and what the CLI bundle's build
 * computed from the same files (scripts/bundle-cli.mjs).
 */
export const packagesCodeIdentity = (): string => codeDirs().map(codeIdentity).join(' ');

/**
 * In the CLI bundle, packagesCodeIdentity() as the build computed it from the files it bundled
 * (the define in scripts/bundle-cli.mjs); undefined when the packages run. The bundle runs the code
 * those files held when it was built, so this names that code exactly, and equals what the packages
 * compute until a file changes (bin/tapfleet.js runs the packages once tsc rewrites one). It spares
 * a cached run the walk and stat of every compiled file of four packages, and their resolution.
 */
const BUNDLED_CODE_IDENTITY = (globalThis as { TAPFLEET_BUNDLED_CODE_IDENTITY?: string }).TAPFLEET_BUNDLED_CODE_IDENTITY;

/** Every tapset file by name and content: an edited tapset is a new key (the script may use it, and finding out needs the parser). */
function tapsetsIdentity(dir: string): string {
  if (!existsSync(dir)) return 'none';
  const files = readdirSync(dir).filter((f) => f.endsWith('.tap')).sort();
  return sha256(files.map((f) => `${f}\n${sha256(readFileSync(join(dir, f)))}`).join('\n'));
}

/**
 * The key and what it was made of (logged on a miss, to say why). The kernel is its build-id:
 * the tracepoint formats and BTF the compile reads are fixed by the build. Binaries are not in
 * the key (which ones a script probes is known only after parsing it): an entry records each
 * one's build-id, checked when it is read (bundle-cache.ts).
 */
export function compileCacheKey(i: CacheKeyInputs): { key: string; parts: Record<string, string> } {
  const parts: Record<string, string> = {
    format: CACHE_FORMAT,
    compiler: `${COMPILER_VERSION} ${BUNDLED_CODE_IDENTITY ?? packagesCodeIdentity()}`,
    // The generated C includes these: an edited header builds a different object.
    bpfHeaders: bpfHeadersDigest(),
    kernel: `${kernelBuildId()} ${readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()}`,
    script: `${resolve(i.file)} ${sha256(i.text)}`,
    tapsets: tapsetsIdentity(i.tapsetsDir),
    binaryPaths: canonicalJson(i.binaryPaths),
    // Compiled in as constants: `run s.tap 1234` and `run s.tap 5678` are two bundles.
    params: JSON.stringify(i.params ?? []),
    tools: `${toolIdentity(i.clang ?? 'clang')} ${toolIdentity('llvm-strip')}`,
  };
  return { key: sha256(canonicalJson(parts)), parts };
}
