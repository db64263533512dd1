import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '@tapfleet/runtime';

/**
 * bpftrace's rate pattern, `interval:ms:N { print(@); clear(@); }`: each print shows what came
 * since the last clear. A keyless map is a one-slot per-CPU array in the kernel, whose slot
 * cannot be deleted: clear() must zero it, or the prints are running totals.
 */
test('clear() empties keyless aggregations (one-slot arrays) as it does keyed ones: each interval prints only its own hits', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-clear-'));
  try {
    const script = join(dir, 'rate.tap');
    writeFileSync(script, [
      'probe tracepoint:syscalls:sys_enter_lseek /args.offset == 4242/ { @c = count(); @s = sum(args.offset); @k[comm] = count(); }',
      'probe interval:ms:300 { print(@c); print(@s); print(@k); clear(@c); clear(@s); clear(@k); }',
    ].join('\n'));
    // Three bursts of ten marked lseek()s, each in its own interval.
    const workload = '/usr/bin/python3.11 -c "import os, time\nfd = os.open(\'/dev/null\', os.O_RDONLY)\nfor _ in range(3):\n  [os.lseek(fd, 4242, 0) for _ in range(10)]\n  time.sleep(0.9)"';
    const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'tapfleet.js'), 'run', script, '-c', workload], { encoding: 'utf8', cwd: PROJECT_ROOT, timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const values = (name: string) => [...r.stdout.matchAll(new RegExp(`^${name}: (\\d+)$`, 'gm'))].map((m) => Number(m[1]));
    const counts = values('@c');
    assert.ok(counts.length >= 3, r.stdout);
    assert.deepEqual(counts.filter((n) => n > 0), [10, 10, 10], `each burst alone, not a running total:\n${r.stdout}`);
    assert.deepEqual(values('@s').filter((n) => n > 0), [42420, 42420, 42420], r.stdout);
    assert.deepEqual(values('@k\\[python3\\.11\\]'), [10, 10, 10], r.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
