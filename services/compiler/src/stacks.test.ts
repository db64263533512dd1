import { test } from 'node:test';
import assert from 'node:assert/strict';
import { publishedLayout } from '@tapfleet/schemas';
import { compileFixture, errorsOf } from './test-profile.test-fixtures.js';

test('profile:hz:N and profile:ms/us:N resolve to sampling targets; bad forms say what is expected', () => {
  const r = compileFixture('probe profile:hz:99 { @s[kstack] = count(); }\nprobe profile:ms:10 { @t[ustack(5), comm] = count(); }\n');
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message), []);
  assert.deepEqual(r.probes.flatMap((p) => p.points.map((pt) => pt.target)), [{ kind: 'profile', hz: 99 }, { kind: 'profile', periodNs: 10_000_000 }]);
  assert.match(r.c!, /SEC\("perf_event"\)\nint p0_0\(struct bpf_perf_event_data \*ctx\)/);
  assert.match(r.c!, /BPF_MAP_TYPE_STACK_TRACE[^}]*value_size, 127 \* sizeof\(__u64\)\);\n\} tf_stack_k127/);
  assert.match(r.c!, /value_size, 5 \* sizeof\(__u64\)\);\n\} tf_stack_u5/);
  assert.match(r.c!, /tf_stack_key\(ctx, &tf_stack_u5, BPF_F_USER_STACK\)/);
  assert.deepEqual(errorsOf('probe profile:hz:0 { @s[kstack] = count(); }'), ["1:7: 'profile:hz:0' is not a profile probe"]);
  assert.deepEqual(errorsOf('probe profile:hz:200000 { @s[kstack] = count(); }'), ['1:7: profile:hz:200000 samples more than 100000 times a second']);
  assert.deepEqual(errorsOf('probe profile:ns:100 { @s[kstack] = count(); }'), ["1:7: unknown profile unit 'ns'"]);
  assert.deepEqual(errorsOf('probe profile:hz:99 { @s[arg0] = count(); }'), ['1:26: profile probes have no arguments']);
});

test('kstack/ustack: depth bounds, no arithmetic, no stack from a local in a record, no aggregation value', () => {
  assert.deepEqual(errorsOf('probe profile:hz:99 { @s[kstack(0)] = count(); }'), ['1:33: the depth of kstack() must be a constant from 1 to 127']);
  assert.deepEqual(errorsOf('probe profile:hz:99 { @s[ustack(128)] = count(); }'), ['1:33: the depth of ustack() must be a constant from 1 to 127']);
  assert.deepEqual(errorsOf('probe profile:hz:99 { @s[kstack(perf, 3)] = count(); }'), ['1:26: kstack() takes one constant depth: kstack(N), or kstack alone for 127 frames']);
  assert.deepEqual(errorsOf('probe profile:hz:99 { @s[kstack + 1] = count(); }'), ['1:26: a stack is not a value to compute with (+)']);
  // A record carries a stack written in place (emit-stack fields, below); a stack held in a local is a map key.
  assert.deepEqual(errorsOf('probe profile:hz:99 { $s = kstack; emit e { st: $s }; }'), ['1:49: a record carries a stack written in place: this kstack(127) comes from elsewhere']);
  assert.deepEqual(errorsOf('probe profile:hz:99 { @s = sum(kstack); }'), ['1:32: the value of sum() must be an integer, not kstack(127)']);
  assert.deepEqual(errorsOf('probe profile:hz:99 { @s[kstack(1), kstack(2), ustack(3), ustack(4), kstack(5)] = count(); }'), ['1:70: a script keeps at most 4 kinds of stack (kstack, ustack, each depth one)']);
});

test('a stack key in the manifest names its stack map; the bundle lists each (kind, depth) map once', () => {
  const r = compileFixture('probe tracepoint:sched:sched_switch { @a[kstack, ustack] = count(); @b[kstack] = count(); }\n');
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message), []);
  assert.deepEqual([...r.analysis!.stacks.values()].map((t) => [t.user, t.depth]).sort(), [[false, 127], [true, 127]]);
});

test('a stack event field is copied into the record: laid out last, 8 bytes of length then its frames; no stack map; the published layout makes it text', () => {
  const r = compileFixture('probe tracepoint:sched:sched_switch { emit sw { who: args.next_comm, k: kstack(6), next: args.next_pid, u: ustack } printf("%d%s\\n", pid, ustack(3)); }\n');
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message), []);
  const sw = r.lowered!.events.get('sw')!;
  // who is 16 bytes at 48: the stacks start 8-aligned at 64.
  assert.deepEqual(sw.fields.map((f) => [f.name, f.type, f.offset, f.size]), [['next', 'i64', 40, 8], ['who', 'str', 48, 16], ['k', 'kstack', 64, 8 + 6 * 8], ['u', 'ustack', 120, 8 + 127 * 8]]);
  assert.equal(sw.size, 120 + 1024);
  const p = r.lowered!.events.get('printf_0')!;
  assert.deepEqual(p.fields.map((f) => [f.name, f.type, f.size]), [['arg0', 'u64', 8], ['arg1', 'ustack', 32]]);
  // Copied by bpf_get_stack into the reserved record: no stack-trace map, none in the manifest.
  assert.equal(r.lowered!.stacks.length, 0);
  assert.equal(r.analysis!.stacks.size, 0);
  assert.doesNotMatch(r.c!, /BPF_MAP_TYPE_STACK_TRACE/);
  assert.match(r.c!, /struct \{ __s64 bytes; __u64 ips\[6\]; \} k;/);
  assert.match(r.c!, /tf_ev->k\.bytes = bpf_get_stack\(ctx, tf_ev->k\.ips, sizeof\(tf_ev->k\.ips\), 0\);/);
  assert.match(r.c!, /tf_ev->u\.bytes = bpf_get_stack\(ctx, tf_ev->u\.ips, sizeof\(tf_ev->u\.ips\), BPF_F_USER_STACK\);/);
  assert.match(r.c!, /_Static_assert\(__builtin_offsetof\(struct ev_sw, u\) == 120,/);
  // Published (what leaves the host): every other field in place, each stack a string of 64 bytes a frame, at most 4 KiB.
  const pub = publishedLayout(sw);
  assert.deepEqual(pub.fields.map((f) => [f.name, f.type, f.offset, f.size]), [['next', 'i64', 40, 8], ['who', 'str', 48, 16], ['k', 'str', 64, 384], ['u', 'str', 448, 4096]]);
  assert.equal(pub.size, 448 + 4096);
});

test('stack event fields: depth bounds, a record size bound, one type per field across emits, printf() prints a stack with %s only', () => {
  assert.deepEqual(errorsOf('probe profile:hz:99 { emit e { s: kstack(0) }; }'), ['1:42: the depth of kstack() must be a constant from 1 to 127']);
  assert.deepEqual(errorsOf('probe profile:hz:99 { emit e { s: ustack(128) }; }'), ['1:42: the depth of ustack() must be a constant from 1 to 127']);
  // Eight full stacks: 40 + 8 x 1024 bytes, past the 8 KiB a record may take.
  const eight = Array.from({ length: 8 }, (_, i) => `s${i}: kstack`).join(', ');
  assert.deepEqual(errorsOf(`probe profile:hz:99 { emit e { ${eight} }; }`), ['1:23: event e is 8232 bytes, more than 8192']);
  assert.deepEqual(errorsOf('probe profile:hz:99 { emit e { s: kstack(4) }; }\nprobe profile:hz:9 { emit e { s: kstack(5) }; }'), ['2:22: event e is emitted elsewhere with different fields']);
  assert.deepEqual(errorsOf('probe profile:hz:99 { emit e { s: kstack(4) }; }\nprobe profile:hz:9 { emit e { s: ustack(4) }; }'), ['2:22: event e is emitted elsewhere with different fields']);
  assert.deepEqual(errorsOf('probe profile:hz:99 { printf("%d\\n", kstack); }'), ['1:38: %d prints an integer, this is kstack(127)']);
  assert.deepEqual(errorsOf('probe profile:hz:99 { printf("%s\\n", kstack); }'), []);
  // Map keys and event fields together: only the key needs a stack map.
  const both = compileFixture('probe profile:hz:99 { @k[kstack(5)] = count(); emit e { s: kstack(5), u: ustack(9) } }\n');
  assert.deepEqual(both.lowered!.stacks.map((m) => m.name), ['tf_stack_k5']);
});
