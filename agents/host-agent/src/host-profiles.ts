import { gzipSync } from 'node:zlib';
import { headers } from '@nats-io/transport-node';
import type { ObjectStore } from '@nats-io/obj';
import type { JetStreamClient } from '@nats-io/jetstream';
import { hostKernelProfile, readBinaryProfile } from '@tapfleet/runner';
import {
  binaryProfileObject, canonicalJson, kernelProfileObject, PROFILE_DIGEST_HEADER, PROFILE_KIND_HEADER, profileSubject, sha256Hex,
  type BinaryRef, type KernelSummary,
} from '@tapfleet/schemas';

export interface HostProfileRefs {
  kernel: KernelSummary;
  binaries: BinaryRef[];
}

/** NATS's default max_payload; a profile that does not fit is reported, never truncated. */
const MAX_PROFILE_MESSAGE = 1 << 20;

/**
 * Sends a profile to the control plane unless the (content-addressed) store already has it.
 * Agents may read the profiles store but not write it: the control plane checks the digest
 * and the schema, then stores it.
 */
async function sendOnce(js: JetStreamClient, store: ObjectStore, hostId: string, kind: 'kernel' | 'binary', name: string, json: string, digest: string): Promise<void> {
  const existing = await store.info(name);
  if (existing && !existing.deleted) return;
  const body = gzipSync(json);
  if (body.length > MAX_PROFILE_MESSAGE) throw new Error(`the ${kind} profile ${name} is ${body.length} bytes compressed, over the ${MAX_PROFILE_MESSAGE}-byte message limit`);
  const h = headers();
  h.set(PROFILE_KIND_HEADER, kind);
  h.set(PROFILE_DIGEST_HEADER, digest);
  await js.publish(profileSubject(hostId), body, { headers: h, timeout: 10_000 });
}

/**
 * Reads this host's kernel profile (every tracepoint format: the control plane may
 * compile any script for this build) and the profiles of the binaries the config
 * names, sends the ones the store lacks, and returns what the hello carries.
 */
export async function publishHostProfiles(js: JetStreamClient, store: ObjectStore, hostId: string, binaries: Record<string, string>): Promise<HostProfileRefs> {
  const kernel = hostKernelProfile('all');
  const kernelJson = canonicalJson(kernel);
  const kernelDigest = sha256Hex(kernelJson);
  await sendOnce(js, store, hostId, 'kernel', kernelProfileObject(kernel.buildId, kernelDigest), kernelJson, kernelDigest);
  const refs: BinaryRef[] = [];
  for (const [name, path] of Object.entries(binaries)) {
    const profile = readBinaryProfile(path);
    const json = canonicalJson(profile);
    const digest = sha256Hex(json);
    await sendOnce(js, store, hostId, 'binary', binaryProfileObject(profile.buildId, digest), json, digest);
    refs.push({ name, path: profile.path, buildId: profile.buildId, profileDigest: digest });
  }
  return { kernel: { buildId: kernel.buildId, release: kernel.release, version: kernel.version, arch: kernel.arch, profileDigest: kernelDigest }, binaries: refs };
}
