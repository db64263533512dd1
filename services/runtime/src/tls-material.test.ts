import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TapfleetConfig } from '@tapfleet/schemas';
import { clientTlsMaterial, readPemFile, serverTlsMaterial } from './tls-material.js';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

test('PEM files: read when PEM, refused with the file and its purpose named when missing, not PEM, not a file or too large', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-pem-'));
  try {
    const good = join(dir, 'ca.pem');
    writeFileSync(good, PEM);
    assert.equal(readPemFile(good, 'CA file for NATS').toString(), PEM);
    assert.throws(() => readPemFile(join(dir, 'nope.pem'), 'CA file for NATS'), /cannot read the CA file for NATS .*nope\.pem/);
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'hello');
    assert.throws(() => readPemFile(text, 'key for control plane'), /key for control plane .*notes\.txt holds no PEM block/);
    assert.throws(() => readPemFile(dir, 'certificate for query service'), /is not a regular file/);
    const big = join(dir, 'big.pem');
    writeFileSync(big, Buffer.alloc((1 << 20) + 1, 0x41));
    assert.throws(() => readPemFile(big, 'CA file for Redis'), /is 1048577 bytes; a PEM file is at most 1048576/);
    assert.deepEqual(Object.keys(clientTlsMaterial({ caFile: good }, 'NATS')), ['ca']);
    const server = serverTlsMaterial({ certFile: good, keyFile: good }, 'control plane');
    assert.equal(server.requestCert, false, 'no client CA: no client certificate asked');
    assert.equal(serverTlsMaterial({ certFile: good, keyFile: good, clientCaFile: good }, 'x').rejectUnauthorized, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('TLS config: a client certificate without its key, a relative path or an unknown key is refused with the path of the field', () => {
  const parse = (extra: object) => TapfleetConfig.safeParse({ dataDir: '/tmp/x', ...extra });
  const paths = (r: ReturnType<typeof parse>) => (r.success ? [] : r.error.issues.map((i) => i.path.join('.')));
  assert.deepEqual(paths(parse({ nats: { tls: { certFile: '/c.pem' } } })), ['nats.tls.certFile']);
  assert.deepEqual(paths(parse({ clickhouse: { tls: { caFile: 'ca.pem' } } })), ['clickhouse.tls.caFile']);
  assert.deepEqual(paths(parse({ redis: { tls: { ca: '/ca.pem' } } })), ['redis.tls']);
  assert.deepEqual(paths(parse({ controlPlane: { tls: { certFile: '/c.pem' } } })), ['controlPlane.tls.keyFile']);
  assert.deepEqual(paths(parse({ redis: { url: 'rediss://127.0.0.1:6380' } })), [], 'rediss:// is a Redis URL');
  assert.ok(parse({ stack: { tls: { certFile: '/s.pem', keyFile: '/s.key', clientCaFile: '/ca.pem' } } }).success);
});
