import type { ObjectStore } from '@nats-io/obj';
import { hostKernelProfile, readBinaryProfile } from '@tapfleet/runner';
import { binaryProfileObject, canonicalJson, kernelProfileObject, sha256Hex, type BinaryRef, type KernelSummary } from '@tapfleet/schemas';

export interface HostProfileRefs {
  kernel: KernelSummary;
  binaries: BinaryRef[];
}

/** Stores a profile once per build-id: same build, same profile, so an existing object is kept. */
async function storeOnce(store: ObjectStore, name: string, json: string): Promise<void> {
  const existing = await store.info(name);
  if (existing && !existing.deleted) return;
  await store.putBlob({ name }, new TextEncoder().encode(json));
}

/**
 * Reads this host's kernel profile (every tracepoint format: the control plane may
 * compile any script for this build) and the profiles of the binaries the config
 * names, stores them in the profiles object store, and returns what the hello carries.
 */
export async function publishHostProfiles(store: ObjectStore, binaries: Record<string, string>): Promise<HostProfileRefs> {
  const kernel = hostKernelProfile('all');
  const kernelJson = canonicalJson(kernel);
  await storeOnce(store, kernelProfileObject(kernel.buildId), kernelJson);
  const refs: BinaryRef[] = [];
  for (const [name, path] of Object.entries(binaries)) {
    const profile = readBinaryProfile(path);
    const json = canonicalJson(profile);
    await storeOnce(store, binaryProfileObject(profile.buildId), json);
    refs.push({ name, path: profile.path, buildId: profile.buildId, profileDigest: sha256Hex(json) });
  }
  return { kernel: { buildId: kernel.buildId, release: kernel.release, version: kernel.version, arch: kernel.arch, profileDigest: sha256Hex(kernelJson) }, binaries: refs };
}
