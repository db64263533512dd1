/**
 * bpftrace's own spellings run unchanged under tapfleet run, side by side with bpftrace 0.17 on
 * the same workload: probe clauses without `probe`, BEGIN/END, short kinds, several points.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bpftrace as bpftraceSideBySide, printedLines, tapfleetIn, writerWorkers } from './side-by-side.js';

const work = mkdtempSync(join(tmpdir(), 'tf-run-bt-syntax-'));
const workers = writerWorkers(work);
after(() => {
  workers.stop();
  rmSync(work, { recursive: true, force: true });
});
const worker = workers.start;
const tapfleet = tapfleetIn(join(work, 'data'));
const bpftrace = (program: string, ...params: string[]) => bpftraceSideBySide([], program, ...params);
const lines = printedLines;
/** Counts depend on the window; which keys appear does not. */
const shape = (out: string) => lines(out).map((l) => l.replace(/: \d+$/, ': N'));

test('the same text runs under both: BEGIN, a tracepoint clause without probe, a short kind, interval, END', () => {
  const pid = worker(7);
  const program = [
    'BEGIN { printf("tracing %d\\n", $1); }',
    'tracepoint:syscalls:sys_enter_write /pid == $1/ { @sizes[args->count] = count(); }',
    't:syscalls:sys_exit_write /pid == $1/ { @ret = max(args->ret); }',
    'interval:s:1 { exit(); }',
    'END { printf("done\\n"); }',
  ].join('\n');
  const bt = bpftrace(program, String(pid));
  assert.equal(bt.code, 0, bt.stderr);
  const expected = [`tracing ${pid}`, 'done', '@ret: N', '@sizes[7]: N'];
  assert.deepEqual(shape(bt.stdout), expected, 'bpftrace prints what this test expects');
  const tf = tapfleet('run', '-e', program, String(pid));
  assert.equal(tf.code, 0, tf.stderr);
  assert.deepEqual(shape(tf.stdout), expected);
  assert.match(tf.stdout, /^@ret: 7$/m, 'each write returns its 7 bytes');
});

test('several points share a body without probe, as in bpftrace; the probe keyword still works next to them', () => {
  const pid = worker(3);
  const body = '/pid == $1/ { @[comm] = count(); }';
  const bt = bpftrace(`tracepoint:syscalls:sys_enter_write, tracepoint:syscalls:sys_exit_write ${body} interval:s:1 { exit(); }`, String(pid));
  assert.equal(bt.code, 0, bt.stderr);
  const tf = tapfleet('run', '-e', `tracepoint:syscalls:sys_enter_write, tracepoint:syscalls:sys_exit_write ${body} probe interval:s:1 { exit(); }`, String(pid));
  assert.equal(tf.code, 0, tf.stderr);
  assert.deepEqual(shape(tf.stdout), shape(bt.stdout));
  assert.deepEqual(shape(tf.stdout), ['@[python3]: N']);
  const n = Number(/^@\[python3\]: (\d+)$/m.exec(tf.stdout)![1]);
  assert.equal(n % 2, 0, `an enter and an exit per write (or the window cut one pair), got ${n}`);
});

test('a stray word before a point is one error at file:line:col whose hint shows both spellings', () => {
  const tf = tapfleet('run', '-e', 'prob tracepoint:syscalls:sys_enter_write { @n = count(); }');
  assert.equal(tf.code, 1);
  assert.equal(tf.stderr.match(/error:/g)?.length, 1, tf.stderr);
  assert.match(tf.stderr, /^-e:1:1: error: expected a probe point, 'probe', 'alias', 'hop' or 'final', found 'prob'$/m);
  assert.match(tf.stderr, /'POINT \[, POINT\] \[\/predicate\/\] \{ \.\.\. \}' \(or 'probe POINT \.\.\.'\)/);
});

/** A worker that says when it is in its loop, so both tools see only the loop's syscalls. */
async function steadyWorker(size: number): Promise<number> {
  const w = spawn('/usr/bin/python3', ['-c', `import os, sys, time
fd = os.open('/dev/null', os.O_WRONLY)
print('ready', flush=True)
while True:
    os.write(fd, b'x' * ${size})
    time.sleep(0.01)
`], { stdio: ['ignore', 'pipe', 'ignore'] });
  workers.adopt(w);
  await new Promise<void>((resolve) => w.stdout!.once('data', () => resolve()));
  return w.pid!;
}

test('tracepoint:syscalls:sys_enter_* attaches to every syscall tracepoint (360 here, as bpftrace), and @[probe] names each', async () => {
  const pid = await steadyWorker(5);
  const program = 'tracepoint:syscalls:sys_enter_* /pid == $1/ { @[probe] = count(); } interval:s:1 { exit(); }';
  const bt = bpftrace(program, String(pid));
  assert.equal(bt.code, 0, bt.stderr);
  const tf = tapfleet('run', '-e', program, String(pid));
  assert.equal(tf.code, 0, tf.stderr);
  const attached = /^Attaching (\d+) probes/m.exec(bt.stdout)![1];
  assert.match(tf.stderr, new RegExp(`^Attached ${attached} probes in`, 'm'), 'as many points as bpftrace attaches');
  const keys = (out: string) => shape(out).sort();
  assert.deepEqual(keys(bt.stdout), ['@[tracepoint:syscalls:sys_enter_clock_nanosleep]: N', '@[tracepoint:syscalls:sys_enter_write]: N'], 'bpftrace prints what this test expects');
  assert.deepEqual(keys(tf.stdout), keys(bt.stdout));
});

test('sys_enter_w* prints probe with printf("%s") as bpftrace does; tracepoint:sched:sched_s* attaches to what bpftrace -l lists', async () => {
  const pid = await steadyWorker(4);
  const program = 'tracepoint:syscalls:sys_enter_w* /pid == $1/ { printf("%s %s\\n", probe, comm); exit(); }';
  const bt = bpftrace(program, String(pid));
  assert.equal(bt.code, 0, bt.stderr);
  assert.deepEqual(lines(bt.stdout), ['tracepoint:syscalls:sys_enter_write python3'], 'bpftrace prints what this test expects');
  const tf = tapfleet('run', '-e', program, String(pid));
  assert.equal(tf.code, 0, tf.stderr);
  assert.deepEqual(lines(tf.stdout).filter((l) => !/^(Attached|tapfleet run:)/.test(l)), lines(bt.stdout));
  const list = spawnSync('bpftrace', ['-l', 'tracepoint:sched:sched_s*'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  const tfSched = tapfleet('run', '-e', 'tracepoint:sched:sched_s* { @[probe] = count(); } interval:ms:200 { exit(); }');
  assert.equal(tfSched.code, 0, tfSched.stderr);
  assert.match(tfSched.stderr, new RegExp(`^Attached ${list.length + 1} probes in`, 'm'), `bpftrace -l lists ${list.length}, plus the interval`);
  for (const l of lines(tfSched.stdout).filter((x) => x.startsWith('@[')))
    assert.ok(list.includes(/^@\[(.*)\]: \d+$/.exec(l)![1]!), `${l} is a point bpftrace lists`);
});

test('uprobe:/bin/bash:read* attaches to every matching function, as bpftrace does', () => {
  const list = spawnSync('bpftrace', ['-l', 'uprobe:/bin/bash:read*'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  assert.ok(list.length > 5, list.join('\n'));
  const tf = tapfleet('run', '-e', 'uprobe:/bin/bash:read* { @[probe] = count(); }', '-c', '/bin/bash -c "read x <<< hi"');
  assert.equal(tf.code, 0, tf.stderr);
  assert.match(tf.stderr, new RegExp(`^Attached ${list.length} probes in`, 'm'));
  assert.match(tf.stdout, /^@\[uprobe:\/bin\/bash:read_builtin\]: 1$/m, 'the read builtin ran once');
});

test('a pattern that matches nothing is one error naming it', () => {
  const tf = tapfleet('run', '-e', 'tracepoint:sched:nope_* { @[probe] = count(); }');
  assert.equal(tf.code, 1);
  assert.equal(tf.stderr.match(/error:/g)?.length, 1, tf.stderr);
  assert.match(tf.stderr, /^-e:1:1: error: no tracepoint matches tracepoint:sched:nope_\* on kernel /m);
});

test('stats() prints count, average and total as bpftrace does (text), and the three numbers in --json', async () => {
  const pid = await steadyWorker(7);
  const program = 'tracepoint:syscalls:sys_exit_write /pid == $1/ { @[comm] = stats(args->ret); @all = stats(args->ret); } interval:s:1 { exit(); }';
  const bt = bpftrace(program, String(pid));
  assert.equal(bt.code, 0, bt.stderr);
  const tf = tapfleet('run', '-e', program, String(pid));
  assert.equal(tf.code, 0, tf.stderr);
  const shapeStats = (out: string) => lines(out).map((l) => {
    const m = /^(@\S*): count (\d+), average (-?\d+), total (-?\d+)$/.exec(l);
    assert.ok(m, `a stats line: ${l}`);
    assert.equal(BigInt(m[4]!), BigInt(m[2]!) * 7n, `total is 7 bytes a write: ${l}`);
    return `${m[1]}: count N, average ${m[3]}, total 7N`;
  });
  const expected = ['@[python3]: count N, average 7, total 7N', '@all: count N, average 7, total 7N'];
  assert.deepEqual(shapeStats(bt.stdout), expected, 'bpftrace prints what this test expects');
  assert.deepEqual(shapeStats(tf.stdout), expected);
  const json = tapfleet('run', '--json', '-e', program, String(pid));
  assert.equal(json.code, 0, json.stderr);
  const maps = json.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((x) => x.type === 'map');
  const all = maps.find((m) => m.map === '@all');
  assert.equal(all.kind, 'stats');
  assert.equal(all.entries[0].average, 7);
  assert.equal(all.entries[0].total, all.entries[0].count * 7);
});

test('integer literals with exponents and _ separators read as bpftrace 0.17 reads them', () => {
  const program = 'BEGIN { printf("%d %d %d %d\\n", 1e6, 1_000_000, 0x1e3, 2e0); exit(); }';
  const bt = bpftrace(program);
  assert.equal(bt.code, 0, bt.stderr);
  assert.deepEqual(lines(bt.stdout), ['1000000 1000000 483 2'], 'bpftrace prints what this test expects');
  const tf = tapfleet('run', '-e', program);
  assert.equal(tf.code, 0, tf.stderr);
  assert.deepEqual(lines(tf.stdout), lines(bt.stdout));
});

test('cgroup is the cgroup id bpftrace reads; elapsed counts from the start (begin before an interval\'s tick, the tick at least its period in)', async () => {
  const pid = await steadyWorker(2);
  const program = 'tracepoint:syscalls:sys_enter_write /pid == $1/ { printf("%d\\n", cgroup); exit(); }';
  const bt = bpftrace(program, String(pid));
  assert.equal(bt.code, 0, bt.stderr);
  const tf = tapfleet('run', '-e', program, String(pid));
  assert.equal(tf.code, 0, tf.stderr);
  assert.match(lines(bt.stdout)[0]!, /^\d+$/);
  assert.deepEqual(lines(tf.stdout), lines(bt.stdout));
  const el = tapfleet('run', '-e', 'BEGIN { printf("%d\\n", elapsed); } interval:ms:300 { printf("%d\\n", elapsed); exit(); }');
  assert.equal(el.code, 0, el.stderr);
  const [begin, tick] = lines(el.stdout).map(BigInt);
  assert.ok(begin! < tick!, `${begin} < ${tick}`);
  assert.ok(tick! >= 300_000_000n, `the tick comes at least 300 ms after the start: ${tick}`);
});
