import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processStartTime, writePidRecord } from '@tapfleet/stack';
import { DemoClient } from './demo-client.js';

test('a client left running by a killed run is stopped by the next one, by its pid record; a recycled pid is not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-demo-client-'));
  try {
    const pidFile = join(dir, 'demo-client.pid');
    const orphan = spawn('sleep', ['600'], { stdio: 'ignore' });
    const gone = new Promise((r) => orphan.on('exit', r));
    writePidRecord(pidFile, orphan.pid!, 'sleep 600');
    assert.equal(await DemoClient.stopLeftover(pidFile), orphan.pid);
    await gone;
    assert.equal(processStartTime(orphan.pid!), undefined);
    assert.equal(existsSync(pidFile), false);
    assert.equal(await DemoClient.stopLeftover(pidFile), undefined, 'nothing left: nothing to stop');

    // The same pid with another start time (the pid reused by an unrelated process) is left alone.
    const other = spawn('sleep', ['600'], { stdio: 'ignore' });
    try {
      writeFileSync(pidFile, JSON.stringify({ pid: other.pid, startTime: '1', command: 'tf-demo-client' }));
      assert.equal(await DemoClient.stopLeftover(pidFile), undefined);
      assert.notEqual(processStartTime(other.pid!), undefined, 'the unrelated process still runs');
    } finally {
      other.kill('SIGKILL');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
