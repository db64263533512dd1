import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tmpdir } from 'node:os';
import { demoRunAlive, readDemoRun, removeDemoRun, writeDemoRun } from './demo-run.js';

test('the demo run record: this process, alive; a dead or recycled pid is not; garbage reads as none; removed only by its writer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-demo-run-'));
  try {
    const file = join(dir, 'stack', 'demo', 'demo-run.json');
    assert.equal(readDemoRun(file), undefined);
    writeDemoRun(file, ['nats', 'demo-risk']);
    const rec = readDemoRun(file);
    assert.equal(rec?.pid, process.pid);
    assert.deepEqual(rec?.services, ['nats', 'demo-risk']);
    assert.ok(demoRunAlive(rec));
    assert.equal(demoRunAlive({ ...rec!, startTime: '1' }), false, 'same pid, other start time: a recycled pid');

    writeFileSync(file, JSON.stringify({ pid: 1, startTime: 'x', command: 'other', services: ['nats'] }));
    removeDemoRun(file);
    assert.ok(existsSync(file), "another process's record is left for it");
    writeFileSync(file, '{not json');
    assert.equal(readDemoRun(file), undefined);
    mkdirSync(dirname(file), { recursive: true });
    writeDemoRun(file, []);
    removeDemoRun(file);
    assert.equal(existsSync(file), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
