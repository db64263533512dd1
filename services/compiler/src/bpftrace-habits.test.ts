import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { compileFixture, errorsOf as fixtureErrors, FIXTURE_PROFILES } from './test-profile.test-fixtures.js';
import { formatDiagnostic } from './diagnostics.js';
import { frontEnd } from './compile.js';
import { loadTapsets } from './tapsets.js';

const TAPSETS = loadTapsets().aliases;
/** Compiles with the project's tapsets and no binary paths, as `tapfleet check` without --binary does. */
const withTapsets = (text: string) => frontEnd({ file: 'script.tap', text, kernel: FIXTURE_PROFILES.kernel, binaries: FIXTURE_PROFILES.binaries, tapsets: TAPSETS });
const errorsOf = (text: string) =>
  text.includes('postgresql.') ? withTapsets(text).diagnostics.filter((d) => d.severity === 'error').map((d) => formatDiagnostic(d).split('\n')[0]!.replace(/^script\.tap:/, '').replace(' error:', '')) : fixtureErrors(text);

const TP = 'probe tracepoint:sched:sched_switch';
/** The fixture kernel profile has no sched_wakeup: sched_process_exec has a pid field too. */
const WAKE = 'probe tracepoint:sched:sched_process_exec';

/** Scripts a bpftrace user writes that are valid here too. */
const ACCEPTED: [string, string][] = [
  ['a value map stored and read across probes', `${WAKE} { @qtime[args.pid] = nsecs; }\n${TP} /@qtime[args.next_pid]/ { @us = hist((nsecs - @qtime[args.next_pid]) / 1000); delete(@qtime[args.next_pid]); }`],
  ['a read before the store, in source order', `${TP} /@qtime[args.next_pid]/ { @us = hist(nsecs - @qtime[args.next_pid]); }\n${WAKE} { @qtime[args.pid] = nsecs; }`],
  ['args->field', `${TP} { @s[args->next_pid] = count(); }`],
  ['an anonymous scalar map', `${TP} { @ = count(); }\nprobe end { print(@); }`],
  ['an anonymous keyed map', `${TP} { @[comm] = count(); }\n${WAKE} { @[comm] = count(); }\nprobe interval:1s { print(@); clear(@); }`],
  ['scalar globals, ++ and +=', `${TP} { @x = 1; @y++; @z += args.prev_pid; @w -= 2; @v--; $a = @x + @y; }`],
  ['string values', `${TP} { @last[args.next_pid] = args.next_comm; if (@last[args.prev_pid] == "bash") { @b = count(); } }`],
  ['delete of a scalar', `${TP} { @x = 1; delete(@x); }`],
  ['interval:s:N and interval:ms:N', `${TP} { @n = count(); }\nprobe interval:s:1 { print(@n); }\nprobe interval:ms:500 { clear(@n); }`],
  ['bpftrace short probe kinds', 'probe t:sched:sched_switch { @n = count(); }'],
  ['BEGIN { @x = 1 } and the rest of a begin probe\'s map writes', `${TP} /pid == @x/ { @n[@who] = count(); }\nprobe begin { $v = 2; @x = $v * 21; @who = "me"; if (@x > 40) { @big = 1; } else { delete(@x); } @c = count(); printf("set\\n"); print(@x); }`],
  ['interval and end probes\' map writes before their print()', `${TP} { @n++; @s[tid] = nsecs; }\nprobe interval:1s { @ticks++; @seen = @n; print(@seen); clear(@n); }\nprobe end { delete(@s[1]); @final = @ticks * 10; print(@final); }`],
  ['positional parameters ($1 not given reads 0, with a warning; $# counts them)', `${TP} /pid == $1 && $# < 2/ { @n[str($2)] = count(); }\nprobe begin { printf("%d %s\\n", $1, str($2)); }`],
];

/** [name, script, the one expected "line:col: message" (a prefix)]: one cause, one diagnostic. */
const ONE_CAUSE: [string, string, string][] = [
  ['an unknown bare point is one error, not two', 'probe foo { @n = count(); }', "1:7: unknown probe point or alias 'foo'"],
  ['a tapset alias without --binary names the binary once', 'probe postgresql.query { @q[$query] = count(); @l = hist(latency); }', '1:7: postgresql.query needs the path of binary $postgres'],
  ['a $binary point without --binary', 'probe uprobe:$app:main { @n = count(); }', '1:7: uprobe:$app:main needs the path of binary $app'],
  ['a bad interval, with a body that would be fine', 'probe interval:5q { print(@n); }', "1:7: 'interval:5q' is not an interval"],
  ['kfunc', 'probe kfunc:vfs_read { @n = count(); }', "1:7: unknown probe kind 'kfunc'"],
  ['kprobe on a kernel without kprobes', 'probe kprobe:do_sys_open { @n = count(); }', '1:7: kprobe probes are not supported by kernel'],
  ['a map read never written', `${TP} { @n[tid] = @start[tid]; }`, '1:49: @start is read but never assigned in this script'],
  ['$x before assignment', `${TP} { @n = sum($x); }`, '1:48: $x is used before it is assigned'],
  ['count() as a statement', `${TP} { count(); }`, '1:39: count() must be assigned to a map'],
  ['count() in an expression', `${TP} { $x = count(); }`, '1:44: count() can only be assigned to a map'],
  ['an aggregation combined with an operator', `${TP} { @x = count() + 1; }`, '1:52: an aggregation is a whole statement'],
  ['a map used as aggregation and value', `${TP} { @m[tid] = count(); }\n${WAKE} { @m[args.pid] = nsecs; }`, '2:45: @m holds count() (at 1:39), so it cannot also be assigned a value'],
  ['a value map then aggregated', `${WAKE} { @m[args.pid] = nsecs; }\n${TP} { @m[tid] = count(); }`, '2:39: @m holds values (assigned at 1:45), so it cannot also hold count()'],
  ['an aggregation read in a probe', `${TP} { @c = count(); if (@c > 5) { @big = count(); } }`, '1:57: @c holds count() (at 1:39): an aggregation cannot be read in a probe'],
  ['a value map with different keys', `${WAKE} { @t[args.pid] = nsecs; }\n${TP} { @d = hist(@t[args.next_pid, cpu]); }`, '2:49: @t is keyed by [int] at 1:45, here by [int, unsigned int]'],
  ['integer then string values', `${TP} { @v[tid] = nsecs; @v[tid] = comm; }`, '1:66: @v holds integers (assigned at 1:39), not string[16]'],
  ['delete with the wrong keys', `${WAKE} { @t[args.pid] = nsecs; }\n${TP} { delete(@t); }`, '2:39: @t is keyed by [int] at 1:45, here by no key'],
  ['an unknown function in a value', `${TP} { @v = foo(1); }`, '1:44: unknown function foo()'],
  ['str() length over 256', `${TP} { @s[tid] = str(args.prev_pid, 300); }`, '1:68: string length must be 1..256'],
  // begin/end/interval: map writes run first as a BPF program, then print()/clear(): a write after them is refused.
  ['a reset after print() in interval', `${TP} { @n++; }\nprobe interval:1s { print(@n); @n = 0; }`, '2:32: in an interval probe, map writes run first (as a BPF program), then print() and clear(): this one comes after print(@n)'],
  ['print() inside if in begin', `${TP} /pid == @x/ { @n = count(); }\nprobe begin { @x = 1; if (@x) { print(@x); } }`, '2:33: in a begin probe, print() cannot be inside if: the map writes run first, as a BPF program, and print() after'],
  ['emit in begin', `probe begin { emit e { a: 1 } }`, '1:15: begin probes may write maps, print() or clear() them, printf() and exit(): emit is not supported there'],
  ['a positional parameter assigned', `${TP} { $1 = 5; @n = count(); }`, '1:39: $1 is a positional parameter (a word given after the script), not a variable'],
];

describe('bpftrace habits: accepted where they mean the same, else one diagnostic with the fix', () => {
  for (const [name, script] of ACCEPTED)
    test(`accepted: ${name}`, () => assert.deepEqual(errorsOf(script), []));

  for (const [name, script, expected] of ONE_CAUSE)
    test(`one diagnostic: ${name}`, () => {
      const errors = errorsOf(script);
      assert.equal(errors.length, 1, `expected one error, got:\n${errors.join('\n')}`);
      assert.ok(errors[0]!.startsWith(expected), `expected "${expected}", got:\n${errors[0]}`);
      const d = (script.includes('postgresql.') ? withTapsets(script) : compileFixture(script)).diagnostics.find((x) => x.severity === 'error')!;
      assert.ok(d.hint, `the diagnostic says what would be right:\n${formatDiagnostic(d)}`);
    });

  test('the tapset diagnostic puts the fix in the hint', () => {
    const d = withTapsets('probe postgresql.query { @q[$query] = count(); }').diagnostics[0]!;
    assert.equal(d.hint, 'give it with --binary postgres=/path/to/postgres');
  });
});

describe('a begin, end or interval probe\'s map writes', () => {
  test('are one raw_tp program, not scoped and not attached, that the manifest\'s begin entry names; its printf() sends a record there, print() stays a user action', () => {
    const fe = compileFixture(`${TP} /pid == @x/ { @n = count(); }\nprobe begin { @x = 42; printf("set\\n"); print(@x); }\nprobe end { print(@n); }`);
    assert.deepEqual(fe.diagnostics.filter((d) => d.severity === 'error'), []);
    const fn = /SEC\("raw_tp"\)\nint p1_0\(void \*ctx\)\n\{\n[\s\S]*?\n\treturn 0;\n\}/.exec(fe.c!)?.[0];
    assert.ok(fn, fe.c);
    assert.match(fn, /bpf_map_update_elem\(&m_x, &tf_k, &tf_nv, BPF_ANY\)/);
    assert.doesNotMatch(fn, /tf_in_scope/, 'no scope check (the runner runs it)');
    assert.match(fn, /struct ev_printf_0 \*tf_ev = bpf_ringbuf_reserve/, 'printf() sends its record from the program');
    const begin = fe.lowered!.attach.find((x) => x.kind === 'begin');
    assert.deepEqual(begin, { kind: 'begin', kernel: 'p1_0', actions: [{ op: 'printf', record: 'printf_0' }, { op: 'print', map: '@x' }] });
    assert.deepEqual(fe.lowered!.attach.find((x) => x.kind === 'end'), { kind: 'end', actions: [{ op: 'print', map: '@n' }] }, 'end has no program');
    assert.ok(!fe.lowered!.attach.some((x) => 'program' in x && x.program === 'p1_0'), 'run once, never attached');
  });

  test('an interval\'s and an end probe\'s are programs the manifest\'s entries name, run at each firing', () => {
    const fe = compileFixture(`${TP} { @n++; }\nprobe interval:1s { @seen = @n; print(@seen); clear(@n); }\nprobe end { @final = 1; }`);
    assert.deepEqual(fe.diagnostics.filter((d) => d.severity === 'error'), []);
    assert.deepEqual(fe.lowered!.attach.filter((x) => x.kind === 'interval' || x.kind === 'end'), [
      { kind: 'interval', periodNs: 1e9, kernel: 'p1_0', actions: [{ op: 'print', map: '@seen' }, { op: 'clear', map: '@n' }] },
      { kind: 'end', kernel: 'p2_0', actions: [] },
    ]);
    assert.match(fe.c!, /SEC\("raw_tp"\)\nint p1_0\(void \*ctx\)/);
    assert.match(fe.c!, /SEC\("raw_tp"\)\nint p2_0\(void \*ctx\)/);
  });
});

describe('value maps in the generated C', () => {
  test('a shared (not per-CPU) hash, read as 0 when absent, written with one update', () => {
    const c = compileFixture(`${WAKE} { @qtime[args.pid] = nsecs; }\n${TP} /@qtime[args.next_pid]/ { delete(@qtime[args.next_pid]); }`).c!;
    const def = /struct \{\n\t__uint\(type, BPF_MAP_TYPE_HASH\);\n\t__uint\(map_flags, BPF_F_NO_PREALLOC\);\n\t__uint\(max_entries, 10240\);\n\t__type\(key, struct tf_k_qtime\);\n\t__type\(value, struct tf_v_qtime\);\n\} m_qtime SEC\("\.maps"\);/;
    assert.match(c, def);
    assert.match(c, /tf_rv\d+ \? tf_rv\d+->v : \(__s64\)0/);
    assert.match(c, /bpf_map_update_elem\(&m_qtime, &tf_k, &tf_nv, BPF_ANY\)/);
  });

  test('str(p, N) is a buffer of N bytes, NUL included, as in bpftrace; str(p) is str(p, 64)', () => {
    const fe = compileFixture(`probe tracepoint:syscalls:sys_enter_openat { emit o { a: str(args.filename, 128), b: str(args.filename), c: str(args.filename, 1) } }`);
    const fields = fe.lowered!.events.get('o')!.fields;
    assert.deepEqual(fields.map((f) => [f.name, f.size]), [['a', 128], ['b', 64], ['c', 1]]);
  });

  test('the manifest describes value maps: kind, value type and size, bound', () => {
    const fe = compileFixture(`${TP} { @name[args.next_pid] = args.next_comm; @n = 1; }`);
    const m = fe.analysis!.maps;
    assert.equal(m.get('@name')!.kind, 'value');
    assert.deepEqual(m.get('@name')!.valueType, { kind: 'str', size: 16 });
    assert.deepEqual(m.get('@n')!.valueType, { kind: 'int', signed: true });
  });
});
