import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_DATA_DIR } from '@tapfleet/runtime';
import { isPortOpen, readPidFile, StackError, startService, stopOwned, withTimeout, type ServiceDirs, type StackService } from '@tapfleet/stack';
import { testLogger } from '../stack-harness.js';

const log = testLogger('start-wait');

/**
 * A stand-in server (node -e): prints `lines` progress lines 100 ms apart, then listens on
 * `port`; or, with `dieWith`, prints it and exits 3. Healthy means the port answers.
 */
function fakeService(name: string, port: number, o: { lines?: number; dieWith?: string; startTimeoutMs: number }): StackService {
  const script = o.dieWith
    ? `console.log(${JSON.stringify(o.dieWith)}); process.exit(3);`
    : `let n = 0; const t = setInterval(() => { console.log('loading ' + ++n); if (n >= ${o.lines ?? 0}) { clearInterval(t); require('net').createServer(() => {}).listen(${port}, '127.0.0.1'); } }, 100);`;
  return {
    name: 'redis', // any stack name: startService does not look services up by name
    binary: process.execPath,
    host: '127.0.0.1',
    port,
    extraPorts: [],
    startTimeoutMs: o.startTimeoutMs,
    prepare: () => ['-e', script],
    async checkHealth() {
      if (!(await withTimeout(isPortOpen('127.0.0.1', port, 300), 500, name))) throw new Error(`${name} not listening yet`);
    },
  };
}

describe('stack start-up waits: deadline-based, patient with a live process, fast on a dead one', () => {
  mkdirSync(DEFAULT_DATA_DIR, { recursive: true });
  const root = mkdtempSync(join(DEFAULT_DATA_DIR, 'test-start-wait-'));
  const started: ServiceDirs[] = [];
  const dirsFor = (name: string): ServiceDirs => {
    const dir = join(root, name);
    const d = { root: dir, data: join(dir, 'data'), logFile: join(dir, `${name}.log`), pidFile: join(dir, `${name}.pid`) };
    mkdirSync(dir, { recursive: true });
    started.push(d);
    return d;
  };
  after(async () => {
    for (const d of started) {
      const rec = readPidFile(d.pidFile);
      if (rec) await stopOwned(rec, 2000);
    }
    rmSync(root, { recursive: true, force: true });
  });

  test('a server that logs its progress and opens its port after 3x its budget still counts as started', async () => {
    const svc = fakeService('slow', 32101, { lines: 30, startTimeoutMs: 1000 });
    const report = await startService(svc, dirsFor('slow'), log);
    assert.equal(report.state, 'started');
    assert.equal(await isPortOpen('127.0.0.1', 32101), true);
  });

  test('a stall of this process (a synchronous step elsewhere, as a Maven fetch was) does not spend a healthy server\'s budget', async () => {
    const svc = fakeService('stalled', 32102, { lines: 2, startTimeoutMs: 1000 });
    const dirs = dirsFor('stalled');
    const waiting = startService(svc, dirs, log);
    // Once the pid file exists the server is spawned and the wait's first check is in flight:
    // block the event loop for twice the budget then.
    while (!existsSync(dirs.pidFile)) await new Promise((r) => setTimeout(r, 2));
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2000);
    const report = await waiting;
    assert.equal(report.state, 'started');
  });

  test('a server that dies during start-up fails the wait at once, with its log tail', async () => {
    const svc = fakeService('dies', 32103, { dieWith: 'fatal: bad config line 7', startTimeoutMs: 60_000 });
    await assert.rejects(startService(svc, dirsFor('dies'), log), (e: unknown) => {
      assert.ok(e instanceof StackError);
      assert.match(e.message, /exited during start-up/);
      assert.match(e.message, /fatal: bad config line 7/);
      return true;
    });
  });

  test('a live server that never answers fails after at most 6x its budget (progress or not), naming the reason and log', async () => {
    const svc = fakeService('mute', 32104, { lines: 1_000_000, startTimeoutMs: 500 });
    // Progress (log lines) renews the budget only up to 6x: the wait still ends.
    await assert.rejects(startService(svc, dirsFor('mute'), log), (e: unknown) => {
      assert.ok(e instanceof StackError);
      assert.match(e.message, /not healthy after [0-9.]+ s \(mute not listening yet\); read .*mute\.log/);
      return true;
    });
  });
});
