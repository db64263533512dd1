import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFixture, errorsOf, FIXTURE_PROFILES } from './test-profile.test-fixtures.js';
import { frontEnd } from './compile.js';
import { formatDiagnostic } from './diagnostics.js';
import { makeBundle } from './bundle/bundle.js';
import { generateKeyPairSync } from 'node:crypto';

const SW = 'probe tracepoint:sched:sched_switch';

test('a bad format is diagnosed at the conversion inside the string, escapes counted', () => {
  assert.deepEqual(errorsOf(`${SW} { printf("a\\tb %q\\n", pid); }`), ["1:52: unknown conversion '%q'"]);
  assert.deepEqual(errorsOf(`${SW} { printf("100%"); }`), ["1:50: the format ends inside the conversion '%'"]);
  assert.deepEqual(errorsOf(`${SW} { printf("%*d", 3, pid); }`), ["1:47: a width or precision given as '*' is not supported"]);
  const d = compileFixture(`${SW} { printf("x %lls\\n", comm); }`).diagnostics[0]!;
  assert.equal(formatDiagnostic(d), [
    "script.tap:1:49: error: 'll' does not apply to %s",
    `  ${SW} { printf("x %lls\\n", comm); }`,
    `${' '.repeat(50)}^~~~`,
    '  write %s',
  ].join('\n'));
});

test('argument count and types are checked against the conversions', () => {
  assert.deepEqual(errorsOf(`${SW} { printf("%d %s\\n", pid); }`), ['1:50: not enough arguments for this format: 2 conversion(s), 1 argument(s)']);
  assert.deepEqual(errorsOf(`${SW} { printf("%d\\n", pid, tid); }`), ['1:59: too many arguments for this format: 1 conversion(s), 2 argument(s)']);
  assert.deepEqual(errorsOf(`${SW} { printf("%s\\n", pid); }`), ['1:54: %s prints a string, this is unsigned int']);
  assert.deepEqual(errorsOf(`${SW} { printf("%-5x\\n", args.prev_comm); }`), ['1:56: %-5x prints an integer, this is string[16]']);
  assert.deepEqual(errorsOf(`${SW} { printf("%c%p%o%X%i%u %s %%\\n", 65, 0, 8, 255, -1, 7, comm); }`), []);
  assert.deepEqual(errorsOf(`${SW} { printf(pid); }`), ["1:46: printf() takes a format string first, found 'pid'"]);
});

test('begin, end and interval probes printf() any value their program computes: maps, locals, nsecs, inside an if', () => {
  assert.deepEqual(errorsOf('probe begin { printf("%s %d %d\\n", "go", 1, -2); exit(); }'), []);
  assert.deepEqual(errorsOf(`${SW} { @n++; }\nprobe interval:1s { $t = nsecs; printf("%d %d\\n", @n, $t); if (@n > 5) { printf("many\\n"); } }`), []);
  // print() and printf() may come in any order; only a clear() before a printf() reading that map is refused (the program runs first).
  assert.deepEqual(errorsOf(`${SW} { @n++; @c = count(); }\nprobe end { print(@c); printf("%d\\n", @n); clear(@c); printf("done\\n"); }`), []);
  assert.deepEqual(errorsOf(`${SW} { @n++; }\nprobe interval:1s { clear(@n); printf("%d\\n", @n); }`), ['2:47: in an interval probe, printf() runs in its BPF program, before clear(@n) at 2:21: this would print @n as it was before the clear']);
});

test('each kernel printf() call site gets its own record layout; exit() one shared record', () => {
  const fe = compileFixture(`${SW} { printf("%s -> %s %d\\n", args.prev_comm, args.next_comm, args.next_pid); if (pid == 1) { exit(); } }
probe tracepoint:syscalls:sys_enter_getpid { printf("getpid %d\\n", pid); emit woke { pid2: tid } exit(); }
probe end { printf("bye %d\\n", nsecs); }`);
  assert.deepEqual(fe.diagnostics, []);
  const events = [...fe.lowered!.events.values()];
  assert.deepEqual(events.map((e) => [e.id, e.name, e.call?.fn ?? 'emit']), [[0, 'woke', 'emit'], [1, 'printf_0', 'printf'], [2, 'printf_1', 'printf'], [3, 'printf_2', 'printf'], [4, 'exit', 'exit']]);
  const p0 = events[1]!;
  // lower-events.ts puts integers first: the call's args say which field is which argument.
  assert.deepEqual(p0.fields.map((f) => [f.name, f.type, f.offset, f.size]), [['arg2', 'i64', 40, 8], ['arg0', 'str', 48, 16], ['arg1', 'str', 64, 16]]);
  assert.deepEqual(p0.call, { fn: 'printf', format: '%s -> %s %d\n', args: ['arg0', 'arg1', 'arg2'] });
  assert.equal(events[4]!.size, 40);
  assert.match(fe.c!, /struct ev_printf_0 \{/);
  assert.match(fe.c!, /tf_fill_prefix\(&tf_ev->PREFIX, 4\);\n\t*\t\tbpf_ringbuf_submit\(tf_ev, BPF_RB_NO_WAKEUP\);\n\t*\t\}\n\t*\}\n\t*return 0;/);
  // The manifest carries the layouts, and the end probe's printf() as an action naming its record (sent by its program).
  const { privateKey } = generateKeyPairSync('ed25519');
  const bundle = makeBundle(fe, 'x', Buffer.from('obj'), FIXTURE_PROFILES.kernel, [], privateKey);
  assert.deepEqual(bundle.manifest.events.map((e) => e.name), ['woke', 'printf_0', 'printf_1', 'printf_2', 'exit']);
  assert.deepEqual(bundle.manifest.attach.find((a) => a.kind === 'end'), { kind: 'end', kernel: 'p2_0', actions: [{ op: 'printf', record: 'printf_2' }] });
});

test('an emitted event may not take a printf() or exit() record name', () => {
  assert.deepEqual(errorsOf(`${SW} { emit printf_0 { a: 1 } printf("%d\\n", 1); }`), ['1:62: this printf() record is named printf_0, which an emit of this script also uses']);
  assert.deepEqual(errorsOf(`${SW} { emit exit { a: 1 } exit(); }`), ['1:58: exit() sends a record named exit, which an emit of this script also uses']);
});

test('a fleet deployment refuses exit(): it has no run to end', () => {
  const fe = frontEnd({ file: 'script.tap', text: `${SW} { exit(); }\nprobe begin { exit(); }`, kernel: FIXTURE_PROFILES.kernel, binaries: [], purpose: 'deploy' });
  assert.deepEqual(fe.diagnostics.map((d) => formatDiagnostic(d).split('\n')[0]), [
    'script.tap:1:39: error: exit() ends a tapfleet run; a deployment runs until it is stopped',
    'script.tap:2:15: error: exit() ends a tapfleet run; a deployment runs until it is stopped',
  ]);
});

test('printf() call sites share the 65,536 record ids with the events', () => {
  // 100 probes of 700 printf() calls: the 65,537th call (probe 94) is one too many.
  const body = Array(700).fill(`printf("");`).join(' ');
  const script = Array.from({ length: 100 }, () => `${SW} { ${body} }`).join('\n');
  const errors = errorsOf(script);
  assert.equal(errors.length, 1, errors.slice(0, 3).join('\n'));
  assert.match(errors[0]!, /^94:\d+: this script sends more than 65536 kinds of record \(events and printf\(\) call sites\)$/);
});

test('nothing after a top-level exit() in begin/end/interval runs, as in bpftrace 0.17 (its exit() ends the probe)', () => {
  // bpftrace -e 'BEGIN { @a = 1; exit(); @x = 5; printf("no\n"); }' prints only @a: 1; this printed "no" and @x: 5 too.
  const fe = compileFixture('BEGIN { @a = 1; exit(); @x = 5; printf("no\\n"); print(@a); }\nEND { printf("e %d\\n", 1); exit(); printf("after %d\\n", 2); }');
  assert.deepEqual(fe.diagnostics.filter((d) => d.severity === 'error'), []);
  const { privateKey } = generateKeyPairSync('ed25519');
  const bundle = makeBundle(fe, 'x', Buffer.from('obj'), FIXTURE_PROFILES.kernel, [], privateKey);
  const actions = (kind: string) => bundle.manifest.attach.find((a) => a.kind === kind) as { actions: { op: string; record?: string }[] };
  assert.deepEqual(actions('begin').actions, [{ op: 'exit' }]);
  assert.deepEqual(actions('end').actions, [{ op: 'printf', record: 'printf_1' }, { op: 'exit' }]);
  const begin = /SEC\("[^"]*"\)\s*int p0_0\b[\s\S]*?\n\}/.exec(fe.c!)?.[0] ?? '';
  assert.ok(begin.length > 0, 'the begin program is in the C');
  assert.ok(!begin.includes('printf_0') && !/= 5\b|\b5LL?\b/.test(begin), `the begin program neither writes @x nor sends the printf after exit():\n${begin}`);
});
