import { test } from 'node:test';
import assert from 'node:assert/strict';
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

test('kstack/ustack are map keys only: depth bounds, no arithmetic, no event field, no aggregation value', () => {
  assert.deepEqual(errorsOf('probe profile:hz:99 { @s[kstack(0)] = count(); }'), ['1:33: the depth of kstack() must be a constant from 1 to 127']);
  assert.deepEqual(errorsOf('probe profile:hz:99 { @s[ustack(128)] = count(); }'), ['1:33: the depth of ustack() must be a constant from 1 to 127']);
  assert.deepEqual(errorsOf('probe profile:hz:99 { @s[kstack(perf, 3)] = count(); }'), ['1:26: kstack() takes one constant depth: kstack(N), or kstack alone for 127 frames']);
  assert.deepEqual(errorsOf('probe profile:hz:99 { @s[kstack + 1] = count(); }'), ['1:26: a stack is not a value to compute with (+)']);
  assert.deepEqual(errorsOf('probe profile:hz:99 { emit e { st: kstack }; }'), ['1:32: event field st is a stack: stacks are map keys, not event fields yet']);
  assert.deepEqual(errorsOf('probe profile:hz:99 { @s = sum(kstack); }'), ['1:32: the value of sum() must be an integer, not kstack(127)']);
  assert.deepEqual(errorsOf('probe profile:hz:99 { @s[kstack(1), kstack(2), ustack(3), ustack(4), kstack(5)] = count(); }'), ['1:70: a script keeps at most 4 kinds of stack (kstack, ustack, each depth one)']);
});

test('a stack key in the manifest names its stack map; the bundle lists each (kind, depth) map once', () => {
  const r = compileFixture('probe tracepoint:sched:sched_switch { @a[kstack, ustack] = count(); @b[kstack] = count(); }\n');
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message), []);
  assert.deepEqual([...r.analysis!.stacks.values()].map((t) => [t.user, t.depth]).sort(), [[false, 127], [true, 127]]);
});
