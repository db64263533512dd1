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

const mapLines = (stdout: string) => stdout.split('\n').filter((l) => l.startsWith('@'));

test('print(@m, top, div) and the maps at exit print what bpftrace prints, line for line', () => {
  const tap = file('top.tap', `probe tracepoint:syscalls:sys_enter_write /comm == "tftop"/ { ${BODY.replace(/COUNT/g, 'args.count')} }\nprobe end { ${PRINTS} }\n`);
  const tf = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'tapfleet.js'), 'run', tap, '-c', COMMAND], { encoding: 'utf8', timeout: 90_000 });
  assert.equal(tf.status, 0, tf.stderr);
  const bt = spawnSync('bpftrace', ['-e', `tracepoint:syscalls:sys_enter_write /comm == "tftop"/ { ${BODY.replace(/COUNT/g, 'args->count')} } END { ${PRINTS} }`, '-c', COMMAND], { encoding: 'utf8', timeout: 90_000 });
  assert.equal(bt.status, 0, bt.stderr);
  const expectedTop = ['@w[4]: 4', '@w[5]: 5', '@w[6]: 6', '@b[5]: 2', '@b[6]: 3', '@a[5]: 7', '@a[6]: 9'];
  // At exit, every map by name: @a (the averages 3k), @b (k*k), @w (k).
  const atExit = [1, 2, 3, 4, 5, 6].map((k) => `@a[${k}]: ${3 * k}`).concat([1, 2, 3, 4, 5, 6].map((k) => `@b[${k}]: ${k * k}`), [1, 2, 3, 4, 5, 6].map((k) => `@w[${k}]: ${k}`));
  assert.deepEqual(mapLines(bt.stdout), [...expectedTop, ...atExit], 'bpftrace prints what this test expects');
  assert.deepEqual(mapLines(tf.stdout), mapLines(bt.stdout));
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
