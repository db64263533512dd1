import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { AckPolicy } from '@nats-io/jetstream';
import { connectJetStream, createClickHouse, createRedis } from '@tapfleet/runtime';
import { stackDown, stackStatus, stackUp, processStartTime, isPortOpen, StackError } from '@tapfleet/stack';
import { isolatedStackConfig, testLogger } from '../stack-harness.js';

const log = testLogger('stack');

describe('tapfleet stack: from nothing, used, restarted idempotently, stopped', () => {
  const config = isolatedStackConfig(24000);
  let pids: number[] = [];
  after(async () => {
    await stackDown(config, log);
    rmSync(config.dataDir, { recursive: true, force: true });
  });

  test('up starts all three servers on loopback and reports them started', async () => {
    const reports = await stackUp(config, log);
    assert.deepEqual(reports.map((r) => [r.name, r.state]), [['nats', 'started'], ['clickhouse', 'started'], ['redis', 'started']]);
    pids = reports.map((r) => r.pid!);
    for (const pid of pids) assert.ok(processStartTime(pid), `pid ${pid} should be alive`);
    assert.deepEqual(reports.map((r) => r.address), ['127.0.0.1:24001', '127.0.0.1:24003', '127.0.0.1:24005']);
  });

  test('JetStream: publish with a message id, then a durable pull consumer receives and acks it', async () => {
    const { nc, js, jsm } = await connectJetStream(config, { name: 'stack-smoke' });
    try {
      await jsm.streams.add({ name: 'SMOKE', subjects: ['smoke.>'] });
      const first = await js.publish('smoke.a', new TextEncoder().encode('hello'), { msgID: 'm-1' });
      const again = await js.publish('smoke.a', new TextEncoder().encode('hello'), { msgID: 'm-1' });
      assert.equal(first.duplicate, false);
      assert.equal(again.duplicate, true, 'the same Nats-Msg-Id is stored once');
      await jsm.consumers.add('SMOKE', { durable_name: 'smoke-reader', ack_policy: AckPolicy.Explicit });
      const consumer = await js.consumers.get('SMOKE', 'smoke-reader');
      const msg = await consumer.next({ expires: 5000 });
      assert.ok(msg);
      assert.equal(new TextDecoder().decode(msg.data), 'hello');
      await msg.ackAck();
      const info = await jsm.consumers.info('SMOKE', 'smoke-reader');
      assert.equal(info.num_ack_pending, 0);
      assert.equal(info.delivered.stream_seq, 1);
    } finally {
      await nc.close();
    }
  });

  test('ClickHouse: create, insert, select through the client factory', async () => {
    const admin = createClickHouse(config, { database: 'default' });
    await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${config.clickhouse.database}` });
    await admin.close();
    const ch = createClickHouse(config);
    try {
      await ch.command({ query: 'CREATE TABLE IF NOT EXISTS smoke (host String, seq UInt64) ENGINE = MergeTree ORDER BY (host, seq)' });
      await ch.insert({ table: 'smoke', values: [{ host: 'a', seq: 1 }, { host: 'a', seq: 2 }, { host: 'b', seq: 1 }], format: 'JSONEachRow' });
      const rs = await ch.query({ query: 'SELECT host, count() AS n FROM smoke GROUP BY host ORDER BY host', format: 'JSONEachRow' });
      assert.deepEqual(await rs.json(), [{ host: 'a', n: '2' }, { host: 'b', n: '1' }]);
    } finally {
      await ch.close();
    }
  });

  test('Redis: set and get through the client factory', async () => {
    const redis = createRedis(config);
    try {
      await redis.connect();
      await redis.set('tapfleet:smoke', 'ok');
      assert.equal(await redis.get('tapfleet:smoke'), 'ok');
    } finally {
      redis.disconnect();
    }
  });

  test('a second up is idempotent: same processes, reported running', async () => {
    const reports = await stackUp(config, log);
    assert.deepEqual(reports.map((r) => r.state), ['running', 'running', 'running']);
    assert.deepEqual(reports.map((r) => r.pid), pids);
    const status = await stackStatus(config);
    assert.deepEqual(status.map((r) => r.state), ['running', 'running', 'running']);
  });

  test('down stops exactly what it started; no process or port remains', async () => {
    const reports = await stackDown(config, log);
    assert.deepEqual(reports.map((r) => r.pid), pids);
    for (const pid of pids) assert.equal(processStartTime(pid), undefined, `pid ${pid} should be gone`);
    for (const port of [24001, 24002, 24003, 24004, 24005]) assert.equal(await isPortOpen('127.0.0.1', port), false, `port ${port} should be closed`);
    const status = await stackStatus(config);
    assert.deepEqual(status.map((r) => r.state), ['stopped', 'stopped', 'stopped']);
  });
});

describe('tapfleet stack: ports held by others', () => {
  test('a port taken by something unhealthy fails up with a clear error, before anything starts', async () => {
    const config = isolatedStackConfig(25000);
    // Accepts connections and never answers: not a redis-server.
    const silent: Server = createServer(() => {});
    await new Promise<void>((r) => silent.listen(25005, '127.0.0.1', r));
    try {
      await assert.rejects(stackUp(config, log), (e: unknown) => {
        assert.ok(e instanceof StackError);
        assert.match(e.message, /127\.0\.0\.1:25005 is taken by something that does not answer as redis-server/);
        return true;
      });
      for (const port of [25001, 25003]) assert.equal(await isPortOpen('127.0.0.1', port), false, 'nothing else was started');
    } finally {
      silent.close();
      await stackDown(config, log);
      rmSync(config.dataDir, { recursive: true, force: true });
    }
  });

  test('a healthy server already on the port is reused and left running by down', async () => {
    const config = isolatedStackConfig(26000);
    const dir = mkdtempSync(join(tmpdir(), 'tf-redis-'));
    const redis = spawn('redis-server', ['--bind', '127.0.0.1', '--port', '26005', '--dir', dir, '--save', ''], { stdio: 'ignore' });
    try {
      const deadline = Date.now() + 5000;
      while (!(await isPortOpen('127.0.0.1', 26005)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const reports = await stackUp(config, log);
      assert.deepEqual(reports.map((r) => r.state), ['started', 'started', 'reused']);
      assert.equal(reports[2]?.pid, undefined);
      await stackDown(config, log);
      assert.ok(processStartTime(redis.pid!), 'the reused redis-server is still running');
      assert.equal(await isPortOpen('127.0.0.1', 26001), false);
    } finally {
      redis.kill('SIGTERM');
      await stackDown(config, log);
      rmSync(config.dataDir, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
