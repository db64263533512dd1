import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '@tapfleet/runtime';
import { compileBundle } from './compile-bundle.js';
import { parseBundle, serializeBundle, verifyBundle, BundleVerifyError, type Bundle } from '@tapfleet/schemas';
import { FIXTURE_PROFILES } from './test-profile.test-fixtures.js';

const key = generateKeyPairSync('ed25519');
const publicPem = key.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const script = readFileSync(join(PROJECT_ROOT, 'test', 'golden', 'uretprobe-entry-emit.tap'), 'utf8');
const compile = () => compileBundle('orders.tap', script, { signingKey: key.privateKey, profiles: FIXTURE_PROFILES, binaryPaths: { gw: '/opt/gw/bin/gateway' } });

describe('bundles (real clang)', () => {
  test('same inputs give a byte-identical bundle', async () => {
    const [a, b] = [await compile(), await compile()];
    assert.equal(a.manifest.bundleId, b.manifest.bundleId);
    assert.equal(serializeBundle(a), serializeBundle(b));
    assert.equal(a.manifest.kernel.buildId, FIXTURE_PROFILES.kernel.buildId);
    assert.deepEqual(a.manifest.binaries, [{ path: '/opt/gw/bin/gateway', buildId: FIXTURE_PROFILES.binaries[0]!.buildId }]);
    assert.deepEqual(a.manifest.attach.map((x) => x.kind), ['uprobe', 'uretprobe']);
    assert.equal(a.manifest.events[0]?.txnField, 'txn');
  });

  test('a bundle survives serialisation and verifies', async () => {
    const b = parseBundle(serializeBundle(await compile()));
    verifyBundle(b, publicPem);
  });

  const tamper: [string, (b: Bundle) => Bundle, RegExp][] = [
    ['a flipped byte in the object', (b) => ({ ...b, object: Buffer.from(b.object.map((x, i) => (i === 100 ? x ^ 1 : x))) }), /BPF object does not match/],
    ['an edited script', (b) => ({ ...b, script: `${b.script} ` }), /script does not match/],
    ['an edited manifest', (b) => ({ ...b, manifest: { ...b.manifest, kernel: { ...b.manifest.kernel, release: '6.1.0' } } }), /does not match the bundle id/],
    ['a flipped signature bit', (b) => ({ ...b, signature: Buffer.from(b.signature.map((x, i) => (i === 0 ? x ^ 1 : x))) }), /signature does not verify/],
  ];
  for (const [what, mutate, why] of tamper) {
    test(`${what} is refused`, async () => {
      const b = mutate(await compile());
      assert.throws(() => verifyBundle(b, publicPem), (e: unknown) => e instanceof BundleVerifyError && why.test(e.message));
    });
  }

  test('a bundle signed by another key is refused', async () => {
    const other = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const b = await compile();
    assert.throws(() => verifyBundle(b, other), /signature does not verify/);
  });
});

