/**
 * Review findings (helper R) on `tapfleet run`, each failing on the code reviewed:
 * - --folded with an end probe's print(@k): every stack line printed twice (the end probe's print,
 *   then the maps at exit), so a flame graph counts each sample twice;
 * - interval:s:N over ~24.8 days: Node's setInterval takes it as 1 ms and the probe fires every
 *   millisecond (with a TimeoutOverflowWarning);
 * - clear(@m) in an end probe clears nothing (the runner has stopped): bpftrace's idiom
 *   `END { clear(@start); }`, which keeps a helper map out of the maps printed at exit, prints it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '@tapfleet/runtime';

const dir = mkdtempSync(join(tmpdir(), 'tf-run-review-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const run = (args: string[]) => spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'tapfleet.js'), 'run', ...args], { encoding: 'utf8', timeout: 90_000 });

test('--folded prints each stack once although an end probe printed the map', () => {
  const workload = file('w.py', "import os\nopen('/proc/self/comm', 'w').write('tffold')\nfd = os.open('/dev/null', os.O_WRONLY)\nfor _ in range(20):\n    os.write(fd, b'x')\n");
  const tap = file('fold.tap', 'probe tracepoint:syscalls:sys_enter_write /comm == "tffold"/ { @k[kstack] = count(); }\nprobe end { print(@k); }\n');
  const r = run(['--folded', tap, '-c', `/usr/bin/python3 ${workload}`]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n').filter(Boolean);
  const total = lines.reduce((n, l) => n + Number(l.split(' ').pop()), 0);
  assert.ok(lines.length > 0);
  assert.equal(new Set(lines).size, lines.length, `no stack line twice:\n${r.stdout}`);
  assert.equal(total, 20, 'the flame graph counts each of the 20 writes once');
});

test('an interval longer than Node\'s timer range does not fire every millisecond', () => {
  const tap = file('iv.tap', 'probe interval:s:2200000 { printf("tick\\n"); }\n');
  const r = run([tap, '-d', '1s']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.split('\n').filter((l) => l === 'tick').length, 0, 'a 25-day interval does not fire within 1 s');
  assert.doesNotMatch(r.stderr, /TimeoutOverflowWarning/);
});

test('clear(@m) in an end probe keeps @m out of the maps printed at exit, as in bpftrace', () => {
  const workload = file('c.py', "import os\nopen('/proc/self/comm', 'w').write('tfclear')\nfd = os.open('/dev/null', os.O_WRONLY)\nfor k in range(1, 4):\n    os.write(fd, b'x' * k)\n");
  const tap = file('clear.tap', 'probe tracepoint:syscalls:sys_enter_write /comm == "tfclear"/ { @start[args.count] = nsecs; @n = count(); }\nprobe end { clear(@start); }\n');
  const r = run([tap, '-c', `/usr/bin/python3 ${workload}`]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.split('\n').filter((l) => l.startsWith('@')), ['@n: 3']);
});
