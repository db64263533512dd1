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
}

/**
 * This host's bundle for a script: from the cache when an entry for the same inputs passes its
 * checks, else compiled (and stored). The compiler's front end and clang driver are loaded only
 * on a miss, so a hit costs the key's digest and one file read. Throws what compileBundle throws.
 */
export async function cachedCompile(o: CachedCompileOptions): Promise<{ bundle: Bundle; cached: boolean }> {
  const key = o.cache ? compileCacheKey({ file: o.file, text: o.text, tapsetsDir: TAPSETS_DIR, binaryPaths: o.binaryPaths, ...(o.build.clang ? { clang: o.build.clang } : {}) }).key : undefined;
  const hit = key ? o.cache!.get(key, o.signingKey.publicKeyPem) : undefined;
  if (hit) return { bundle: hit, cached: true };
  const [{ compileForThisHost }, { loadTapsets }] = await Promise.all([import('../host-compile.js'), import('@tapfleet/compiler')]);
  const bundle = await compileForThisHost(o.file, o.text, { tapsets: loadTapsets().aliases, binaryPaths: o.binaryPaths, signingKey: o.signingKey.privateKey, build: o.build });
  if (key) o.cache!.put(key, bundle);
  return { bundle, cached: false };
}
