import { createHash, createPublicKey, verify } from 'node:crypto';
import { BundleManifest } from './bundle-manifest.js';
import { parseOrThrow } from './validate.js';

/**
 * A signed probe bundle as it travels (object store, files): manifest, BPF object,
 * the script and generated C for audit, and an ed25519 signature over the bundle id.
 * The compiler makes bundles; agents and the control plane read and verify them here.
 */
export interface Bundle {
  manifest: BundleManifest;
  object: Buffer;
  script: string;
  generatedC: string;
  signature: Buffer;
}

export const sha256Hex = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

/** JSON with sorted keys: the same value always serialises to the same bytes. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object')
    return `{${Object.keys(value).sort().filter((k) => (value as Record<string, unknown>)[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(value);
}

/** Content address of a bundle: same manifest body and generated C, same id. */
export function bundleIdOf(manifest: Omit<BundleManifest, 'bundleId'>, generatedC: string): string {
  return sha256Hex(`${canonicalJson(manifest)}\n${sha256Hex(generatedC)}`);
}

/** What the signature covers: the bundle id, which covers everything else by digest. */
export const bundleSignedText = (bundleId: string) => Buffer.from(`tapfleet-bundle-v1:${bundleId}`);

export function verifySignature(data: Buffer, signature: Buffer, publicKeyPem: string): boolean {
  try {
    return verify(null, data, createPublicKey(publicKeyPem), signature);
  } catch {
    return false;
  }
}

export class BundleVerifyError extends Error {
  readonly code = 'TAPFLEET_BUNDLE_INVALID';
}

/** Checks contents against the manifest's digests and the signature; throws with the reason. */
export function verifyBundle(bundle: Bundle, publicKeyPem: string): void {
  if (sha256Hex(bundle.object) !== bundle.manifest.objectSha256) throw new BundleVerifyError('the BPF object does not match the manifest digest (tampered)');
  if (sha256Hex(bundle.script) !== bundle.manifest.scriptDigest) throw new BundleVerifyError('the script does not match the manifest digest (tampered)');
  const { bundleId, ...body } = bundle.manifest;
  if (bundleIdOf(body, bundle.generatedC) !== bundleId) throw new BundleVerifyError('the manifest or generated C does not match the bundle id (tampered)');
  if (!verifySignature(bundleSignedText(bundleId), bundle.signature, publicKeyPem)) throw new BundleVerifyError('the signature does not verify with the trusted key');
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
