import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { signAssignmentSet, verifyAssignmentSet } from './assignment-signing.js';
import type { UnsignedAssignmentSet } from './deployment.js';

const keys = () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, pem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
};
const trusted = keys();
const other = keys();
const SHA = 'ab'.repeat(32);
const unsigned: UnsignedAssignmentSet = {
  hostId: 'host-a', issuedAtMs: 1_000, assignments: [{ deploymentId: 'd-1a2b3c4d', bundleId: SHA, expiresAtMs: 9_000, pids: [] }],
};
const bytes = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));
const check = (v: unknown, lastIssuedAtMs = 0) => verifyAssignmentSet(bytes(v), { hostId: 'host-a', trustedKeyPem: trusted.pem, lastIssuedAtMs });
const reason = (v: ReturnType<typeof check>) => (v.ok ? 'accepted' : v.reason);

test('assignment set: a set the trusted key signed for this host is accepted, also again (same issue time)', () => {
  const set = signAssignmentSet(unsigned, trusted.privateKey);
  assert.ok(check(set).ok);
  assert.ok(check(set, 1_000).ok);
});

test('assignment set: every forgery and replay is refused with its reason', () => {
  const good = signAssignmentSet(unsigned, trusted.privateKey);
  assert.match(reason(check(signAssignmentSet(unsigned, other.privateKey))), /signature does not verify/);
  assert.match(reason(check({ ...good, assignments: [{ ...good.assignments[0]!, bundleId: 'cd'.repeat(32) }] })), /signature does not verify/);
  assert.match(reason(check({ ...good, issuedAtMs: good.issuedAtMs + 1 })), /signature does not verify/);
  const { signature: _s, ...unsignedBody } = good;
  assert.match(reason(check(unsignedBody)), /schema: signature/);
  assert.match(reason(check(signAssignmentSet({ ...unsigned, hostId: 'host-b' }, trusted.privateKey))), /for host host-b, not this host/);
  assert.match(reason(check(good, 2_000)), /older than the one already accepted.*replay/);
  assert.match(reason(check('{"hostId":')), /not JSON/);
  assert.match(reason(check('x'.repeat(300 << 10))), /over the 256 KiB limit/);
  assert.match(reason(check({ ...good, assignments: 'all' })), /schema: assignments/);
  assert.match(reason(verifyAssignmentSet(bytes(good), { hostId: 'host-a', trustedKeyPem: '', lastIssuedAtMs: 0 })), /no trusted control-plane key/);
});
