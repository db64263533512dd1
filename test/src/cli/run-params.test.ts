/**
 * Positional parameters ($1.., $#, str($N)) on the real kernel, side by side with bpftrace 0.17:
 * a predicate that keeps one of two running workloads by its pid, the words printed, a missing
 * and a non-numeric parameter; and the compile cache keyed by them (clang counted through a wrapper).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bpftrace as bpftraceSideBySide, printedLines, tapfleetIn, writerWorkers } from './side-by-side.js';
import { countedClang } from './counted-clang.js';

const work = mkdtempSync(join(tmpdir(), 'tf-run-params-'));
const dataDir = join(work, 'data');
const cacheDir = join(dataDir, 'compile-cache');
const { configFile, clangRuns } = countedClang(work);
const entries = () => (existsSync(cacheDir) ? readdirSync(cacheDir).filter((f) => f.endsWith('.json')) : []);

/** Two writer workers, told apart by pid and by size. */
const workers = writerWorkers(work);
after(() => {
  workers.stop();
  rmSync(work, { recursive: true, force: true });
});
const worker = workers.start;
const tapfleet = tapfleetIn(dataDir, configFile);
const bpftrace = (program: string, ...params: string[]) => bpftraceSideBySide([], program, ...params);
const lines = printedLines;

test('$1 in a predicate keeps one workload of two by pid, str($2) and $# print, as in bpftrace', () => {
  const kept = worker(3);
  const other = worker(5);
  // The same script in both spellings: what each prints at the start, and the write sizes seen from pid $1 only.
  const head = 'printf("pid %d tag %s of %d\\n", $1, str($2), $#);';
  const count = '/pid == $1/ { @sizes[args.count] = count(); @who[pid, str($2)] = count(); }';
  const tf = tapfleet('run', '-e', `probe begin { ${head} }\nprobe tracepoint:syscalls:sys_enter_write ${count}\nprobe interval:2s { exit(); }`, String(kept), 'kept');
  assert.equal(tf.code, 0, tf.stderr);
  const bt = bpftrace(`BEGIN { ${head} }\ntracepoint:syscalls:sys_enter_write ${count.replace('args.', 'args->')}\ninterval:s:2 { exit(); }`, String(kept), 'kept');
  assert.equal(bt.code, 0, bt.stderr);
  // Counts depend on the 2 s window; which keys appear does not.
  const shape = (out: string) => lines(out).map((l) => l.replace(/: \d+$/, ': N'));
  const expected = [`pid ${kept} tag kept of 2`, '@sizes[3]: N', `@who[${kept}, kept]: N`];
  assert.deepEqual(shape(bt.stdout), expected, 'bpftrace prints what this test expects');
  assert.deepEqual(shape(tf.stdout), expected);
  assert.ok(!tf.stdout.includes(String(other)) && !tf.stdout.includes('@sizes[5]'), 'the other workload is filtered out in the kernel');
  const writes = Number(/^@sizes\[3\]: (\d+)$/m.exec(tf.stdout)![1]);
  assert.ok(writes >= 50 && writes <= 210, `about 100 writes in 2 s, got ${writes}`);
});

test('a parameter not given reads 0 (and "" in str()) as in bpftrace; tapfleet also warns at file:line:col with the fix', () => {
  const program = 'probe begin { printf("%d [%s] %d\\n", $1, str($2), $#); exit(); }';
  const tf = tapfleet('run', '-e', program);
  const bt = bpftrace(program.replace('probe begin', 'BEGIN'));
  assert.equal(bt.code, 0, bt.stderr);
  assert.deepEqual(lines(bt.stdout), ['0 [] 0'], 'bpftrace prints what this test expects');
  assert.equal(tf.code, 0, tf.stderr);
  assert.deepEqual(lines(tf.stdout), lines(bt.stdout));
  assert.match(tf.stderr, /^-e:1:38: warning: \$1 is not given \(0 parameter\(s\) were\): it reads as 0, or "" in str\(\)$/m);
  assert.match(tf.stderr, /^-e:1:46: warning: \$2 is not given/m);
  assert.match(tf.stderr, /give it after the script: tapfleet run -e '\.\.\.' VALUE1 VALUE2/);
  // bpftrace's positional parameters are 1-based there too: $# counts what was given.
  const one = tapfleet('run', '-e', program, '7');
  assert.deepEqual(lines(one.stdout), lines(bpftrace(program.replace('probe begin', 'BEGIN'), '7').stdout));
  assert.deepEqual(lines(one.stdout), ['7 [] 1']);
});

test('a word that is not a number used as one is an error in both, at the same place', () => {
  const tf = tapfleet('run', '-e', 'probe begin { printf("%d\\n", $1); exit(); }', 'abc');
  const bt = bpftrace('BEGIN { printf("%d\\n", $1); exit(); }', 'abc');
  assert.notEqual(bt.code, 0);
  assert.match(bt.stderr, /stdin:1:24-26: ERROR: \$1 used numerically but given "abc"\. Try using str\(\$1\)\./);
  assert.equal(tf.code, 1);
  // `probe begin` is six characters longer than `BEGIN`: the same token.
  assert.match(tf.stderr, /^-e:1:30: error: \$1 is used as a number, but was given "abc"$/m);
  assert.match(tf.stderr, /or read it as a string: str\(\$1\)/);
  assert.equal(tf.stdout, '');
  // A parameter starting with '-' comes after --, and is a number when it is one.
  const negative = tapfleet('run', '-e', 'probe begin { printf("%d\\n", $1); exit(); }', '--', '-0x10');
  assert.equal(negative.code, 0, negative.stderr);
  assert.deepEqual(lines(negative.stdout), lines(bpftrace('BEGIN { printf("%d\\n", $1); exit(); }', '--', '-0x10').stdout));
  assert.deepEqual(lines(negative.stdout), ['-16']);
});

test('parameters are part of the compile-cache key: another value compiles another bundle, the same value is a hit', () => {
  const script = join(work, 'params.tap');
  writeFileSync(script, 'probe tracepoint:syscalls:sys_enter_getpid /pid == $1/ { @calls[str($2)] = count(); }\n');
  const getpids = worker(1); // not getpid: these runs count nothing, so all that differs is the key
  const run = (...params: string[]) => tapfleet('run', script, ...params, '-d', '100ms');
  const before = clangRuns();
  const entriesBefore = entries().length;
  const a = run(String(getpids), 'a');
  assert.equal(a.code, 0, a.stderr);
  assert.equal(clangRuns(), before + 1);
  const b = run(String(getpids), 'b');
  assert.equal(b.code, 0, b.stderr);
  assert.equal(clangRuns(), before + 2, 'another $2: another bundle');
  assert.equal(entries().length, entriesBefore + 2);
  const again = run(String(getpids), 'a');
  assert.equal(again.code, 0, again.stderr);
  assert.equal(clangRuns(), before + 2, 'the same parameters: a cache hit');
  // A hit prints the compile's warnings again: a missing parameter is never silent.
  const missing1 = run();
  const missing2 = run();
  assert.equal(clangRuns(), before + 3);
  for (const r of [missing1, missing2]) {
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /params\.tap:1:52: warning: \$1 is not given/);
  }
  // check and compile take them the same way.
  const check = tapfleet('check', script, '12', 'x');
  assert.equal(check.code, 0, check.stderr);
  assert.equal(check.stderr, '');
  const bad = tapfleet('check', script, 'twelve');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /params\.tap:1:52: error: \$1 is used as a number, but was given "twelve"/);
  const out = join(work, 'b.bundle');
  const compiled = tapfleet('compile', script, '12', '-o', out);
  assert.equal(compiled.code, 0, compiled.stderr);
  const other = tapfleet('compile', script, '13', '-o', `${out}2`);
  assert.notEqual(JSON.parse(readFileSync(out, 'utf8')).manifest.bundleId, JSON.parse(readFileSync(`${out}2`, 'utf8')).manifest.bundleId, other.stderr);
});

test('docs/examples/writes-by-pid.tap prints what docs/language.md shows', () => {
  const pid = worker(3);
  worker(5);
  const r = tapfleet('run', 'docs/examples/writes-by-pid.tap', String(pid), 'web');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(lines(r.stdout).map((l) => l.replace(/: \d+$/, ': N')), [`tracing pid ${pid} as web (2 parameters)`, '@writes[web, 3]: N']);
  const bad = tapfleet('check', 'docs/examples/writes-by-pid.tap', 'web', '1');
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr, [
    'docs/examples/writes-by-pid.tap:2:64: error: $1 is used as a number, but was given "web"',
    '  probe begin { printf("tracing pid %d as %s (%d parameters)\\n", $1, str($2), $#); }',
    `  ${' '.repeat(63)}^~`,
    '  pass a number (decimal or 0x hex) as parameter 1, or read it as a string: str($1)',
    '1 error(s)',
    '',
  ].join('\n'));
});

test('a begin probe\'s map writes run before the probes attach, as bpftrace\'s BEGIN: a pid and a label from the parameters', () => {
  const kept = worker(3);
  worker(5);
  const begin = '@target = $1; @label = str($2); if ($# > 2) { @extra = 1; } else { @extra = 2; } printf("go\\n");';
  const count = '/pid == @target/ { @w[@label] = count(); }';
  const tf = tapfleet('run', '-e', `probe begin { ${begin} }\nprobe tracepoint:syscalls:sys_enter_write ${count}\nprobe interval:2s { exit(); }`, String(kept), 'web');
  assert.equal(tf.code, 0, tf.stderr);
  const bt = bpftrace(`BEGIN { ${begin} }\ntracepoint:syscalls:sys_enter_write ${count}\ninterval:s:2 { exit(); }`, String(kept), 'web');
  assert.equal(bt.code, 0, bt.stderr);
  const shape = (out: string) => lines(out).map((l) => l.replace(/^(@w\[web\]): \d+$/, '$1: N'));
  const expected = ['go', '@extra: 2', '@label: web', `@target: ${kept}`, '@w[web]: N'];
  assert.deepEqual(shape(bt.stdout), expected, 'bpftrace prints what this test expects');
  assert.deepEqual(shape(tf.stdout), expected);
  const writes = Number(/^@w\[web\]: (\d+)$/m.exec(tf.stdout)![1]);
  assert.ok(writes >= 50 && writes <= 210, `about 100 writes in 2 s, from the first: got ${writes}`);
});

test('interval and end probes write maps at each firing, as bpftrace\'s do', () => {
  const pid = worker(3);
  const script = (tp: string, interval: (ms: number) => string, end: string) => [
    `${tp} /pid == $1/ { @n++; }`,
    `${interval(500)} { @ticks++; @seen = @n; }`,
    `${interval(1700)} { exit(); }`,
    `${end} { @final = @ticks * 10; delete(@n); }`,
  ].join('\n');
  const tf = tapfleet('run', '-e', script('probe tracepoint:syscalls:sys_enter_write', (ms) => `probe interval:${ms}ms`, 'probe end'), String(pid));
  assert.equal(tf.code, 0, tf.stderr);
  const bt = bpftrace(script('tracepoint:syscalls:sys_enter_write', (ms) => `interval:ms:${ms}`, 'END'), String(pid));
  assert.equal(bt.code, 0, bt.stderr);
  // Three ticks before the exit at 1.7 s; @seen is what @n held at the last one; delete(@n) in end leaves no @n to print.
  const shape = (out: string) => lines(out).map((l) => l.replace(/^@seen: \d+$/, '@seen: N'));
  assert.deepEqual(shape(bt.stdout), ['@final: 30', '@seen: N', '@ticks: 3'], 'bpftrace prints what this test expects');
  assert.deepEqual(shape(tf.stdout), shape(bt.stdout));
  const seen = Number(/^@seen: (\d+)$/m.exec(tf.stdout)![1]);
  assert.ok(seen >= 60 && seen <= 160, `about 100 writes by the third tick (1.5 s), got ${seen}`);
  // A write after print() would run before it (the writes are one program, run first): refused, with the fix.
  const refused = tapfleet('check', '-e', 'probe tracepoint:syscalls:sys_enter_write { @n++; }\nprobe interval:1s { print(@n); @n = 0; }');
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^-e:2:32: error: in an interval probe, map writes run first \(as a BPF program\), then print\(\) and clear\(\): this one comes after print\(@n\)$/m);
  assert.match(refused.stderr, /to reset @n after printing it, clear\(@n\) does it/);
});

test('no probe hit counts once the run ends: end\'s delete(@n) under a writer at full speed leaves no @n, as bpftrace detaches before END', () => {
  // `yes` writes as fast as the kernel takes it (hundreds of thousands a second): a probe left
  // live between the end probe and the last read of the maps would write @n again at once.
  const busy = spawn('/usr/bin/yes', [], { stdio: ['ignore', openSync('/dev/null', 'w'), 'ignore'] });
  workers.adopt(busy);
  const script = (tp: string, interval: string, end: string) => `${tp} /pid == $1/ { @n++; }\n${interval} { exit(); }\n${end} { delete(@n); @done = 1; }`;
  for (let i = 0; i < 3; i++) {
    const tf = tapfleet('run', '-e', script('tracepoint:syscalls:sys_enter_write', 'interval:ms:300', 'END'), String(busy.pid));
    assert.equal(tf.code, 0, tf.stderr);
    assert.deepEqual(lines(tf.stdout), ['@done: 1'], `run ${i + 1}`);
  }
  const bt = bpftrace(script('tracepoint:syscalls:sys_enter_write', 'interval:ms:300', 'END'), String(busy.pid));
  assert.equal(bt.code, 0, bt.stderr);
  assert.deepEqual(lines(bt.stdout), ['@done: 1'], 'bpftrace prints what this test expects');
});

test('docs/examples/begin-target.tap prints what docs/language.md shows', () => {
  const pid = worker(3);
  worker(5);
  const r = tapfleet('run', 'docs/examples/begin-target.tap', String(pid), 'web');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(lines(r.stdout).map((l) => l.replace(/^(@w\[web\]): \d+$/, '$1: N')), [`counting writes of pid ${pid}`, '@label: web', `@target: ${pid}`, '@w[web]: N']);
});
