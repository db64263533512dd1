import { gunzipSync } from 'node:zlib';
import type { ObjectStore } from '@nats-io/obj';
import type { Redis } from 'ioredis';
import type { MsgHdrs } from '@nats-io/transport-node';
import {
  BinaryProfile, binaryProfileObject, canonicalJson, issuesOf, KernelProfile, kernelProfileObject, PROFILE_DIGEST_HEADER, PROFILE_KIND_HEADER, Sha256Hex, sha256Hex,
} from '@tapfleet/schemas';

/** A kernel profile is ~4 MB of JSON; anything far beyond that is refused before it is held in memory. */
const MAX_PROFILE_JSON = 16 << 20;
/** Profiles one host may have stored (a kernel, and a binary per configured probed binary, across upgrades). */
export const MAX_PROFILES_PER_HOST = 32;

/** Which stored profiles each host sent: bounds what one agent credential can make the store hold. */
export interface ProfileQuota {
  /** True if `hostId` may store `name` (it already did, or it is under its quota); records it. */
  admit(hostId: string, name: string): Promise<boolean>;
}

export type ProfileOutcome = { ok: true; name: string; stored: boolean } | { ok: false; reason: string };

/**
 * Checks a profile an agent sent (gzip-compressed canonical JSON, its sha256 in a header)
 * and stores it under a content-addressed name. The digest must match the bytes and the
 * bytes must parse as the profile kind: what the compiler later reads is exactly what the
 * host's hello names, and no agent can replace another host's profile.
 */
export async function takeProfile(store: ObjectStore, quota: ProfileQuota, hostId: string, data: Uint8Array, h: MsgHdrs | undefined): Promise<ProfileOutcome> {
  const kind = h?.get(PROFILE_KIND_HEADER);
  const digest = h?.get(PROFILE_DIGEST_HEADER) ?? '';
  if (kind !== 'kernel' && kind !== 'binary') return { ok: false, reason: `${PROFILE_KIND_HEADER} must be kernel or binary, not '${kind ?? ''}'` };
  if (!Sha256Hex.safeParse(digest).success) return { ok: false, reason: `${PROFILE_DIGEST_HEADER} is not a sha256 digest` };
  let text: string;
  try {
    text = gunzipSync(data, { maxOutputLength: MAX_PROFILE_JSON }).toString('utf8');
  } catch (e) {
    return { ok: false, reason: `not a gzip body within ${MAX_PROFILE_JSON} bytes: ${(e as Error).message}` };
  }
  if (sha256Hex(text) !== digest) return { ok: false, reason: 'the body does not match its digest' };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { ok: false, reason: `not JSON: ${(e as Error).message}` };
  }
  const parsed = (kind === 'kernel' ? KernelProfile : BinaryProfile).safeParse(json);
  if (!parsed.success) return { ok: false, reason: `not a ${kind} profile: ${issuesOf(parsed.error).slice(0, 3).map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}` };
  // Exactly what the schema describes, as the agent serialises it: no padding riding along
  // in fields nobody reads (60 MB of it compresses to 60 KB on the wire).
  if (canonicalJson(parsed.data) !== text) return { ok: false, reason: 'not in canonical form, or carries fields a profile does not have' };
  const name = kind === 'kernel' ? kernelProfileObject(parsed.data.buildId, digest) : binaryProfileObject(parsed.data.buildId, digest);
  const existing = await store.info(name);
  if (existing && !existing.deleted) return { ok: true, name, stored: false };
  if (!(await quota.admit(hostId, name))) return { ok: false, reason: `host ${hostId} already stored ${MAX_PROFILES_PER_HOST} profiles` };
  await store.putBlob({ name }, new TextEncoder().encode(text));
  return { ok: true, name, stored: true };
}

/** The per-host profile quota in Redis: one set of stored names per host. */
export function redisProfileQuota(redis: Redis): ProfileQuota {
  return {
    async admit(hostId, name) {
      const key = `tf:profiles-of:${hostId}`;
      if (await redis.sismember(key, name)) return true;
      if ((await redis.scard(key)) >= MAX_PROFILES_PER_HOST) return false;
      await redis.sadd(key, name);
      return true;
    },
  };
}
