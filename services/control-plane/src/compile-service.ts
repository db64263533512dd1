import type { KeyObject } from 'node:crypto';
import type { ObjectStore } from '@nats-io/obj';
import type { Redis } from 'ioredis';
import { BuildTimeoutError, compileBundleInWorker, CompileError, COMPILER_VERSION, type BuildOptions } from '@tapfleet/compiler';
import {
  BinaryProfile, binaryProfileObject, canonicalJson, KernelProfile, kernelProfileObject, parseOrThrow, SchemaError, serializeBundle, sha256Hex,
} from '@tapfleet/schemas';
import type { BuildGroup } from './build-groups.js';
import type { CompileQueue } from './compile-queue.js';

export interface CompileOutcome {
  bundleId: string;
  cached: boolean;
  ms: number;
}

const cacheKey = (k: string) => `tf:compile:${k}`;

/**
 * Compiles a script for one build group, from the profiles that group's agents stored,
 * never from this host. A cache keyed by (script and tapsets digest, profile digests,
 * compiler version) answers repeated deployments without running clang; a cached
 * bundle id counts only if the bundle is still in the object store.
 */
export interface CompileServiceOptions {
  /** Every build (not a cache hit) waits here for a slot. */
  queue: CompileQueue;
  /** clang binary and its time allowance (config `compiler`). */
  build: BuildOptions;
  /** Called when clang ran out of time (a metric). */
  onTimeout?: () => void;
}

export class CompileService {
  private readonly kernelProfiles = new Map<string, KernelProfile>();

  constructor(
    private readonly redis: Redis,
    private readonly bundles: ObjectStore,
    private readonly profiles: ObjectStore,
    private readonly signingKey: KeyObject,
    private readonly tapsetsDir: string,
    private readonly tapsetsDigest: string,
    private readonly o: CompileServiceOptions,
  ) {}

  /** A stored profile, checked against the digest the host's hello named (the store is content-addressed). */
  private async profileJson(name: string, digest: string): Promise<unknown> {
    const bytes = await this.profiles.getBlob(name);
    if (!bytes) throw new SchemaError(`profile ${name}`, [{ path: '', message: "not in the profiles store (the host's agent sends it at start)" }]);
    const text = new TextDecoder().decode(bytes);
    if (sha256Hex(text) !== digest) {
      // Only the control plane (or an admin) writes this store; whatever changed it, drop it so the host's agent sends it again.
      await this.profiles.delete(name).catch(() => undefined);
      throw new SchemaError(`profile ${name}`, [{ path: '', message: `does not match its digest ${digest} (removed; the host's agent sends it again at its next start)` }]);
    }
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new SchemaError(`profile ${name}`, [{ path: '', message: `not JSON: ${(e as Error).message}` }]);
    }
  }

  private async kernelProfile(buildId: string, digest: string): Promise<KernelProfile> {
    let p = this.kernelProfiles.get(digest);
    if (!p) {
      p = parseOrThrow(KernelProfile, await this.profileJson(kernelProfileObject(buildId, digest), digest), `kernel profile ${buildId}`);
      if (this.kernelProfiles.size > 32) this.kernelProfiles.clear();
      this.kernelProfiles.set(digest, p);
    }
    return p;
  }

  async compile(file: string, script: string, group: BuildGroup, params: readonly string[] = []): Promise<CompileOutcome> {
    const started = performance.now();
    const key = sha256Hex(canonicalJson({
      script: sha256Hex(script),
      // Compiled in as constants; absent when none, so the keys of scripts without parameters are unchanged.
      ...(params.length ? { params } : {}),
      tapsets: this.tapsetsDigest,
      kernel: group.kernel.profileDigest,
      binaries: group.binaries.map((b) => [b.path, b.profileDigest]),
      paths: group.binaryPaths,
      compiler: COMPILER_VERSION,
    }));
    const hit = await this.redis.get(cacheKey(key));
    if (hit && (await this.bundles.info(hit))) return { bundleId: hit, cached: true, ms: performance.now() - started };
    const bundleId = await this.o.queue.run(() => this.build(file, script, group, params));
    await this.redis.set(cacheKey(key), bundleId);
    return { bundleId, cached: false, ms: performance.now() - started };
  }

  /** One build in a queue slot: profiles from the store, front end, clang, the bundle stored. */
  private async build(file: string, script: string, group: BuildGroup, params: readonly string[]): Promise<string> {
    const kernel = await this.kernelProfile(group.kernel.buildId, group.kernel.profileDigest);
    const binaries: BinaryProfile[] = [];
    for (const b of group.binaries) {
      const profile = parseOrThrow(BinaryProfile, await this.profileJson(binaryProfileObject(b.buildId, b.profileDigest), b.profileDigest), `binary profile ${b.path}`);
      binaries.push({ ...profile, path: b.path }); // stored once per build; this group's path is what it probes
    }
    let bundle;
    try {
      // In a worker thread: the front end is synchronous and takes up to ~1 s on the largest scripts.
      bundle = await compileBundleInWorker(file, script, { tapsetsDir: this.tapsetsDir, binaryPaths: group.binaryPaths, signingKey: this.signingKey, profiles: { kernel, binaries }, build: this.o.build, params });
    } catch (e) {
      if (e instanceof CompileError && e.cause instanceof BuildTimeoutError) this.o.onTimeout?.();
      throw e;
    }
    const bundleId = bundle.manifest.bundleId;
    if (!(await this.bundles.info(bundleId))) await this.bundles.putBlob({ name: bundleId }, new TextEncoder().encode(serializeBundle(bundle)));
    return bundleId;
  }
}
