import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SigningKeyPublicFile } from '@tapfleet/schemas';
import { localSigningKey, publicHalfPath } from './signing-key.js';

const derived = (keyPath: string) => createPublicKey(createPrivateKey(readFileSync(keyPath))).export({ type: 'spki', format: 'pem' }).toString();
const kept = (keyPath: string) => SigningKeyPublicFile.parse(JSON.parse(readFileSync(publicHalfPath(keyPath), 'utf8')));
const otherPublicKey = () => generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();

test('the public half is kept beside the key and used while the key file holds the key it came from; a replaced or rewritten key is read again', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-signing-key-'));
  try {
    const keyPath = join(dir, 'keys', 'signing-key.pem');
    const made = localSigningKey(keyPath);
    assert.equal(made.publicKeyPem, derived(keyPath));
    assert.equal(kept(keyPath).publicKeyPem, made.publicKeyPem);
    assert.equal(statSync(publicHalfPath(keyPath)).mode & 0o777, 0o600, 'as private as the key');

    // The kept half is what a later run reads (a planted one shows it), and the private key still signs what it verifies.
    const again = localSigningKey(keyPath);
    assert.equal(again.publicKeyPem, made.publicKeyPem);
    const signature = sign(null, Buffer.from('bundle'), again.privateKey);
    assert.ok(verify(null, Buffer.from('bundle'), createPublicKey(again.publicKeyPem), signature));
    const planted = { ...kept(keyPath), publicKeyPem: otherPublicKey() };
    writeFileSync(publicHalfPath(keyPath), JSON.stringify(planted));
    assert.equal(localSigningKey(keyPath).publicKeyPem, planted.publicKeyPem, 'read from beside the key, not derived');

    // Another key in the file, put there by rename or written in place: its own public half, whatever the kept file says.
    const changes: [string, () => void][] = [
      ['replaced', () => {
        writeFileSync(`${keyPath}.new`, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
        renameSync(`${keyPath}.new`, keyPath);
      }],
      ['rewritten', () => writeFileSync(keyPath, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }))],
    ];
    for (const [how, change] of changes) {
      // The half kept for the key before, its PEM made wrong: were it used, the assertions below would see it.
      writeFileSync(publicHalfPath(keyPath), JSON.stringify({ ...kept(keyPath), publicKeyPem: otherPublicKey() }));
      change();
      const key = localSigningKey(keyPath);
      assert.equal(key.publicKeyPem, derived(keyPath), how);
      assert.equal(kept(keyPath).publicKeyPem, derived(keyPath), `${how}: kept anew`);
    }

    // A kept file that is not one (garbage, another shape) is derived again and replaced.
    for (const bad of ['{', JSON.stringify({ format: 'tapfleet-signing-key-public/1', publicKeyPem: 'x' })]) {
      writeFileSync(publicHalfPath(keyPath), bad);
      assert.equal(localSigningKey(keyPath).publicKeyPem, derived(keyPath));
      assert.equal(kept(keyPath).publicKeyPem, derived(keyPath));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a kept half that is not the key\'s (planted, corrupted) is repaired on the first miss: the fresh bundle verifies, later hits use the key\'s own half', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-signing-key-'));
  try {
    const keyPath = join(dir, 'keys', 'signing-key.pem');
    localSigningKey(keyPath);
    writeFileSync(publicHalfPath(keyPath), JSON.stringify({ ...kept(keyPath), publicKeyPem: otherPublicKey() }));
    // A run: the cache lookup uses the kept half (a wrong one rejects every entry), then a miss signs with the private key and run.ts verifies with publicKeyPem.
    const key = localSigningKey(keyPath);
    const signature = sign(null, Buffer.from('bundle'), key.privateKey);
    assert.ok(verify(null, Buffer.from('bundle'), createPublicKey(key.publicKeyPem), signature), 'the bundle just signed verifies: before, every run failed here until the file was removed by hand');
    assert.equal(kept(keyPath).publicKeyPem, derived(keyPath), 'kept anew');
    assert.equal(localSigningKey(keyPath).publicKeyPem, derived(keyPath));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
