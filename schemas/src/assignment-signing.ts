import { sign, type KeyObject } from 'node:crypto';
import { canonicalJson, verifySignature } from './bundle-file.js';
import { AssignmentSet, type UnsignedAssignmentSet } from './deployment.js';
import { issuesOf } from './validate.js';

/** What the signature covers: every field but the signature, in canonical form, under a domain tag. */
const signedText = (set: UnsignedAssignmentSet) => Buffer.from(`tapfleet-assignment-set-v1\n${canonicalJson({ hostId: set.hostId, issuedAtMs: set.issuedAtMs, assignments: set.assignments })}`);

export function signAssignmentSet(set: UnsignedAssignmentSet, privateKey: KeyObject): AssignmentSet {
  return { ...set, signature: sign(null, signedText(set), privateKey).toString('base64') };
}

export type AssignmentVerdict = { ok: true; set: AssignmentSet } | { ok: false; reason: string };

/**
 * Everything an agent checks before it acts on an assignment set read from the bus: it is
 * JSON, fits the schema, is signed by the trusted key, is for this host, and is newer than
 * the newest set it accepted before (a replayed older set is refused; the same set again,
 * as a watch delivers after a reconnect, is accepted as a no-op by the caller).
 */
export function verifyAssignmentSet(raw: Uint8Array, o: { hostId: string; trustedKeyPem: string; lastIssuedAtMs: number }): AssignmentVerdict {
  if (raw.length > 256 << 10) return { ok: false, reason: `assignment set of ${raw.length} bytes is over the 256 KiB limit` };
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(raw));
  } catch (e) {
    return { ok: false, reason: `assignment set is not JSON: ${(e as Error).message}` };
  }
  const parsed = AssignmentSet.safeParse(json);
  if (!parsed.success) return { ok: false, reason: `assignment set fails its schema: ${issuesOf(parsed.error).slice(0, 3).map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}` };
  const set = parsed.data;
  if (!o.trustedKeyPem) return { ok: false, reason: 'no trusted control-plane key configured (agent.trustedKeyFile): refusing every assignment' };
  if (!verifySignature(signedText(set), Buffer.from(set.signature, 'base64'), o.trustedKeyPem))
    return { ok: false, reason: 'assignment set signature does not verify with the trusted control-plane key (forged or tampered)' };
  if (set.hostId !== o.hostId) return { ok: false, reason: `assignment set is for host ${set.hostId}, not this host (${o.hostId})` };
  if (set.issuedAtMs < o.lastIssuedAtMs)
    return { ok: false, reason: `assignment set issued at ${new Date(set.issuedAtMs).toISOString()} is older than the one already accepted (${new Date(o.lastIssuedAtMs).toISOString()}): a replay` };
  return { ok: true, set };
}
