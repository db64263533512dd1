import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { loadConfig } from '@tapfleet/runtime';
import { join } from 'node:path';
import { serviceDirs, writePidRecord } from '@tapfleet/stack';
import { lastLogLine, ProcessWatch } from './process-watch.js';

test('the watch names a main-job process that died, with its log\'s last line, once; a live one and one never started are not named', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tf-demo-watch-'));
  const config = { ...loadConfig({ env: {} }), dataDir };
  const procs = ['demo-risk', 'demo-gateway'].map((name) => {
    const dirs = serviceDirs(config, name);
    mkdirSync(dirs.root, { recursive: true });
    const child = spawn('sleep', ['600'], { stdio: 'ignore' });
    writePidRecord(dirs.pidFile, child.pid!, 'sleep 600');
    appendFileSync(dirs.logFile, `${name}: ready\n${name}: the next stage closed the connection: stopping\n\n`);
    return child;
  });
  try {
    const watch = new ProcessWatch(config, ['demo-risk', 'demo-gateway', 'demo-matcher']);
    assert.equal(watch.size, 2, 'demo-matcher has no pid record: not watched');
    assert.deepEqual(watch.lost(), []);
    const [risk, gateway] = procs;
    const exited = new Promise((r) => risk!.on('exit', r));
    risk!.kill('SIGKILL');
    await exited;
    const lost = watch.lost();
    assert.deepEqual(lost.map((l) => [l.name, l.pid, l.lastLine]), [['demo-risk', risk!.pid, 'demo-risk: the next stage closed the connection: stopping']]);
    assert.equal(lost[0]!.logFile, serviceDirs(config, 'demo-risk').logFile);
    assert.deepEqual(watch.lost(), [], 'reported once');
    assert.equal(gateway!.exitCode, null);
  } finally {
    for (const p of procs) p.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('lastLogLine: the last non-empty line; empty for a missing file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-demo-log-'));
  try {
    const f = join(dir, 'x.log');
    appendFileSync(f, `${'x'.repeat(20_000)}\nfirst\nlast one\n\n`);
    assert.equal(lastLogLine(f), 'last one');
    assert.equal(lastLogLine(join(dir, 'missing.log')), '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
