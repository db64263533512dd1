import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, DEFAULT_DATA_DIR } from './index.js';

test('defaults point at the local stack and the project-local data dir', () => {
  const c = loadConfig({ env: {} });
  assert.equal(c.dataDir, DEFAULT_DATA_DIR);
  assert.equal(c.nats.url, 'nats://127.0.0.1:4222');
  assert.equal(c.clickhouse.url, 'http://127.0.0.1:8123');
  assert.equal(c.clickhouse.database, 'tapfleet');
  assert.equal(c.redis.url, 'redis://127.0.0.1:6379');
  assert.ok(DEFAULT_DATA_DIR.endsWith('/.tapfleet'));
});

test('file overrides defaults, environment overrides the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-config-'));
  const file = join(dir, 'tapfleet.json');
  writeFileSync(file, JSON.stringify({ nats: { url: 'nats://127.0.0.1:5222' }, clickhouse: { database: 'fromfile' } }));
  const c = loadConfig({ env: { TAPFLEET_CONFIG: file, TAPFLEET_CLICKHOUSE_DATABASE: 'fromenv', TAPFLEET_NATS_MONITOR_PORT: '9333' } });
  assert.equal(c.nats.url, 'nats://127.0.0.1:5222');
  assert.equal(c.nats.monitorPort, 9333);
  assert.equal(c.clickhouse.database, 'fromenv');
  assert.equal(c.clickhouse.url, 'http://127.0.0.1:8123');
});

test('a bad value names its field and its source', () => {
  assert.throws(() => loadConfig({ env: { TAPFLEET_REDIS_URL: 'http://nope' } }), /invalid configuration: redis\.url: expected redis:\/\/HOST:PORT/);
  const dir = mkdtempSync(join(tmpdir(), 'tf-config-'));
  const file = join(dir, 'bad.json');
  writeFileSync(file, JSON.stringify({ clickhouse: { tcpPort: 70000 } }));
  assert.throws(() => loadConfig({ env: {}, file }), /config file .*bad\.json: clickhouse\.tcpPort/);
  // A delay past Node's 32-bit timer range would fire at once: refused with the field's name.
  writeFileSync(file, JSON.stringify({ agent: { heartbeatMs: 2 ** 31 } }));
  assert.throws(() => loadConfig({ env: {}, file }), /agent\.heartbeatMs: at most 2147483647 ms/);
  writeFileSync(file, '{not json');
  assert.throws(() => loadConfig({ env: {}, file }), /is not valid JSON/);
  assert.throws(() => loadConfig({ env: {}, file: join(dir, 'missing.json') }), /cannot read config file/);
});

test('the stack Jaeger ports: defaults are Jaeger\'s own, TAPFLEET_JAEGER_* move them (the test stack does)', () => {
  assert.deepEqual(loadConfig({ env: {} }).jaeger, { otlpHttpPort: 4318, otlpGrpcPort: 4317, queryPort: 16686 });
  const c = loadConfig({ env: { TAPFLEET_JAEGER_OTLP_HTTP_PORT: '14318', TAPFLEET_JAEGER_OTLP_GRPC_PORT: '14317', TAPFLEET_JAEGER_QUERY_PORT: '26686' } });
  assert.deepEqual(c.jaeger, { otlpHttpPort: 14318, otlpGrpcPort: 14317, queryPort: 26686 });
  assert.throws(() => loadConfig({ env: { TAPFLEET_JAEGER_QUERY_PORT: '70000' } }), /jaeger\.queryPort/);
});
