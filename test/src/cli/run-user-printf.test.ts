/**
 * printf() with computed arguments in begin, end and interval probes, on the real kernel, side by
 * side with bpftrace 0.17: BEGIN's line before the events, interval lines among the events in time
 * order, END's lines before the maps printed at exit, print() and printf() in statement order.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bpftrace, printedLines, tapfleetIn } from './side-by-side.js';
import { buildTracee } from '../compiler/kernel-harness.js';

const work = mkdtempSync(join(tmpdir(), 'tf-user-printf-'));
after(() => rmSync(work, { recursive: true, force: true }));
// Short names: a workload's comm (15 characters at most) is its file name.
const tracee = buildTracee('tfup-tracee');
/** getpid() every 10 ms, N times, from a process named tfup-work (python under another name). */
const worker = join(work, 'tfup-work');
symlinkSync('/usr/bin/python3.11', worker);
const workerScript = join(work, 'getpids.py');
writeFileSync(workerScript, 'import os, sys, time\nfor i in range(int(sys.argv[1])):\n    os.getpid()\n    time.sleep(0.01)\n');

const tapfleet = tapfleetIn(join(work, 'data'));
const lines = printedLines;
/** The script in bpftrace's spelling: BEGIN/END, interval:ms:N, no `probe`. */
const asBpftrace = (script: string) => script.replace(/probe begin/g, 'BEGIN').replace(/probe end/g, 'END').replace(/probe /g, '');

test('BEGIN prints its computed line before any event, END its lines before the maps at exit, print() and printf() in order', () => {
  const script = [
    'probe begin { @every = $2; printf("Tracing %s, one line every %d getpid()s\\n", str($1), @every); }',
    'probe tracepoint:syscalls:sys_enter_getpid /comm == "tfup-tracee"/ { @n++; if (@n % @every == 0) { printf("getpid %d\\n", @n); } }',
    'probe end { printf("saw %d getpid()s\\n", @n); print(@n); printf("-- %d\\n", @n * 10); }',
  ].join('\n');
  const command = `${tracee} calls 6`;
  const tf = tapfleet('run', '-e', script, 'web', '2', '-c', command);
  assert.equal(tf.code, 0, tf.stderr);
  const bt = bpftrace(['-c', command], asBpftrace(script), 'web', '2');
  assert.equal(bt.code, 0, bt.stderr);
  const expected = ['Tracing web, one line every 2 getpid()s', 'getpid 2', 'getpid 4', 'getpid 6', 'saw 6 getpid()s', '@n: 6', '-- 60', '@every: 2', '@n: 6'];
  assert.deepEqual(lines(bt.stdout), expected, 'bpftrace prints what this test expects');
  assert.deepEqual(lines(tf.stdout), expected);
  // --json: the same lines as printf objects, in the same order.
  const json = tapfleet('run', '--json', '-e', script, 'web', '2', '-c', command);
  assert.equal(json.code, 0, json.stderr);
  const objects = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; data?: string });
  assert.deepEqual(objects.filter((o) => o.type === 'printf').map((o) => o.data), [
    'Tracing web, one line every 2 getpid()s\n', 'getpid 2\n', 'getpid 4\n', 'getpid 6\n', 'saw 6 getpid()s\n', '-- 60\n',
  ]);
  assert.deepEqual(objects.map((o) => o.type), ['live', 'printf', 'printf', 'printf', 'printf', 'printf', 'map', 'printf', 'map', 'map']);
});

test('interval lines come among the events in time order: each tick reads @n as the events printed before it left it', () => {
  const script = [
    'probe tracepoint:syscalls:sys_enter_getpid /comm == "tfup-work"/ { @n++; printf("getpid %d\\n", @n); }',
    'probe interval:ms:100 { printf("tick %d\\n", @n); }',
  ].join('\n');
  const command = `${worker} ${workerScript} 60`;
  const check = (out: string, who: string) => {
    const printed = lines(out).filter((l) => /^(getpid|tick) /.test(l));
    const getpids = printed.filter((l) => l.startsWith('getpid'));
    assert.deepEqual(getpids, Array.from({ length: 60 }, (_, i) => `getpid ${i + 1}`), who);
    const ticks = printed.flatMap((l, i) => (l.startsWith('tick ') ? [{ value: Number(l.slice(5)), before: printed.slice(0, i).filter((x) => x.startsWith('getpid')).length }] : []));
    assert.ok(ticks.length >= 2, `${who}: ticks while the workload ran, got ${ticks.length}`);
    return ticks;
  };
  const tf = tapfleet('run', '-e', script, '-c', command);
  assert.equal(tf.code, 0, tf.stderr);
  const ticks = check(tf.stdout, 'tapfleet');
  // A tick at most one event off where it ran: an event and the tick on two CPUs at the same microsecond may print either way.
  for (const t of ticks) assert.ok(Math.abs(t.value - t.before) <= 1, `tick ${t.value} printed after ${t.before} getpid lines:\n${tf.stdout}`);
  assert.ok(ticks.some((t) => t.before > 0 && t.before < 60), 'ticks between the events, not all before or after them');
  const bt = bpftrace(['-c', command], asBpftrace(script));
  assert.equal(bt.code, 0, bt.stderr);
  check(bt.stdout, 'bpftrace');
});

test('an interval prints, in statement order, its printf() lines around print(); printf() inside an if prints when the if ran', () => {
  const script = [
    'probe interval:ms:100 { @t++; if (@t % 2 == 0) { printf("even %d\\n", @t); } }',
    'probe interval:ms:250 { printf("at %d:\\n", @t); print(@t); printf("--\\n"); exit(); }',
  ].join('\n');
  const tf = tapfleet('run', '-e', script);
  assert.equal(tf.code, 0, tf.stderr);
  const bt = bpftrace([], asBpftrace(script));
  assert.equal(bt.code, 0, bt.stderr);
  // Two 100 ms ticks before the 250 ms one, as a rule; the shape is what is compared, not the timing.
  const shape = (out: string) => lines(out).map((l) => l.replace(/\d+/g, 'N'));
  assert.deepEqual(shape(bt.stdout), ['even N', 'at N:', '@t: N', '--', '@t: N'], 'bpftrace prints what this test expects');
  assert.deepEqual(shape(tf.stdout), shape(bt.stdout));
  const t = Number(/^at (\d+):$/m.exec(tf.stdout)![1]);
  assert.match(tf.stdout, new RegExp(`^@t: ${t}$`, 'm'), 'print() shows the value the printf() before it read');
});

test('exit() inside an if in an interval or begin probe ends the run when the if runs, as in bpftrace', () => {
  const script = 'probe interval:ms:100 { @i++; printf("tick %d\\n", @i); if (@i == 3) { exit(); } }\nprobe end { printf("end at %d\\n", @i); }';
  const tf = tapfleet('run', '-e', script);
  assert.equal(tf.code, 0, tf.stderr);
  const bt = bpftrace([], asBpftrace(script));
  assert.equal(bt.code, 0, bt.stderr);
  assert.deepEqual(lines(bt.stdout), ['tick 1', 'tick 2', 'tick 3', 'end at 3', '@i: 3'], 'bpftrace prints what this test expects');
  assert.deepEqual(lines(tf.stdout), lines(bt.stdout));
  // In begin, the rest of the probe does not run after it (bpftrace's BEGIN stops there too).
  const begin = 'probe begin { if ($1 > 0) { printf("early\\n"); exit(); } printf("on\\n"); }\nprobe interval:ms:100 { printf("tick\\n"); exit(); }';
  const tfBegin = tapfleet('run', '-e', begin, '1');
  assert.equal(tfBegin.code, 0, tfBegin.stderr);
  const btBegin = bpftrace([], asBpftrace(begin), '1');
  assert.deepEqual(lines(btBegin.stdout), ['early'], 'bpftrace prints what this test expects');
  assert.deepEqual(lines(tfBegin.stdout), lines(btBegin.stdout));
  assert.deepEqual(lines(tapfleet('run', '-e', begin, '0').stdout), ['on', 'tick']);
});

test('printf() in begin/end/interval: the one refusal (reading a map after clearing it in the same probe), at its place', () => {
  const r = tapfleet('check', '-e', 'probe tracepoint:syscalls:sys_enter_getpid { @n++; }\nprobe interval:1s { clear(@n); printf("%d\\n", @n); }');
  assert.equal(r.code, 1);
  assert.equal(r.stderr, [
    '-e:2:47: error: in an interval probe, printf() runs in its BPF program, before clear(@n) at 2:21: this would print @n as it was before the clear',
    '  probe interval:1s { clear(@n); printf("%d\\n", @n); }',
    `  ${' '.repeat(46)}^~`,
    '  print @n before clearing it; after clear(@n) it reads 0 (or "")',
    '1 error(s)',
    '',
  ].join('\n'));
  // What was refused before: printf() of what the probe computes.
  const ok = tapfleet('check', '-e', 'probe tracepoint:syscalls:sys_enter_getpid { @n++; }\nprobe interval:1s { printf("%d at %d\\n", @n, nsecs); clear(@n); }');
  assert.equal(ok.code, 0, ok.stderr);
});

test('an interval firing whose exit() (in an if) ran does not print() after it: the probe ends there, as in bpftrace', () => {
  // Before: tapfleet printed @i: 2 twice (the firing's print(@i) after its program's exit, then the maps at exit).
  const script = 'interval:ms:100 { @i++; if (@i == 2) { exit(); } printf("tick %d\\n", @i); print(@i); }';
  const bt = bpftrace([], script);
  assert.equal(bt.code, 0, bt.stderr);
  assert.deepEqual(lines(bt.stdout), ['tick 1', '@i: 1', '@i: 2'], 'bpftrace prints what this test expects');
  const tf = tapfleet('run', '-e', script);
  assert.equal(tf.code, 0, tf.stderr);
  assert.deepEqual(lines(tf.stdout).filter((l) => !/^(Attached|tapfleet run:)/.test(l)), ['tick 1', '@i: 1', '@i: 2']);
});
