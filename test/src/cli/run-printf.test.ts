import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '@tapfleet/runtime';

const dir = mkdtempSync(join(tmpdir(), 'tf-printf-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

/** A run stopped by its own script; the timeout only keeps a broken exit() from hanging the suite. */
function tapfleet(...args: string[]) {
  const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'tapfleet.js'), ...args], { encoding: 'utf8', env: process.env, cwd: PROJECT_ROOT, timeout: 90_000 });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/**
 * A deterministic workload: it renames itself (so the probes' predicate sees it alone), then
 * writes seven known buffers to /dev/null, one write(2) each, then sleeps unless told not to.
 */
const WORKLOAD = file('workload.py', `import os, sys, time
open('/proc/self/comm', 'w').write(sys.argv[1])
fd = os.open('/dev/null', os.O_WRONLY)
for w in [b'a', b'hello', b'tapfleet printf', b'x' * 40, 'été'.encode(), b'', b'z' * 300]:
    os.write(fd, w)
if len(sys.argv) > 2:
    time.sleep(float(sys.argv[2]))
`);

// Every conversion bpftrace 0.17 takes, with flags, widths, precisions and length modifiers.
// (Its %% prints as %% after the last conversion, a bpftrace bug; C and tapfleet print %.)
const FORMAT = 'pct=100%% fd=%d n=%5u hex=%x HEX=%08X c=%c s=%.5s|%-10s|%s| neg=%d %ld hh=%hhd h=%hu p=%p\\n';
const ARGS = 'FD, COUNT, COUNT * 4096, COUNT * 99, 65 + COUNT % 26, str(BUF), comm, str(BUF), COUNT - 100, COUNT - 100, COUNT * 20, COUNT * 1000, COUNT';
const argsFor = (field: (name: string) => string) => ARGS.replace(/FD/g, field('fd')).replace(/COUNT/g, field('count')).replace(/BUF/g, field('buf'));

test('printf() prints what bpftrace prints for the same script on the same workload', () => {
  const tap = file('cmp.tap', `probe tracepoint:syscalls:sys_enter_write /comm == "tfcmp"/ {\n    printf("${FORMAT}", ${argsFor((f) => `args.${f}`)});\n}\n`);
  const bt = file('cmp.bt', `tracepoint:syscalls:sys_enter_write /comm == "tfcmp"/ {\n    printf("${FORMAT}", ${argsFor((f) => `args->${f}`)});\n}\n`);
  const command = `/usr/bin/python3 ${WORKLOAD} tfcmp`;
  const ours = tapfleet('run', tap, '-c', command);
  assert.equal(ours.code, 0, ours.stderr);
  const theirs = spawnSync('bpftrace', [bt, '-c', command], { encoding: 'utf8', timeout: 90_000 });
  assert.equal(theirs.status, 0, theirs.stderr);
  const lines = (out: string) => out.split('\n').filter((l) => l.startsWith('pct='));
  assert.equal(lines(ours.stdout).length, 7, ours.stdout);
  assert.deepEqual(lines(ours.stdout), lines(theirs.stdout));
  // Spot-check against C semantics directly, not only against bpftrace.
  assert.equal(lines(ours.stdout)[2], 'pct=100% fd=3 n=   15 hex=f000 HEX=000005CD c=P s=tapfl|tfcmp     |tapfleet printf| neg=-85 -85 hh=44 h=15000 p=0xf');
  assert.equal(lines(ours.stdout)[5], 'pct=100% fd=3 n=    0 hex=0 HEX=00000000 c=A s=|tfcmp     || neg=-100 -100 hh=0 h=0 p=(nil)');
});

test('exit() in a kernel probe stops the run as Ctrl-C does: maps printed, exit status 0, the command stopped', () => {
  const tap = file('exit-kernel.tap', `probe tracepoint:syscalls:sys_enter_write /comm == "tfexit"/ {
    @writes = count();
    printf("write %d\\n", args.count);
    if (args.count == 15) { exit(); }
}
`);
  // The workload would sleep 600 s after its writes: only exit() can end this run in time.
  const r = tapfleet('run', tap, '-c', `/usr/bin/python3 ${WORKLOAD} tfexit 600`);
  assert.equal(r.signal, null, 'the run did not stop');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.split('\n').filter((l) => l.startsWith('write ')), ['write 1', 'write 5', 'write 15']);
  // Probes keep firing until the run detaches them (as bpftrace's do): the map saw the 3 writes up
  // to exit() and maybe some of the 4 after it; their printf records were not printed.
  assert.match(r.stdout, /^@writes: [3-7]$/m);
  assert.match(r.stderr, /^tapfleet run: 0 event\(s\); attached in [0-9.]+ ms, detached in [0-9.]+ ms$/m);
});

test('exit() in a USDT probe (a uprobe at the site) stops the run the same way', () => {
  const tap = file('exit-usdt.tap', 'probe usdt:/usr/bin/python3.11:python:gc__start {\n    printf("gc of generation %d\\n", arg0);\n    exit();\n}\n');
  const r = tapfleet('run', tap, '-c', '/usr/bin/python3.11 -c "import gc, time\ngc.collect(1)\ntime.sleep(600)"');
  assert.equal(r.signal, null, 'the run did not stop');
  assert.equal(r.code, 0, r.stderr);
  // The first collection may be an automatic one, of any generation; only the first is printed.
  // Then bpftrace's two newlines after END (no map to print).
  assert.match(r.stdout, /^gc of generation [0-2]\n\n\n$/);
});

test('exit() in begin and in interval probes stops the run; end probes still run, in statement order', () => {
  const begin = tapfleet('run', file('exit-begin.tap', 'probe begin { printf("begin %s %d\\n", "ok", -1); exit(); }\nprobe tracepoint:syscalls:sys_enter_getppid { @n = count(); }\nprobe end { printf("end\\n"); print(@n); printf("after\\n"); }\n'));
  assert.equal(begin.signal, null);
  assert.equal(begin.code, 0, begin.stderr);
  // Then every map at exit, as bpftrace prints them after END: the same values, read once when the run ended.
  assert.match(begin.stdout, /^begin ok -1\nend\n@n: (\d+)\nafter\n\n\n@n: \1\n$/);
  const interval = tapfleet('run', file('exit-interval.tap', 'probe interval:100ms { printf("tick %04x\\n", 255); exit(); }\nprobe end { printf("end\\n"); }\n'));
  assert.equal(interval.signal, null);
  assert.equal(interval.code, 0, interval.stderr);
  assert.equal(interval.stdout, 'tick 00ff\nend\n\n\n');
});

test('"Attached N probes" comes when the probes are live, before the command starts and before any event', () => {
  const tap = file('live.tap', 'probe tracepoint:syscalls:sys_enter_write /comm == "tflive"/ { printf("write %d\\n", args.count); }\nprobe interval:60s { printf("never\\n"); }\n');
  const command = `/bin/sh -c 'echo started; exec /usr/bin/python3 ${WORKLOAD} tflive'`;
  const json = tapfleet('run', tap, '--json', '-c', command);
  assert.equal(json.code, 0, json.stderr);
  const lines = json.stdout.trim().split('\n');
  // The kernel probe and the interval: two probes.
  assert.match(lines[0]!, /^\{"type":"live","probes":2,"failed":0,"attach_ms":[0-9.]+\}$/);
  assert.equal(lines[1], 'started');
  assert.deepEqual(lines.slice(2, 4).map((l) => JSON.parse(l) as unknown), [{ type: 'printf', data: 'write 1\n' }, { type: 'printf', data: 'write 5\n' }]);
  const text = tapfleet('run', tap, '-c', command);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stderr, /^Attached 2 probes in [0-9.]+ ms$/m);
  assert.equal(text.stdout.split('\n')[0], 'started');
});

test('tapfleet check diagnoses a bad format at its file:line:col', () => {
  const bad = file('bad.tap', 'probe tracepoint:syscalls:sys_enter_write {\n  printf("%d bytes to %s\\n", args.count, args.fd);\n}\n');
  const r = tapfleet('check', bad);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`^${bad}:2:42: error: %s prints a string, this is (unsigned )?int\\n  {3}printf`, 'm'));
});
