/**
 * print(@m, top, div) and the maps printed at exit, side by side with bpftrace 0.17 on one
 * deterministic workload: every line a map prints is the same, in the same order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '@tapfleet/runtime';

const dir = mkdtempSync(join(tmpdir(), 'tf-print-top-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

/** Renames itself, then for k = 1..6 writes k bytes to /dev/null k times: count k, sum k*k per size. */
const WORKLOAD = file('workload.py', `import os, sys
open('/proc/self/comm', 'w').write(sys.argv[1])
fd = os.open('/dev/null', os.O_WRONLY)
for k in range(1, 7):
    for _ in range(k):
        os.write(fd, b'x' * k)
`);
const COMMAND = `/usr/bin/python3 ${WORKLOAD} tftop`;
const BODY = '@w[COUNT] = count(); @b[COUNT] = sum(COUNT); @a[COUNT] = avg(COUNT * 3);';
const PRINTS = 'print(@w, 3); print(@b, 2, 10); print(@a, 2, 2);';

/** What maps print: header lines and histogram rows, as printed (the same widths as bpftrace's). */
const printed = (stdout: string) => stdout.split('\n').map((l) => l.trimEnd()).filter((l) => l.startsWith('@') || l.startsWith('['));

/** One script body and end probe, run by tapfleet and by bpftrace on the workload: their printed maps. */
function both(body: string, end: string): { tf: string[]; bt: string[] } {
  const tap = file('top.tap', `probe tracepoint:syscalls:sys_enter_write /comm == "tftop"/ { ${body.replace(/COUNT/g, 'args.count')} }\nprobe end { ${end} }\n`);
  const tf = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'tapfleet.js'), 'run', tap, '-c', COMMAND], { encoding: 'utf8', timeout: 90_000 });
  assert.equal(tf.status, 0, tf.stderr);
  const bt = spawnSync('bpftrace', ['-e', `tracepoint:syscalls:sys_enter_write /comm == "tftop"/ { ${body.replace(/COUNT/g, 'args->count')} } END { ${end} }`, '-c', COMMAND], { encoding: 'utf8', timeout: 90_000 });
  assert.equal(bt.status, 0, bt.stderr);
  return { tf: printed(tf.stdout), bt: printed(bt.stdout) };
}

test('print(@m, top, div) and the maps at exit print what bpftrace prints, line for line', () => {
  const { tf, bt } = both(BODY, PRINTS);
  const expectedTop = ['@w[4]: 4', '@w[5]: 5', '@w[6]: 6', '@b[5]: 2', '@b[6]: 3', '@a[5]: 7', '@a[6]: 9'];
  // At exit, every map by name: @a (the averages 3k), @b (k*k), @w (k).
  const atExit = [1, 2, 3, 4, 5, 6].map((k) => `@a[${k}]: ${3 * k}`).concat([1, 2, 3, 4, 5, 6].map((k) => `@b[${k}]: ${k * k}`), [1, 2, 3, 4, 5, 6].map((k) => `@w[${k}]: ${k}`));
  assert.deepEqual(bt, [...expectedTop, ...atExit], 'bpftrace prints what this test expects');
  assert.deepEqual(tf, bt);
});

// Found by review: string values ordered by key, hist() buckets divided (lhist() ones not).
test('print(@m, top) of a string-valued map shows the entries bpftrace shows (the last by key)', () => {
  const { tf, bt } = both('@s[COUNT] = comm;', 'print(@s, 2);');
  assert.deepEqual(bt.slice(0, 2), ['@s[5]: tftop', '@s[6]: tftop'], 'bpftrace prints what this test expects');
  assert.deepEqual(tf, bt);
});

test('print(@h, top, div) divides a hist()\'s bucket counts as bpftrace does; histogram rows as bpftrace lays them out', () => {
  const { tf, bt } = both('@h[COUNT % 3] = hist(COUNT);', 'print(@h, 1, 2);');
  const row = (label: string, n: number, bar: number) => `${label.padEnd(16)}${String(n).padStart(8)} |${'@'.repeat(bar).padEnd(52)}|`;
  assert.deepEqual(bt.slice(0, 3), ['@h[0]:', row('[2, 4)', 1, 26), row('[4, 8)', 3, 52)], 'bpftrace prints what this test expects (the counts divided, the bars drawn from the counts 3 and 6)');
  assert.deepEqual(tf, bt);
});

test('print()\'s extra arguments are integer constants within bounds, each fault at its file:line:col', () => {
  const check = (text: string) => spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'tapfleet.js'), 'check', file('bad.tap', text)], { encoding: 'utf8', timeout: 60_000 });
  const head = 'probe tracepoint:syscalls:sys_enter_write { @w[args.count] = count(); }\n';
  const notConstant = check(`${head}probe end { print(@w, pid); }\n`);
  assert.equal(notConstant.status, 1);
  assert.match(notConstant.stderr, /bad\.tap:2:23: error: print\(\)'s second argument \(how many of the largest entries\) must be an integer constant, found/);
  const tooMany = check(`${head}probe end { print(@w, 1000000); }\n`);
  assert.match(tooMany.stderr, /bad\.tap:2:23: error: print\(\) shows at most the 100000 largest entries, not 1000000/);
  const zeroDiv = check(`${head}probe end { print(@w, 5, 0); }\n`);
  assert.match(zeroDiv.stderr, /bad\.tap:2:26: error: print\(\)'s divisor must be at least 1/);
  const inKernel = check('probe tracepoint:syscalls:sys_enter_write { @w[args.count] = count(); print(@w, 3); }\n');
  assert.match(inKernel.stderr, /bad\.tap:1:71: error: print\(\) runs in user space: use it in interval, begin or end probes/);
});
