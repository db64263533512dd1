import type { KeyObject } from 'node:crypto';
import { BundleManifest, bundleIdOf, bundleSignedText, parseOrThrow, sha256Hex, type BinaryProfile, type KernelProfile, type Bundle } from '@tapfleet/schemas';
import type { FrontEndResult } from '../compile.js';
import { LIMITS } from '../limits.js';
import { COMPILER_VERSION } from '../version.js';
import { signBytes } from './signing.js';

export type { Bundle } from '@tapfleet/schemas';

/**
 * Assembles the manifest from the front end's result and the built object, and signs it. The
 * manifest's events, maps, stacks and attach list are the lowered ones (passes/lower.ts), as
 * the generated C is: what the object does and what decoders read come from one description.
 */
export function makeBundle(fe: FrontEndResult, script: string, object: Buffer, kernel: KernelProfile, binaries: BinaryProfile[], key: KeyObject, ringBufferBytes: number = LIMITS.ringBufferBytes): Bundle {
  const lowered = fe.lowered!;
  const attach = lowered.attach;
  const used = new Set(attach.flatMap((a) => ('binary' in a ? [a.binary] : [])));
  const body: Omit<BundleManifest, 'bundleId'> = {
    format: 1,
    scriptDigest: fe.scriptDigest,
    compilerVersion: COMPILER_VERSION,
    kernel: { buildId: kernel.buildId, release: kernel.release },
    binaries: binaries.filter((b) => used.has(b.path)).map((b) => ({ path: b.path, buildId: b.buildId })),
    attach,
    events: [...lowered.events.values()],
    maps: [...lowered.maps.values()],
    ...(lowered.stacks.length ? { stacks: lowered.stacks } : {}),
    ...(fe.transaction ? { transaction: fe.transaction } : {}),
    limits: { maxStringBytes: LIMITS.maxStringBytes, maxMapEntries: LIMITS.maxMapEntries, maxStatementsPerProbe: LIMITS.maxStatementsPerProbe, ringBufferBytes },
    objectSha256: sha256Hex(object),
  };
  const bundleId = bundleIdOf(body, fe.c!);
  const manifest = parseOrThrow(BundleManifest, { ...body, bundleId }, 'bundle manifest');
  return { manifest, object, script, generatedC: fe.c!, signature: signBytes(bundleSignedText(bundleId), key) };
}
