import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { compileFixture, errorsOf } from './test-profile.test-fixtures.js';

/**
 * `alias NAME = END key K pairs START[, START...] key K`: the start/end map is keyed by the
 * key each side computes, not by the current thread. The fixture kernel has sched_switch
 * (prev_pid at offset 24, next_pid at 56) and sched_process_exec (pid at 12, old_pid at 16).
 */
const SWITCH = 'tracepoint:sched:sched_switch';
const EXEC = 'tracepoint:sched:sched_process_exec';

describe('pairs keyed per side', () => {
  test('off-CPU shape: the start side keys on prev_pid, the end side on next_pid, in a struct key', () => {
    const r = compileFixture(`alias offcpu = ${SWITCH} key args.next_pid pairs ${SWITCH} key args.prev_pid { $tid = args.next_pid; $state = @entry(args.prev_state); }
probe offcpu { @off[$tid] = hist(latency); @states = sum($state); }`);
    assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message), []);
    const c = r.c!;
    assert.match(c, /struct tf_pk_0 \{\n\t__s64 k\[1\];\n\};/);
    assert.match(c, /__type\(key, struct tf_pk_0\);/);
    const entry = c.slice(c.indexOf('int p0_0_entry('), c.indexOf('int p0_0('));
    const end = c.slice(c.indexOf('int p0_0('));
    assert.match(entry, /tf_key\.k\[0\] = \(\(__s64\)\*\(__s32 \*\)\(\(char \*\)ctx \+ 24\)\);/, entry);
    assert.match(entry, /bpf_map_update_elem\(&tf_entry_0, &tf_key, &tf_e, BPF_ANY\);/);
    assert.match(end, /tf_key\.k\[0\] = \(\(__s64\)\*\(__s32 \*\)\(\(char \*\)ctx \+ 56\)\);/, end);
    assert.match(end, /bpf_map_lookup_elem\(&tf_entry_0, &tf_key\);/);
    assert.doesNotMatch(c, /tf_tid/);
  });

  test('a tuple key, and several start points each get a program storing into the same map', () => {
    const r = compileFixture(`alias t = ${SWITCH} key (pid, args.next_prio) pairs ${SWITCH}, ${EXEC} key (pid, 7) { $x = 1; }
probe t { @l = hist(latency); }`);
    assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message), []);
    assert.match(r.c!, /__s64 k\[2\];/);
    assert.deepEqual(r.programs!.map((p) => `${p.name} ${p.target.kind === 'tracepoint' ? p.target.event : ''}`), ['p0_0_entry sched_switch', 'p0_0_entry1 sched_process_exec', 'p0_0 sched_switch']);
  });

  test('@entry() and the start key are typed against the start point, not the end', () => {
    // sched_process_exec has old_pid, sched_switch does not: valid at the start, refused at the end.
    assert.deepEqual(errorsOf(`alias e = ${SWITCH} key args.next_pid pairs ${EXEC} key args.pid { $old = @entry(args.old_pid); }\nprobe e { @n = sum($old); }`), []);
    assert.deepEqual(errorsOf(`alias e = ${SWITCH} key args.next_pid pairs ${EXEC} key args.pid { $old = args.old_pid; }\nprobe e { @n = sum($old); }`), [
      "1:123: tracepoint sched:sched_switch has no field 'old_pid'",
    ]);
  });

  test('in a probe mixing a keyed and an unkeyed pair, the unkeyed one stores its thread in k[0]', () => {
    const r = compileFixture(`alias k = ${SWITCH} key (args.next_pid, cpu) pairs ${SWITCH} key (args.prev_pid, cpu)\nalias u = ${EXEC} pairs ${SWITCH}\nprobe k, u { @l = hist(latency); }`);
    assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message), []);
    const unkeyed = r.c!.slice(r.c!.indexOf('int p0_1_entry('));
    assert.match(unkeyed, /tf_key\.k\[0\] = \(__s64\)\(__u32\)bpf_get_current_pid_tgid\(\);/);
    assert.match(r.c!, /__s64 k\[2\];/);
  });

  test('an unkeyed pair still keys on the current thread (a __u32 key)', () => {
    const r = compileFixture(`alias u = ${SWITCH} pairs ${EXEC} { $x = 1; }\nprobe u { @l = hist(latency); }`);
    assert.match(r.c!, /__type\(key, __u32\);/);
    assert.match(r.c!, /bpf_map_lookup_elem\(&tf_entry_0, &tf_tid\);/);
  });
});

/** Misuse of `key`: each a diagnostic at file:line:col. */
const CASES: [string, string, string][] = [
  ['a key without pairs', `alias a = ${SWITCH} key args.next_pid { }\nprobe a { @n = count(); }`, '1:41: alias a has a key but no pairs'],
  ['a key on the end only', `alias a = ${SWITCH} key args.next_pid pairs ${SWITCH} { }\nprobe a { @n = count(); }`, '1:41: alias a keys its end but not its start'],
  ['a key on the start only', `alias a = ${SWITCH} pairs ${SWITCH} key args.prev_pid { }\nprobe a { @n = count(); }`, '1:77: alias a keys its start but not its end'],
  ['keys of different lengths', `alias a = ${SWITCH} key args.next_pid pairs ${SWITCH} key (args.prev_pid, cpu) { }\nprobe a { @n = count(); }`, '1:95: the start key of alias a has 2 value(s), its end key 1'],
  ['too many key values', `alias a = ${SWITCH} key (1, 2, 3, 4, 5) pairs ${SWITCH} key (1, 2, 3, 4, 5) { }\nprobe a { @n = count(); }`, '1:41: a pair key holds at most 4 values, this one 5'],
  ['a key reading a local', `alias a = ${SWITCH} key $x pairs ${SWITCH} key pid { $x = 1; }\nprobe a { @n = count(); }`, "1:45: a pair key cannot read $x: the alias's locals are assigned after the key is computed"],
  ['a key using @entry()', `alias a = ${SWITCH} key @entry(pid) pairs ${SWITCH} key pid { }\nprobe a { @n = count(); }`, '1:45: a pair key cannot use @entry()'],
  ['a key using latency', `alias a = ${SWITCH} key pid pairs ${SWITCH} key latency / 2 { }\nprobe a { @n = count(); }`, '1:89: a pair key cannot use latency'],
  ['a string key', `alias a = ${SWITCH} key args.next_comm pairs ${SWITCH} key args.prev_comm { }\nprobe a { @n = count(); }`, '1:45: a pair key must be integers, not string[16]'],
  ['a key field the start point lacks', `alias a = ${SWITCH} key args.next_pid pairs ${EXEC} key args.prev_pid { }\nprobe a { @n = count(); }`, "1:105: tracepoint sched:sched_process_exec has no field 'prev_pid'"],
];

describe('pair key diagnostics', () => {
  for (const [name, script, expected] of CASES)
    test(name, () => {
      const errors = errorsOf(script);
      assert.ok(errors.some((e) => e.startsWith(expected)), `expected "${expected}", got:\n${errors.join('\n')}`);
    });
});
