import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { makeBundle } from './bundle/bundle.js';
import { compileFixture, FIXTURE_PROFILES } from './test-profile.test-fixtures.js';

/** A script with every kind of layout: emits with integers and strings, keyed and keyless maps of each kind, stacks, printf(), a user-side probe. */
const SCRIPT = `probe tracepoint:sched:sched_switch {
  emit sw { next: args.next_pid, who: args.next_comm, prev: args.prev_pid, txn: args.next_pid }
  @n = count();
  @by[args.next_comm, args.next_pid] = sum(args.prev_pid);
  @h = hist(args.next_pid);
  @l[args.prev_comm] = lhist(args.next_pid, 0, 1000, 100);
  @last[args.next_pid] = args.next_comm;
  @k[kstack(7)] = count();
  printf("%s %d\\n", args.next_comm, args.next_pid);
}
probe interval:1s { print(@n); }
`;

test('the manifest carries the lowered layouts, and the generated C asserts every size and offset the manifest gives', () => {
  const fe = compileFixture(SCRIPT);
  assert.deepEqual(fe.diagnostics, []);
  const lowered = fe.lowered!;
  const { manifest } = makeBundle(fe, SCRIPT, Buffer.from('obj'), FIXTURE_PROFILES.kernel, [], generateKeyPairSync('ed25519').privateKey);
  assert.deepEqual(manifest.events, [...lowered.events.values()]);
  assert.deepEqual(manifest.maps, [...lowered.maps.values()]);
  assert.deepEqual(manifest.stacks, lowered.stacks);
  assert.deepEqual(manifest.attach, lowered.attach);
  assert.deepEqual(fe.programs!.map((p) => p.name), lowered.programs.map((p) => p.name));
  const c = fe.c!;
  for (const e of manifest.events) {
    assert.ok(c.includes(`_Static_assert(sizeof(struct ev_${e.name}) == ${e.size},`), `size of ${e.name}`);
    for (const f of e.fields) assert.ok(c.includes(`_Static_assert(__builtin_offsetof(struct ev_${e.name}, ${f.name}) == ${f.offset},`), `${e.name}.${f.name}`);
  }
  for (const m of manifest.maps) {
    const id = m.name.slice(1);
    assert.ok(c.includes(`_Static_assert(sizeof(struct tf_k_${id}) == ${m.keySize},`), `key of ${m.name}`);
    assert.ok(c.includes(`_Static_assert(sizeof(struct tf_v_${id}) == ${m.valueSize},`), `value of ${m.name}`);
    assert.ok(c.includes(`__uint(max_entries, ${m.maxEntries});\n\t__type(key, struct tf_k_${id});`), `entries of ${m.name}`);
  }
  for (const s of manifest.stacks!) assert.ok(c.includes(`__uint(max_entries, ${s.maxEntries});\n\t__uint(key_size, sizeof(__u32));\n\t__uint(value_size, ${s.depth} * sizeof(__u64));\n} ${s.name} SEC`), s.name);
  // The header's record prefix is checked against EVENT_PREFIX in every unit.
  assert.match(c, /#include "tapfleet.bpf.h"\n\n_Static_assert\(sizeof\(struct tf_prefix\) == 40,/);
});

test('the lowered layouts: prefix, integers, strings for records; keys in order at 8-byte granules; keyless maps one u32 slot', () => {
  const lowered = compileFixture(SCRIPT).lowered!;
  const sw = lowered.events.get('sw')!;
  assert.deepEqual(sw.fields.map((f) => [f.name, f.type, f.offset, f.size]), [['next', 'i64', 40, 8], ['prev', 'i64', 48, 8], ['txn', 'i64', 56, 8], ['who', 'str', 64, 16]]);
  assert.equal(sw.size, 80);
  assert.equal(sw.txnField, 'txn');
  const by = lowered.maps.get('@by')!;
  assert.deepEqual(by.keyFields.map((f) => [f.name, f.type, f.offset, f.size]), [['k0', 'str', 0, 16], ['k1', 'i64', 16, 8]]);
  assert.equal(by.keySize, 24);
  assert.deepEqual([lowered.maps.get('@n')!.keySize, lowered.maps.get('@n')!.maxEntries], [4, 1]);
  assert.equal(lowered.maps.get('@l')!.valueSize, 12 * 8);
  assert.deepEqual(lowered.maps.get('@k')!.keyFields, [{ name: 'k0', type: 'kstack', offset: 0, size: 8, stackMap: 'tf_stack_k7' }]);
  assert.deepEqual(lowered.maps.get('@last')!.valueSize, 16);
  assert.deepEqual(lowered.attach.map((a) => a.kind), ['tracepoint', 'interval']);
});
