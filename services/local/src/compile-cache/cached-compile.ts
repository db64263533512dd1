import type { KeyObject } from 'node:crypto';
import type { Bundle } from '@tapfleet/schemas';
import { TAPSETS_DIR, type BuildOptions } from '@tapfleet/compiler/light';
import type { BundleCache } from './bundle-cache.js';
import { compileCacheKey } from './cache-key.js';

export interface CachedCompileOptions {
  file: string;
  text: string;
  binaryPaths: Record<string, string>;
  build: BuildOptions;
  signingKey: { privateKey: KeyObject; publicKeyPem: string };
  /** Absent: compile every time (`tapfleet run --no-cache`). */
  cache?: BundleCache;
  /** Positional parameters (`$1`.., `$#`): compile-time constants, so part of the key. */
  params?: readonly string[];
}

/**
 * This host's bundle for a script: from the cache when an entry for the same inputs passes its
 * checks, else compiled (and stored). The compiler's front end and clang driver are loaded only
 * on a miss, so a hit costs the key's digest and one file read. Throws what compileBundle throws.
 */
export async function cachedCompile(o: CachedCompileOptions): Promise<{ bundle: Bundle; cached: boolean; warnings: string[] }> {
  const params = o.params ?? [];
  const key = o.cache ? compileCacheKey({ file: o.file, text: o.text, tapsetsDir: TAPSETS_DIR, binaryPaths: o.binaryPaths, params, ...(o.build.clang ? { clang: o.build.clang } : {}) }).key : undefined;
  const hit = key ? o.cache!.entry(key, o.signingKey.publicKeyPem) : undefined;
  if (hit) return { ...hit, cached: true };
  const [{ compileForThisHost }, { loadTapsets, formatDiagnostic }] = await Promise.all([import('../host-compile.js'), import('@tapfleet/compiler')]);
  let warnings: string[] = [];
  const bundle = await compileForThisHost(o.file, o.text, {
    tapsets: loadTapsets().aliases, binaryPaths: o.binaryPaths, signingKey: o.signingKey.privateKey, build: o.build, params,
    onWarnings: (ds) => (warnings = ds.map(formatDiagnostic)),
  });
  if (key) o.cache!.put(key, bundle, warnings);
  return { bundle, cached: false, warnings };
}
