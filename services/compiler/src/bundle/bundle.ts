import { createHash, type KeyObject } from 'node:crypto';
import { BundleManifest, parseOrThrow, type AttachPoint, type BinaryProfile, type KernelProfile, type MapLayout, type UserAction } from '@tapfleet/schemas';
import { aggregationValueSize } from '@tapfleet/schemas';
import type { Stmt } from '../ast.js';
import type { FrontEndResult } from '../compile.js';
import { LIMITS } from '../types.js';
import { COMPILER_VERSION } from '../version.js';
import { signBytes, verifyBytes } from './signing.js';

/** A compiled, signed probe bundle: everything an agent needs, and the sources for audit. */
export interface Bundle {
  manifest: BundleManifest;
  object: Buffer;
  script: string;
  generatedC: string;
  signature: Buffer;
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

/** JSON with sorted keys: the same manifest always serialises to the same bytes. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object')
    return `{${Object.keys(value).sort().filter((k) => (value as Record<string, unknown>)[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(value);
}

function bundleIdOf(manifest: Omit<BundleManifest, 'bundleId'>, generatedC: string): string {
  return sha256(`${canonicalJson(manifest)}\n${sha256(generatedC)}`);
}

const signedText = (bundleId: string) => Buffer.from(`tapfleet-bundle-v1:${bundleId}`);

function userActions(body: Stmt[]): UserAction[] {
  return body.flatMap((s) => (s.kind === 'print' || s.kind === 'clear' ? [{ op: s.kind, map: s.map }] : []));
}

/** Assembles the manifest from the front end's result and the built object, and signs it. */
export function makeBundle(fe: FrontEndResult, script: string, object: Buffer, kernel: KernelProfile, binaries: BinaryProfile[], key: KeyObject, ringBufferBytes: number = LIMITS.ringBufferBytes): Bundle {
  const attach: AttachPoint[] = fe.programs!.map(({ name, target: t }): AttachPoint => {
    switch (t.kind) {
      case 'tracepoint': return { kind: 'tracepoint', program: name, category: t.category, event: t.event };
      case 'uprobe': case 'uretprobe': return { kind: t.kind, program: name, binary: t.binary, symbol: t.symbol, offset: t.offset };
      case 'usdt': return { kind: 'usdt', program: name, binary: t.binary, provider: t.provider, name: t.name };
      default: throw new Error(`no program for a ${t.kind} probe`);
    }
  });
  for (const probe of fe.probes)
    for (const p of probe.points) {
      if (p.target.kind === 'interval') attach.push({ kind: 'interval', periodNs: p.target.periodNs, actions: userActions(probe.body) });
      if (p.target.kind === 'begin' || p.target.kind === 'end') attach.push({ kind: p.target.kind, actions: userActions(probe.body) });
    }
  const maps: MapLayout[] = [...fe.analysis!.maps.values()].map((m) => {
    let at = 0;
    const keyFields = m.keyTypes.map((t, i) => {
      const size = t.kind === 'str' ? Math.ceil(t.size / 8) * 8 : 8;
      const f = { name: `k${i}`, type: t.kind === 'str' ? ('str' as const) : t.signed ? ('i64' as const) : ('u64' as const), offset: at, size };
      at += size;
      return f;
    });
    return { name: m.name, kind: m.kind, keySize: keyFields.length ? at : 4, keyFields, valueSize: aggregationValueSize(m.kind, m.lhist), maxEntries: keyFields.length ? LIMITS.maxMapEntries : 1, ...(m.lhist ? { lhist: m.lhist } : {}) };
  });
  const used = new Set(attach.flatMap((a) => ('binary' in a ? [a.binary] : [])));
  const body: Omit<BundleManifest, 'bundleId'> = {
    format: 1,
    scriptDigest: fe.scriptDigest,
    compilerVersion: COMPILER_VERSION,
    kernel: { buildId: kernel.buildId, release: kernel.release },
    binaries: binaries.filter((b) => used.has(b.path)).map((b) => ({ path: b.path, buildId: b.buildId })),
    attach,
    events: [...fe.analysis!.events.values()].map((e) => e.layout),
    maps,
    limits: { maxStringBytes: LIMITS.maxStringBytes, maxMapEntries: LIMITS.maxMapEntries, maxStatementsPerProbe: LIMITS.maxStatementsPerProbe, ringBufferBytes },
    objectSha256: sha256(object),
  };
  const bundleId = bundleIdOf(body, fe.c!);
  const manifest = parseOrThrow(BundleManifest, { ...body, bundleId }, 'bundle manifest');
  return { manifest, object, script, generatedC: fe.c!, signature: signBytes(signedText(bundleId), key) };
}

export class BundleVerifyError extends Error {
  readonly code = 'TAPFLEET_BUNDLE_INVALID';
}

/** Checks contents against the manifest's digests and the signature; throws with the reason. */
export function verifyBundle(bundle: Bundle, publicKeyPem: string): void {
  if (sha256(bundle.object) !== bundle.manifest.objectSha256) throw new BundleVerifyError('the BPF object does not match the manifest digest (tampered)');
  if (sha256(bundle.script) !== bundle.manifest.scriptDigest) throw new BundleVerifyError('the script does not match the manifest digest (tampered)');
  const { bundleId, ...body } = bundle.manifest;
  if (bundleIdOf(body, bundle.generatedC) !== bundleId) throw new BundleVerifyError('the manifest or generated C does not match the bundle id (tampered)');
  if (!verifyBytes(signedText(bundleId), bundle.signature, publicKeyPem)) throw new BundleVerifyError('the signature does not verify with the trusted key');
}

export function serializeBundle(b: Bundle): string {
  return `${canonicalJson({ format: 'tapfleet-bundle/1', manifest: b.manifest, object: b.object.toString('base64'), script: b.script, generatedC: b.generatedC, signature: b.signature.toString('base64') })}\n`;
}

export function parseBundle(text: string): Bundle {
  let raw: { format?: string; manifest?: unknown; object?: string; script?: string; generatedC?: string; signature?: string };
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new BundleVerifyError(`not a bundle file: ${(e as Error).message}`);
  }
  if (raw.format !== 'tapfleet-bundle/1' || typeof raw.object !== 'string' || typeof raw.script !== 'string' || typeof raw.generatedC !== 'string' || typeof raw.signature !== 'string')
    throw new BundleVerifyError('not a tapfleet-bundle/1 file');
  return {
    manifest: parseOrThrow(BundleManifest, raw.manifest, 'bundle manifest'),
    object: Buffer.from(raw.object, 'base64'),
    script: raw.script,
    generatedC: raw.generatedC,
    signature: Buffer.from(raw.signature, 'base64'),
  };
}
