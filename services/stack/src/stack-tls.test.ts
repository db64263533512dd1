import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TapfleetConfig } from '@tapfleet/schemas';
import { stackTlsMismatches } from './stack-tls.js';

const config = (extra: object) => TapfleetConfig.parse({ dataDir: '/tmp/x', ...extra });
const serverTls = { certFile: '/s.pem', keyFile: '/s.key' };
const clientTls = { caFile: '/ca.pem', certFile: '/c.pem', keyFile: '/c.key' };

test('stack.tls: each client setting that would still speak plain text is named before anything starts', () => {
  assert.deepEqual(stackTlsMismatches(config({})), [], 'no stack TLS: nothing to match');
  const all = stackTlsMismatches(config({ stack: { tls: serverTls } }));
  assert.equal(all.length, 3);
  assert.match(all[0]!, /^nats\.tls/);
  assert.match(all[1]!, /^clickhouse\.url must be https:\/\/ \(is http:\/\/127\.0\.0\.1:8123\)/);
  assert.match(all[2]!, /^redis\.url must be rediss:\/\//);
  const consistent = { nats: { tls: clientTls }, clickhouse: { url: 'https://127.0.0.1:8443', tls: clientTls }, redis: { url: 'rediss://127.0.0.1:6380', tls: clientTls } };
  assert.deepEqual(stackTlsMismatches(config({ stack: { tls: { ...serverTls, clientCaFile: '/ca.pem' } }, ...consistent })), []);
  const noClientCert = stackTlsMismatches(config({ stack: { tls: { ...serverTls, clientCaFile: '/ca.pem' } }, ...consistent, redis: { url: 'rediss://127.0.0.1:6380', tls: { caFile: '/ca.pem' } } }));
  assert.deepEqual(noClientCert, ['redis.tls.certFile/keyFile: stack.tls.clientCaFile makes the servers require a client certificate']);
});
