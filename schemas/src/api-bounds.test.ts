import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CreateDeploymentRequest, CreateTokenRequest, durationMs, EpochMs, TTL_MAX_MS, issuesOf } from './index.js';

const base = { scriptName: 'a.tap', script: 'probe begin { }', selector: { role: 'x' } };
const ttlIssue = (ttl: unknown) => {
  const r = CreateDeploymentRequest.safeParse({ ...base, ttl });
  return r.success ? undefined : issuesOf(r.error).find((i) => i.path === 'ttl')?.message;
};

test('a deployment TTL is bounded to 1s..720h and the message says so; huge digit strings never overflow', () => {
  assert.equal(ttlIssue('1s'), undefined);
  assert.equal(ttlIssue('720h'), undefined);
  assert.equal(ttlIssue('43200m'), undefined);
  for (const bad of ['999ms', '721h', '99999999999999999999h', '9007199254740993ms', '0s', '-5s', '5d', '1e3s', ' 5s', '5s\n']) {
    assert.match(ttlIssue(bad) ?? 'accepted', /a deployment TTL must be between 1s and 720h/, `ttl ${JSON.stringify(bad)}`);
  }
  assert.match(ttlIssue(5) ?? 'accepted', /string/);
  assert.match(ttlIssue('x'.repeat(100_000)) ?? 'accepted', /between 1s and 720h/);
  assert.equal(durationMs('720h'), TTL_MAX_MS);
  assert.throws(() => durationMs('99999999999999999999h'), /not a duration/);
});

test('selectors, token names and timestamps are bounded', () => {
  const many = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v']));
  assert.equal(CreateDeploymentRequest.safeParse({ ...base, selector: many }).success, false);
  assert.equal(CreateDeploymentRequest.safeParse({ ...base, selector: JSON.parse('{"__proto__":"x"}') }).success, false);
  // zod 3's record drops a "__proto__" key from what it returns: beside another label the selector would silently match more hosts.
  const proto = CreateDeploymentRequest.safeParse({ ...base, selector: JSON.parse('{"__proto__":"x","role":"y"}') });
  assert.equal(proto.success, false);
  assert.deepEqual(proto.success ? [] : issuesOf(proto.error).map((i) => i.path), ['selector.__proto__']);
  assert.equal(CreateTokenRequest.safeParse({ name: 'ci\nrole: admin', role: 'viewer' }).success, false);
  assert.equal(EpochMs.safeParse(3.6e26).success, false);
  assert.equal(EpochMs.safeParse(8.64e15 + 1).success, false);
  assert.equal(EpochMs.safeParse(Date.now()).success, true);
});
