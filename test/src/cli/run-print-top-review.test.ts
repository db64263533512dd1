/**
 * Review findings (helper R) on print(@m, top, div), side by side with bpftrace 0.17 on the
 * deterministic workload of run-print-top.test.ts. Both fail on the code reviewed:
 * - a string-valued map's top entries are the last `top` by key in bpftrace, in tapfleet whichever
 *   the map's hash order puts last;
 * - bpftrace divides a hist()'s bucket counts by `div` (not an lhist()'s); tapfleet divides neither.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '@tapfleet/runtime';

const dir = mkdtempSync(join(tmpdir(), 'tf-print-top-review-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

/** Renames itself, then for k = 1..6 writes k bytes to /dev/null k times. */
const WORKLOAD = file('workload.py', `import os, sys
open('/proc/self/comm', 'w').write(sys.argv[1])
fd = os.open('/dev/null', os.O_WRONLY)
for k in range(1, 7):
    for _ in range(k):
        os.write(fd, b'x' * k)
`);
const COMMAND = `/usr/bin/python3 ${WORKLOAD} tftopr`;

/** Map header lines, and histogram rows as `label count` (the column widths differ, the numbers must not). */
const printed = (stdout: string) =>
  stdout
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.startsWith('@') || l.startsWith('['))
    .map((l) => (l.startsWith('[') ? l.replace(/^(\[[^\]]*[\])])\s+(\d+) \|.*$/, '$1 $2') : l));

function both(body: string, end: string): { tf: string[]; bt: string[] } {
  const tap = file('r.tap', `probe tracepoint:syscalls:sys_enter_write /comm == "tftopr"/ { ${body.replace(/COUNT/g, 'args.count')} }\nprobe end { ${end} }\n`);
  const tf = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'tapfleet.js'), 'run', tap, '-c', COMMAND], { encoding: 'utf8', timeout: 90_000 });
  assert.equal(tf.status, 0, tf.stderr);
  const bt = spawnSync('bpftrace', ['-e', `tracepoint:syscalls:sys_enter_write /comm == "tftopr"/ { ${body.replace(/COUNT/g, 'args->count')} } END { ${end} }`, '-c', COMMAND], { encoding: 'utf8', timeout: 90_000 });
  assert.equal(bt.status, 0, bt.stderr);
  return { tf: printed(tf.stdout), bt: printed(bt.stdout) };
}

test('print(@m, top) of a string-valued map shows the entries bpftrace shows (the last by key)', () => {
  const { tf, bt } = both('@s[COUNT] = comm;', 'print(@s, 2);');
  assert.deepEqual(bt.slice(0, 2), ['@s[5]: tftopr', '@s[6]: tftopr'], 'bpftrace prints what this test expects');
  assert.deepEqual(tf, bt);
});

test('print(@h, top, div) divides a hist()\'s bucket counts as bpftrace does', () => {
  const { tf, bt } = both('@h[COUNT % 3] = hist(COUNT);', 'print(@h, 1, 2);');
  assert.deepEqual(bt.slice(0, 3), ['@h[0]:', '[2, 4) 1', '[4, 8) 3'], 'bpftrace prints what this test expects');
  assert.deepEqual(tf, bt);
});
