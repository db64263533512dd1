import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createRedis, DEFAULT_DATA_DIR, loadConfig } from '@tapfleet/runtime';
import { eventually } from '../fleet/fleet-harness.js';

/**
 * `redis.sentinel`: a master, a replica and a sentinel (Debian's redis-server in its three roles)
 * on loopback. The client finds the master through the sentinel, and after kill -9 of the master
 * it finds the promoted replica by itself: what was written before is still there, and writes go on.
 */
const BASE = 39850;
const MASTER = BASE, REPLICA = BASE + 1, SENTINEL = BASE + 2;
const PASSWORD = 'sentinel-test-password';
const dir = mkdtempSync(join(DEFAULT_DATA_DIR, 'test-sentinel-'));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (!process.env.KEEP) rmSync(dir, { recursive: true, force: true });
});

function redisServer(name: string, conf: string, extra: string[] = []): ChildProcess {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  const file = join(d, 'redis.conf');
  writeFileSync(file, `bind 127.0.0.1\ndir ${d}\nsave ""\nappendonly no\n${conf}`);
  const child = spawn('redis-server', [file, ...extra], { stdio: 'ignore' });
  children.push(child);
  return child;
}


test('redis.sentinel: the client finds the master through Sentinel and follows a failover after kill -9 of the master', async () => {
  const master = redisServer('master', `port ${MASTER}\nrequirepass ${PASSWORD}\nmasterauth ${PASSWORD}\n`);
  redisServer('replica', `port ${REPLICA}\nrequirepass ${PASSWORD}\nmasterauth ${PASSWORD}\nreplicaof 127.0.0.1 ${MASTER}\n`);
  // Sentinel rewrites its config file, so it gets one of its own; 1 s without answers = down.
  redisServer('sentinel', `port ${SENTINEL}\nsentinel monitor tfmaster 127.0.0.1 ${MASTER} 1\nsentinel auth-pass tfmaster ${PASSWORD}\nsentinel down-after-milliseconds tfmaster 1000\nsentinel failover-timeout tfmaster 5000\n`, ['--sentinel']);
  const config = loadConfig({ env: {}, overrides: { dataDir: dir, redis: { url: 'redis://127.0.0.1:1', password: PASSWORD, sentinel: { masterName: 'tfmaster', nodes: [`127.0.0.1:${SENTINEL}`] } } } });
  const redis = createRedis(config);
  redis.on('error', () => {}); // reconnects are expected here; each command's result is asserted
  try {
    await eventually('the client to reach the master through the sentinel', async () => {
      if (redis.status === 'wait') await redis.connect();
      return (await redis.set('tf:before', 'kept')) === 'OK' ? true : undefined;
    }, 30_000);
    assert.match(await redis.info('server'), new RegExp(`tcp_port:${MASTER}\\b`), 'the master the sentinel named, not the url\'s port');
    // The replica must hold the key before the master dies, or the failover would lose it.
    await eventually('the replica to catch up', async () => ((await redis.wait(1, 1000)) >= 1 ? true : undefined));
    // Sentinel learns of replicas from the master's INFO, every 10 s: a failover before that has
    // no replica to promote. Asked directly (the sentinel, not the product's client).
    const sentinel = new Redis({ host: '127.0.0.1', port: SENTINEL, lazyConnect: true });
    try {
      await sentinel.connect();
      await eventually('the sentinel to know the replica', async () => {
        const replicas = (await sentinel.call('SENTINEL', 'REPLICAS', 'tfmaster')) as string[][];
        return replicas.some((r) => r.includes(String(REPLICA))) ? true : undefined;
      }, 30_000);
    } finally {
      sentinel.disconnect();
    }
    master.kill('SIGKILL');
    const after = await eventually('a write after the failover', async () => ((await redis.set('tf:after', 'written')) === 'OK' ? true : undefined), 60_000);
    assert.equal(after, true);
    assert.equal(await redis.get('tf:before'), 'kept', 'written before the failover, read from the promoted replica');
    const role = await redis.call('ROLE') as unknown[];
    assert.equal(role[0], 'master', 'the client now talks to the promoted replica');
    const info = await redis.info('server');
    assert.match(info, new RegExp(`tcp_port:${REPLICA}\\b`), 'the promoted replica is the one at its own port');
  } finally {
    redis.disconnect();
  }
});
