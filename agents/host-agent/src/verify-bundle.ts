import { readBinaryProfile, kernelBuildId } from '@tapfleet/runner';
import { BundleVerifyError, SchemaError, verifyBundle, type Bundle } from '@tapfleet/schemas';

export type Verdict = { ok: true } | { ok: false; reason: string };

/**
 * Everything that must hold before a bundle may reach the kernel: it is the bundle
 * assigned, its contents match its manifest and the signature verifies with the
 * trusted key, it was compiled for this exact kernel build, and every probed binary
 * on this host is the build it was compiled against. The reason is for the operator.
 */
export function verifyForThisHost(bundle: Bundle, expectedBundleId: string, trustedKeyPem: string, ownKernelBuildId: string = kernelBuildId()): Verdict {
  if (bundle.manifest.bundleId !== expectedBundleId)
    return { ok: false, reason: `the object store returned bundle ${bundle.manifest.bundleId.slice(0, 12)} for assignment ${expectedBundleId.slice(0, 12)}` };
  try {
    verifyBundle(bundle, trustedKeyPem);
  } catch (e) {
    if (e instanceof BundleVerifyError) return { ok: false, reason: e.message };
    throw e;
  }
  if (bundle.manifest.kernel.buildId !== ownKernelBuildId)
    return { ok: false, reason: `kernel build-id mismatch: bundle was compiled for ${bundle.manifest.kernel.buildId} (${bundle.manifest.kernel.release}), this host runs ${ownKernelBuildId}` };
  for (const b of bundle.manifest.binaries) {
    let actual: string;
    try {
      actual = readBinaryProfile(b.path).buildId;
    } catch (e) {
      return { ok: false, reason: `probed binary ${b.path} cannot be read here: ${(e as Error).message}` };
    }
    if (actual !== b.buildId) return { ok: false, reason: `binary build-id mismatch: ${b.path} is ${actual} here, the bundle was compiled for ${b.buildId}` };
  }
  return { ok: true };
}

/** parseBundle's errors (not a bundle, manifest fails its schema) as a refusal reason; anything else is a bug. */
export function describeBundleError(e: unknown): string | undefined {
  if (e instanceof BundleVerifyError) return `not a valid bundle: ${e.message}`;
  if (e instanceof SchemaError) return e.message;
  return undefined;
}
