/**
 * tapfleet on one host, above the compiler and the runner: `tapfleet run` (compile for this host,
 * load through the runner, print), `profile`, `check` and `compile` against this machine, the
 * local compile cache, and the output of a run.
 */
export { localCommands as commands } from './commands/index.js';
export * from './host-compile.js';
export * from './run-session.js';
export { BundleCache, compileCacheDir, DEFAULT_CACHE_MAX_BYTES, type CacheStats } from './compile-cache/bundle-cache.js';
export { compileCacheKey, packagesCodeIdentity } from './compile-cache/cache-key.js';
export { lostStackSamples } from './output/stack-loss.js';
