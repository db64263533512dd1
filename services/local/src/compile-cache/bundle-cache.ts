/**
 * `tapfleet run`'s local compile cache: KEY.json files under one directory, each a signed bundle.
 * Written atomically (a temporary file renamed into place), bounded in bytes (least recently used
 * first out: a hit touches its file's mtime), and checked on every read: the entry schema, the
 * bundle's digests and signature against this host's key, and its binaries' build-ids. An entry
 * that fails is a miss: counted, logged, deleted, and replaced by the compile that follows.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CompileCacheEntry, parseBundle, parseOrThrow, serializeBundle, verifyBundle, type Bundle } from '@tapfleet/schemas';
import { readBinaryProfile } from '@tapfleet/runner';
import { CACHE_FORMAT } from './cache-key.js';

/** Where `tapfleet run` keeps compiled bundles: per data dir, like the signing key that signs them. */
export const compileCacheDir = (dataDir: string) => join(dataDir, 'compile-cache');

/** Bundles are tens of KB; 64 MB keeps a few thousand. */
export const DEFAULT_CACHE_MAX_BYTES = 64 << 20;
/** A temporary file older than this was left by a process that died mid-write. */
const STALE_TEMP_MS = 10 * 60_000;

export interface CacheStats {
  hits: number;
  misses: number;
  /** Entries that failed a check (unreadable, wrong schema or key, digest or signature): deleted. */
  rejected: number;
  /** Entries whose binaries were rebuilt since: deleted. */
  stale: number;
  stored: number;
  /** Stores that failed (disk full, directory not writable): the run went on without caching. */
  storeFailures: number;
  evicted: number;
}

/** Where the cache says what it dropped (the runtime's Logger fits). */
export interface CacheLog {
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface BundleCacheOptions {
  maxBytes?: number;
  log?: CacheLog;
}

export class BundleCache {
  readonly stats: CacheStats = { hits: 0, misses: 0, rejected: 0, stale: 0, stored: 0, storeFailures: 0, evicted: 0 };
  private readonly maxBytes: number;

  constructor(readonly dir: string, private readonly o: BundleCacheOptions = {}) {
    this.maxBytes = o.maxBytes ?? DEFAULT_CACHE_MAX_BYTES;
  }

  private path(key: string): string {
    return join(this.dir, `${key}.json`);
  }

  /** The cached bundle for `key`, verified with `publicKeyPem`; undefined on a miss of any kind. */
  get(key: string, publicKeyPem: string): Bundle | undefined {
    return this.entry(key, publicKeyPem)?.bundle;
  }

  /** The cached bundle for `key` and the compile's warnings (printed again on every hit, as on the compile). */
  entry(key: string, publicKeyPem: string): { bundle: Bundle; warnings: string[] } | undefined {
    const path = this.path(key);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      this.stats.misses++;
      return undefined;
    }
    let entry: CompileCacheEntry;
    let bundle: Bundle;
    try {
      entry = parseOrThrow(CompileCacheEntry, JSON.parse(text), `compile cache entry ${path}`);
      if (entry.key !== key) throw new Error(`entry ${path} holds key ${entry.key}`);
      bundle = parseBundle(entry.bundle);
      verifyBundle(bundle, publicKeyPem);
    } catch (e) {
      return this.drop(path, 'rejected', (e as Error).message);
    }
    const changed = entry.binaries.find((b) => !sameBinary(b));
    if (changed) return this.drop(path, 'stale', `${changed.path} changed since the bundle was compiled`);
    this.stats.hits++;
    // Sub-millisecond: the order of use must not tie with a write made in the same millisecond.
    const now = (performance.timeOrigin + performance.now()) / 1000;
    try {
      utimesSync(path, now, now);
    } catch {
      // evicted by another run meanwhile: the bundle in hand is still good
    }
    return { bundle, warnings: entry.warnings };
  }

  /**
   * Stores `bundle` under `key`, then evicts least recently used entries beyond the size bound.
   * A cache is an optimisation: a store that fails (disk full, the directory not writable) is
   * logged and leaves nothing behind, and the run goes on with the bundle it has.
   */
  put(key: string, bundle: Bundle, warnings: string[] = []): void {
    try {
      this.store(key, bundle, warnings);
    } catch (e) {
      this.stats.storeFailures++;
      this.o.log?.warn({ dir: this.dir, reason: (e as Error).message }, 'could not store the compiled bundle in the compile cache; running without it');
    }
  }

  private store(key: string, bundle: Bundle, warnings: string[]): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const entry: CompileCacheEntry = {
      format: CACHE_FORMAT, key,
      binaries: bundle.manifest.binaries.map((b) => {
        const st = statSync(b.path);
        return { path: b.path, buildId: b.buildId, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino };
      }),
      bundle: serializeBundle(bundle),
      warnings,
    };
    const path = this.path(key);
    const temp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    try {
      writeFileSync(temp, JSON.stringify(entry), { mode: 0o600 });
      renameSync(temp, path);
    } catch (e) {
      rmSync(temp, { force: true });
      throw e;
    }
    this.stats.stored++;
    this.evict(path);
  }

  private drop(path: string, why: 'rejected' | 'stale', reason: string): undefined {
    this.stats[why]++;
    this.stats.misses++;
    this.o.log?.warn({ entry: path, reason }, why === 'stale' ? 'compile cache entry is stale; recompiling' : 'compile cache entry failed its checks; recompiling');
    rmSync(path, { force: true });
    return undefined;
  }

  private evict(keep: string): void {
    const entries: { path: string; size: number; mtimeMs: number }[] = [];
    const now = Date.now();
    for (const name of readdirSync(this.dir)) {
      const path = join(this.dir, name);
      let st;
      try {
        st = statSync(path);
      } catch {
        continue; // removed by a concurrent run
      }
      if (name.includes('.tmp-')) {
        if (now - st.mtimeMs > STALE_TEMP_MS) rmSync(path, { force: true });
      } else if (name.endsWith('.json')) entries.push({ path, size: st.size, mtimeMs: st.mtimeMs });
    }
    let total = entries.reduce((n, e) => n + e.size, 0);
    for (const e of entries.sort((a, b) => a.mtimeMs - b.mtimeMs)) {
      if (total <= this.maxBytes) break;
      if (e.path === keep) continue;
      rmSync(e.path, { force: true });
      total -= e.size;
      this.stats.evicted++;
      this.o.log?.debug({ entry: e.path, bytes: e.size }, 'compile cache entry evicted (least recently used)');
    }
  }
}

/** Unchanged stat: the same file. Changed stat: the same binary only if its build-id still matches. */
function sameBinary(b: CompileCacheEntry['binaries'][number]): boolean {
  let st;
  try {
    st = statSync(b.path);
  } catch {
    return false;
  }
  if (st.size === b.size && st.mtimeMs === b.mtimeMs && st.ino === b.ino) return true;
  try {
    return readBinaryProfile(b.path).buildId === b.buildId;
  } catch {
    return false;
  }
}
