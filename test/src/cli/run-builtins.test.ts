/**
 * time(), strftime(), ksym()/usym() of reg() and USDT point patterns on the real kernel, one
 * script run under tapfleet and under bpftrace 0.17 on one workload: the same lines and keys
 * once times, addresses and counts are masked (a time or an address differs from run to run,
 * its place and shape do not).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_DATA_DIR, PROJECT_ROOT } from '@tapfleet/runtime';
import { bpftrace, printedLines, tapfleetIn } from './side-by-side.js';
import { buildTracee } from '../compiler/kernel-harness.js';

const work = mkdtempSync(join(tmpdir(), 'tf-builtins-'));
after(() => rmSync(work, { recursive: true, force: true }));
const tapfleet = tapfleetIn(join(work, 'data'));
// Short names: a workload's comm (15 characters at most) is its file name.
const tracee = buildTracee('tfbi-tracee');
const binDir = join(DEFAULT_DATA_DIR, 'test-bin');
mkdirSync(binDir, { recursive: true });
const spin = join(binDir, 'tfbi-spin');
execFileSync('gcc', ['-O0', '-fno-omit-frame-pointer', '-Wl,--build-id', '-o', spin, join(PROJECT_ROOT, 'test', 'fixtures', 'stack-spin.c')]);

/** Times and addresses masked: what stays is where each stands and its shape. */
const masked = (lines: string[]) =>
  lines.map((l) => l.replace(/\d{4}-\d\d-\d\d/g, 'DATE').replace(/\d\d:\d\d:\d\d\.\d{6}/g, 'TIME.US').replace(/\d\d:\d\d:\d\d/g, 'TIME').replace(/0x[0-9a-f]+/g, 'ADDR'));

/** Kernel function names, from kallsyms (what a ksym() key may be besides an address). */
const kernelNames = new Set(readFileSync('/proc/kallsyms', 'utf8').split('\n').map((l) => l.split(/\s+/)[2]).filter((n): n is string => !!n));

/** Runs `mode SECONDS` of the spinner in the background for the length of `fn`. */
function withSpinner<T>(mode: 'user' | 'syscall', fn: () => T): T {
  const child = spawn(spin, [mode, '30'], { stdio: 'ignore' });
  try {
    return fn();
  } finally {
    child.kill('SIGKILL');
  }
}

test('time() and strftime(): the lines bpftrace prints, in its order; the times are local wall time', () => {
  const script = [
    'BEGIN { time("%Y-%m-%d "); printf("begin %s\\n", strftime("%Y-%m-%d %H:%M:%S", nsecs)); }',
    'tracepoint:syscalls:sys_enter_getpid /comm == "tfbi-tracee"/ { @n++; time("%H:%M:%S "); printf("getpid %d %s\\n", @n, strftime("%H:%M:%S.%f", nsecs)); }',
    'END { time(); printf("end %d\\n", @n); }',
  ].join('\n');
  const command = `${tracee} calls 3`;
  const before = Date.now();
  const tf = tapfleet('run', '-e', script, '-c', command);
  const afterRun = Date.now();
  assert.equal(tf.code, 0, tf.stderr);
  const bt = bpftrace(['-c', command], script);
  assert.equal(bt.code, 0, bt.stderr);
  const expected = ['DATE begin DATE TIME', 'TIME getpid 1 TIME.US', 'TIME getpid 2 TIME.US', 'TIME getpid 3 TIME.US', 'TIME', 'end 3', '@n: 3'];
  assert.deepEqual(masked(printedLines(bt.stdout)), expected, 'bpftrace prints what this test expects');
  assert.deepEqual(masked(printedLines(tf.stdout)), expected);
  // strftime(nsecs) is the wall time the probe ran at: the second the run started, or one after.
  const begin = /begin (\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)/.exec(tf.stdout)!;
  const [y, mo, d, h, mi, s] = begin.slice(1).map(Number) as [number, number, number, number, number, number];
  const printed = new Date(y, mo - 1, d, h, mi, s).getTime();
  assert.ok(printed >= Math.floor(before / 1000) * 1000 - 1000 && printed <= afterRun, `${begin[0]} is not between ${new Date(before).toString()} and ${new Date(afterRun).toString()}`);
  assert.equal(tf.stdout.split('\n')[0]!.slice(0, 10), begin.slice(1, 4).join('-'), 'time() and strftime() print the same date');
});

test('the interval time() line of bpftrace\'s reference: a time, then the count, each second', () => {
  const script = 'profile:hz:99 { @x++; } interval:s:1 { time("%H:%M:%S "); printf("%d\\n", @x); @x = 0; } interval:ms:2500 { exit(); }';
  const shape = (out: string) => {
    const lines = printedLines(out).filter((l) => !l.startsWith('@x'));
    assert.equal(lines.length, 2, out);
    for (const l of lines) assert.match(l, /^\d\d:\d\d:\d\d [1-9]\d*$/);
  };
  const tf = tapfleet('run', '-e', script);
  assert.equal(tf.code, 0, tf.stderr);
  shape(tf.stdout);
  const bt = bpftrace([], script);
  assert.equal(bt.code, 0, bt.stderr);
  shape(bt.stdout);
});

test('interval probes due at one moment fire in script order, as bpftrace\'s: the tick before an exit written after it, none after one written before', () => {
  const tickFirst = 'interval:s:1 { time("%H:%M:%S tick\\n"); } interval:s:2 { exit(); }';
  const exitFirst = 'interval:s:2 { exit(); } interval:s:1 { time("%H:%M:%S tick\\n"); }';
  for (const [script, ticks] of [[tickFirst, 2], [exitFirst, 1]] as const) {
    const bt = bpftrace([], script);
    assert.equal(bt.code, 0, bt.stderr);
    assert.deepEqual(masked(printedLines(bt.stdout)), Array(ticks).fill('TIME tick'), `bpftrace: ${script}`);
    const tf = tapfleet('run', '-e', script);
    assert.equal(tf.code, 0, tf.stderr);
    assert.deepEqual(masked(printedLines(tf.stdout)), Array(ticks).fill('TIME tick'), `tapfleet: ${script}`);
  }
});

test('a strftime() map key: one entry per nsecs, each printed as its time, as bpftrace keys it', () => {
  const script = 'tracepoint:syscalls:sys_enter_getpid /comm == "tfbi-tracee"/ { @[strftime("%Y", nsecs), comm] = count(); }';
  const command = `${tracee} calls 3`;
  const year = new Date().getFullYear();
  const expected = [`@[${year}, tfbi-tracee]: 1`, `@[${year}, tfbi-tracee]: 1`, `@[${year}, tfbi-tracee]: 1`];
  const bt = bpftrace(['-c', command], script);
  assert.equal(bt.code, 0, bt.stderr);
  assert.deepEqual(printedLines(bt.stdout), expected, 'bpftrace prints what this test expects');
  const tf = tapfleet('run', '-e', script, '-c', command);
  assert.equal(tf.code, 0, tf.stderr);
  assert.deepEqual(printedLines(tf.stdout), expected);
});

test('usym(reg("ip")) and ksym() at a uprobe: the function\'s name, a user address ksym() prints as hex, as bpftrace prints them', () => {
  const script = `uprobe:${spin}:tf_middle { printf("%s %s|\\n", usym(reg("ip")), ksym(reg("ip"))); exit(); }`;
  const command = `${spin} user 1`;
  const tf = tapfleet('run', '-e', script, '-c', command);
  assert.equal(tf.code, 0, tf.stderr);
  const bt = bpftrace(['-c', command], script);
  assert.equal(bt.code, 0, bt.stderr);
  assert.deepEqual(masked(printedLines(bt.stdout)), ['tf_middle ADDR|']);
  assert.deepEqual(masked(printedLines(tf.stdout)), ['tf_middle ADDR|']);
  // --json: the line as printed; a map key is the name, a string.
  const json = tapfleet('run', '--json', '-e', `uprobe:${spin}:tf_middle { printf("%s\\n", usym(reg("ip"))); @[usym(reg("ip"))] = count(); exit(); }`, '-c', command);
  assert.equal(json.code, 0, json.stderr);
  const objects = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; data?: string; entries?: { key: unknown[] }[] });
  assert.deepEqual(objects.filter((o) => o.type === 'printf').map((o) => o.data), ['tf_middle\n']);
  assert.deepEqual(objects.find((o) => o.type === 'map')!.entries!.map((e) => e.key), [['tf_middle']]);
});

test('profile:hz: @[usym(reg("ip"))] and @[ksym(reg("ip"))]: the spinning function, kernel names or addresses, as bpftrace keys them', () => {
  const keysOf = (out: string) => printedLines(out).map((l) => /^@\[(.*)\]: \d+$/.exec(l)?.[1]).filter((k): k is string => k !== undefined);
  const user = 'profile:hz:199 /comm == "tfbi-spin"/ { @[usym(reg("ip"))] = count(); } interval:s:2 { exit(); }';
  withSpinner('user', () => {
    for (const [who, out] of [['tapfleet', tapfleet('run', '-e', user)], ['bpftrace', bpftrace([], user)]] as const) {
      assert.equal(out.code, 0, out.stderr);
      const keys = keysOf(out.stdout);
      // Sorted by count, largest last: the busy loop.
      assert.equal(keys[keys.length - 1], 'tf_inner_spin', `${who}:\n${out.stdout}`);
    }
  });
  const kernel = 'profile:hz:199 /comm == "tfbi-spin"/ { @[ksym(reg("ip"))] = count(); } interval:s:2 { exit(); }';
  withSpinner('syscall', () => {
    for (const [who, out] of [['tapfleet', tapfleet('run', '-e', kernel)], ['bpftrace', bpftrace([], kernel)]] as const) {
      assert.equal(out.code, 0, out.stderr);
      const keys = keysOf(out.stdout);
      assert.ok(keys.length > 0, `${who}: ${out.stdout}`);
      for (const k of keys) assert.ok(/^0x[0-9a-f]+$/.test(k) || kernelNames.has(k), `${who}: ${k} is neither an address nor a kernel function`);
      assert.ok(keys.some((k) => kernelNames.has(k)), `${who}: no kernel function among ${keys.join(' ')}`);
    }
  });
});

test('USDT patterns attach every matching note, and probe names each as bpftrace does', () => {
  const attached = (stdout: string, stderr: string) => Number(/Attach(?:ing|ed) (\d+) probes?/.exec(stdout + stderr)?.[1]);
  const cases: [string, string, number][] = [
    [`usdt:${tracee}:*`, 'calls 2', 4],
    [`usdt:${tracee}:*`, 'sleeps 1', 4],
    [`usdt:${tracee}:tftest:op*`, 'sleeps 1', 2],
    [`usdt:${tracee}:*:tick`, 'calls 2', 2],
    [`usdt:${tracee}:tick`, 'calls 2', 2],
  ];
  const fired = new Set<string>();
  for (const [point, mode, probes] of cases) {
    const script = `${point} { @[probe] = count(); }`;
    const command = `${tracee} ${mode}`;
    const tf = tapfleet('run', '-e', script, '-c', command);
    assert.equal(tf.code, 0, tf.stderr);
    const bt = bpftrace(['-c', command], script);
    assert.equal(bt.code, 0, bt.stderr);
    // Every site of every matching probe (tick has two sites).
    assert.equal(attached(bt.stdout, bt.stderr), probes, `bpftrace ${point}`);
    assert.equal(attached(tf.stdout, tf.stderr), probes, `tapfleet ${point}`);
    assert.deepEqual(printedLines(tf.stdout).sort(), printedLines(bt.stdout).sort(), point);
    if (point.endsWith(':*')) printedLines(tf.stdout).forEach((l) => fired.add(/^@\[(.*)\]: \d+$/.exec(l)![1]!));
  }
  // usdt:BIN:* stands for what bpftrace -l lists, each named as it lists it.
  const listed = execFileSync('bpftrace', ['-l', `usdt:${tracee}:*`], { encoding: 'utf8' }).trim().split('\n').sort();
  assert.equal(listed.length, 3, listed.join('\n'));
  assert.deepEqual([...fired].sort(), listed);
});
