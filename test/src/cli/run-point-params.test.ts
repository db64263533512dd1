/**
 * Positional parameters inside probe points, on the real kernel, side by side with bpftrace 0.17:
 * a tracepoint's event name, a uprobe's binary and function, an interval's unit and period filled
 * in from the words after the script; and the diagnostics where tapfleet is stricter (a missing
 * parameter, a period that is no number, `$#`, a word with ':'), each one error at the `$N`.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bpftrace, printedLines, tapfleetIn } from './side-by-side.js';
import { buildTracee } from '../compiler/kernel-harness.js';

const work = mkdtempSync(join(tmpdir(), 'tf-point-params-'));
after(() => rmSync(work, { recursive: true, force: true }));
// A short name: the workload's comm (15 characters at most) is its file name.
const tracee = buildTracee('tfpp-tracee');

const tapfleet = tapfleetIn(join(work, 'data'));
const lines = printedLines;

/** 300 getpid() calls (and 300 tf_add() calls) from a process named tfpp-tracee. */
const GETPIDS = `${tracee} calls 300`;

test('tracepoint:syscalls:sys_enter_$1 attaches to the syscall the parameter names, as in bpftrace', () => {
  const body = '/comm == "tfpp-tracee"/ { @[str($1)] = count(); }';
  const tf = tapfleet('run', '-e', `probe tracepoint:syscalls:sys_enter_$1 ${body}`, 'getpid', '-c', GETPIDS);
  assert.equal(tf.code, 0, tf.stderr);
  const bt = bpftrace(['-c', GETPIDS], `tracepoint:syscalls:sys_enter_$1 ${body}`, 'getpid');
  assert.equal(bt.code, 0, bt.stderr);
  assert.deepEqual(lines(bt.stdout), ['@[getpid]: 300'], 'bpftrace prints what this test expects');
  assert.deepEqual(lines(tf.stdout), lines(bt.stdout));
  // Another word, another point: the same script counts getppid(), which this workload never calls.
  const other = tapfleet('run', '-e', `probe tracepoint:syscalls:sys_enter_$1 ${body}`, 'getppid', '-c', GETPIDS);
  assert.equal(other.code, 0, other.stderr);
  assert.deepEqual(lines(other.stdout), []);
});

test('uprobe:$1:$2 probes the binary and function the parameters name; $name binaries keep working next to them', () => {
  const body = '{ @calls[str($2)] = count(); }';
  const command = `${tracee} calls 7`;
  const tf = tapfleet('run', '-e', `probe uprobe:$1:$2 ${body}`, tracee, 'tf_add', '-c', command);
  assert.equal(tf.code, 0, tf.stderr);
  const bt = bpftrace(['-c', command], `uprobe:$1:$2 ${body}`, tracee, 'tf_add');
  assert.equal(bt.code, 0, bt.stderr);
  assert.deepEqual(lines(bt.stdout), ['@calls[tf_add]: 7'], 'bpftrace prints what this test expects');
  assert.deepEqual(lines(tf.stdout), lines(bt.stdout));
  // A path with the parameter inside it, and a named binary ($tracee is a binary, $1 a parameter).
  const inside = tapfleet('run', '-e', `probe uprobe:${join(tracee, '..')}/$1:tf_add { @n = count(); }`, 'tfpp-tracee', '-c', command);
  assert.equal(inside.code, 0, inside.stderr);
  assert.deepEqual(lines(inside.stdout), ['@n: 7']);
  const named = tapfleet('run', '-e', 'probe uprobe:$tracee:$1 { @n = count(); }', '--binary', `tracee=${tracee}`, 'tf_add', '-c', command);
  assert.equal(named.code, 0, named.stderr);
  assert.deepEqual(lines(named.stdout), ['@n: 7']);
});

test('interval:$1:$2 takes its unit and its period (decimal or 0x hex) from the parameters, as in bpftrace', () => {
  for (const [unit, period] of [['ms', '100'], ['ms', '0x64'], ['s', '1']] as const) {
    const program = 'interval:$1:$2 { printf("tick %s %d\\n", str($1), $#); exit(); }';
    const tf = tapfleet('run', '-e', `probe ${program}`, unit, period);
    assert.equal(tf.code, 0, tf.stderr);
    const bt = bpftrace([], program, unit, period);
    assert.equal(bt.code, 0, bt.stderr);
    assert.deepEqual(lines(bt.stdout), [`tick ${unit} 2`], 'bpftrace prints what this test expects');
    assert.deepEqual(lines(tf.stdout), lines(bt.stdout));
  }
  // profile:hz:$1 too (compiled only: sampling counts are not deterministic).
  const profile = tapfleet('check', '-e', 'probe profile:hz:$1 { @n = count(); }', '99');
  assert.equal(profile.code, 0, profile.stderr);
});

test('a parameter a probe point needs and was not given is one error at the $N (bpftrace looks for the point without it)', () => {
  const tf = tapfleet('run', '-e', 'probe tracepoint:syscalls:sys_enter_$1 { @[str($1)] = count(); }');
  assert.equal(tf.code, 1);
  assert.equal(tf.stdout, '');
  assert.equal(tf.stderr, [
    "-e:1:37: error: $1 is not given (0 parameter(s) were), and the probe point tracepoint:syscalls:sys_enter_$1 needs it",
    '  probe tracepoint:syscalls:sys_enter_$1 { @[str($1)] = count(); }',
    `  ${' '.repeat(36)}^~`,
    `  give it after the script: tapfleet run -e '...' VALUE1 (bpftrace reads it as "" there, and looks for the point without it)`,
    '',
  ].join('\n'));
  const bt = bpftrace([], 'tracepoint:syscalls:sys_enter_$1 { @[str($1)] = count(); }');
  assert.notEqual(bt.code, 0);
  assert.match(bt.stderr, /ERROR: tracepoint not found: syscalls:sys_enter_$/m);
  // A file names itself in the fix.
  const file = tapfleet('check', 'docs/examples/syscall-by-name.tap');
  assert.equal(file.code, 1);
  assert.match(file.stderr, /^docs\/examples\/syscall-by-name\.tap:\d+:\d+: error: \$1 is not given/m);
  assert.match(file.stderr, /give it after the script: tapfleet run docs\/examples\/syscall-by-name\.tap VALUE1/);
});

test('a period that is no positive number, $#, and a word with \':\' are errors at the $N where bpftrace fails later', () => {
  const period = tapfleet('check', '-e', 'probe interval:s:$1 { exit(); }', 'abc');
  assert.equal(period.code, 1);
  assert.match(period.stderr, /^-e:1:18: error: \$1 is the period of interval:s:\$1, a whole number of at least 1, but was given "abc"$/m);
  assert.match(period.stderr, /^1 error\(s\)$/m, 'one cause, one diagnostic');
  assert.match(bpftrace([], 'interval:s:$1 { exit(); }', 'abc').stderr, /ERROR: stoull/);
  const zero = tapfleet('check', '-e', 'probe profile:hz:$1 { @n = count(); }', '0');
  assert.match(zero.stderr, /^-e:1:18: error: \$1 is the period of profile:hz:\$1, a whole number of at least 1, but was given "0"$/m);
  const count = tapfleet('check', '-e', 'probe tracepoint:syscalls:sys_enter_$# { @n = count(); }', 'x');
  assert.match(count.stderr, /^-e:1:37: error: \$# \(how many parameters were given\) cannot be part of a probe point$/m);
  assert.match(count.stderr, /^1 error\(s\)$/m);
  assert.match(bpftrace([], 'tracepoint:syscalls:sys_enter_$# { @n = count(); }', 'x').stderr, /ERROR: Not a positional parameter/);
  const colon = tapfleet('check', '-e', 'probe interval:$1 { exit(); }', 's:1');
  assert.match(colon.stderr, /^-e:1:16: error: \$1 is "s:1": a parameter fills in part of one probe point and cannot hold ':' or '\$'$/m);
  assert.match(colon.stderr, /^1 error\(s\)$/m);
  assert.match(bpftrace([], 'interval:$1 { exit(); }', 's:1').stderr, /ERROR: interval probe type requires 2 arguments/);
  // A word that names no tracepoint is the point's own error, naming what it became.
  const unknown = tapfleet('check', '-e', 'probe tracepoint:syscalls:sys_enter_$1 { @n = count(); }', 'nosuch');
  assert.match(unknown.stderr, /^-e:1:7: error: no tracepoint syscalls:sys_enter_nosuch on kernel /m);
});
