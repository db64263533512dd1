import { headers } from '@nats-io/transport-node';
import type { ObjectStore } from '@nats-io/obj';
import type { JetStreamClient } from '@nats-io/jetstream';
import {
  binaryProfileObject, kernelProfileObject, PROFILE_DIGEST_HEADER, PROFILE_KIND_HEADER, profileSubject,
  type BinaryRef, type KernelSummary,
} from '@tapfleet/schemas';
import { readHostProfiles } from './host-profile-read.js';

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
async function sendOnce(js: JetStreamClient, store: ObjectStore, hostId: string, kind: 'kernel' | 'binary', name: string, body: Uint8Array, digest: string): Promise<void> {
  const existing = await store.info(name);
  if (existing && !existing.deleted) return;
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
  const { kernel: { body, ...kernel }, binaries: read } = await readHostProfiles({ binaries });
  await sendOnce(js, store, hostId, 'kernel', kernelProfileObject(kernel.buildId, kernel.profileDigest), body, kernel.profileDigest);
  const refs: BinaryRef[] = [];
  for (const { body: binaryBody, ...ref } of read) {
    await sendOnce(js, store, hostId, 'binary', binaryProfileObject(ref.buildId, ref.profileDigest), binaryBody, ref.profileDigest);
    refs.push(ref);
  }
  return { kernel, binaries: refs };
}
