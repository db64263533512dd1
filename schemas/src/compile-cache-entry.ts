import { z } from 'zod/v3';
import { BuildId, Sha256Hex } from './common.js';

/**
 * One entry of `tapfleet run`'s local compile cache (<dataDir>/compile-cache/KEY.json): a signed
 * bundle as serializeBundle writes it, under the key it was compiled for, with the identity of
 * every binary it was compiled against, so a rebuilt binary makes the entry stale.
 */
export const CompileCacheEntry = z.object({
  format: z.literal('tapfleet-compile-cache/1'),
  key: Sha256Hex,
  binaries: z.array(z.object({
    path: z.string().startsWith('/'),
    buildId: BuildId,
    /** stat() of the file when the entry was written: unchanged means the build-id need not be re-read. */
    size: z.number().int().safe().nonnegative(),
    mtimeMs: z.number().finite().nonnegative(),
    ino: z.number().int().safe().nonnegative(),
  })),
  bundle: z.string(),
  /** The compile's warnings as printed (e.g. a positional parameter not given): a hit prints them again. */
  warnings: z.array(z.string().max(8192)).max(100).default([]),
});
export type CompileCacheEntry = z.infer<typeof CompileCacheEntry>;
