import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { LIMITS } from '@tapfleet/compiler';
import { compileForThisHost } from '@tapfleet/local';
import { mapText } from '@tapfleet/schemas';
import { buildTracee, traceCommand, TEST_SIGNING_KEY } from './kernel-harness.js';

/**
 * Value maps (`@m[k] = expr`) on the real kernel through the real runner: stores seen by later
 * reads (in the same probe and in others), 0 / "" when absent, delete, scalars and ++, strings,
 * the anonymous map, str(p, N)'s bound, and the bound of a value map.
 */
describe('value maps in the kernel', () => {
  let tracee = '';
  before(() => {
    tracee = buildTracee();
  });

  test('a store is read back at once; an absent key reads 0; ++ and += on scalars', async () => {
    // tracee calls N: tf_add(i, 1000 + i) for i in 0..N-1, one thread.
    const r = await traceCommand(`probe uprobe:${tracee}:tf_add {
  @last[arg0 % 3] = arg1;
  @n++;
  @sum += arg0;
  emit r { stored: @last[arg0 % 3], absent: @last[arg0 + 100] }
}`, [tracee, 'calls', '50']);
    assert.equal(r.collected.length, 50);
    r.collected.forEach((e, i) => {
      assert.equal(e.fields.stored, BigInt(1000 + i));
      assert.equal(e.fields.absent, 0n);
    });
    const last = new Map(r.maps.get('@last')!.map((e) => [e.key[0], e.value]));
    assert.deepEqual([...last.entries()].sort(), [[0n, 1048n], [1n, 1049n], [2n, 1047n]]);
    assert.equal(r.maps.get('@n')![0]!.value, 50n);
    assert.equal(r.maps.get('@sum')![0]!.value, BigInt((49 * 50) / 2));
  });

  test('start/end timing across two probes keyed by thread, with a predicate and delete', async () => {
    // tracee sleeps 3: tf_sleep_ms(20), (30), (40).
    const r = await traceCommand(`probe uprobe:${tracee}:tf_sleep_ms { @start[tid] = nsecs; @ms[tid] = arg0; }
probe uretprobe:${tracee}:tf_sleep_ms /@start[tid]/ {
  emit slept { ms: @ms[tid], took: nsecs - @start[tid] }
  delete(@start[tid]);
}`, [tracee, 'sleeps', '3']);
    assert.equal(r.collected.length, 3);
    r.collected.forEach((e, i) => {
      const ms = 20 + 10 * i;
      assert.equal(e.fields.ms, BigInt(ms));
      assert.ok(Number(e.fields.took as bigint) >= ms * 1e6, `took ${e.fields.took} ns for a ${ms} ms sleep`);
    });
    assert.equal(r.maps.get('@start')!.length, 0, 'every start was deleted');
    assert.equal(r.maps.get('@ms')!.length, 1, 'one thread, one key');
  });

  test('string values, "" when absent, str(p, N) holds N - 1 characters, the anonymous map prints as bpftrace does', async () => {
    const r = await traceCommand(`probe usdt:${tracee}:tftest:tick {
  @label[arg0 % 2] = str(arg1);
  @[comm] = count();
  if (@label[7] == "") { @absent = count(); }
  emit t { five: str(arg1, 5) }
}`, [tracee, 'calls', '20']);
    const labels = r.maps.get('@label')!;
    assert.deepEqual(labels.map((e) => [e.key[0], e.text]).sort(), [[0n, 'tick-18'], [1n, 'tick-19']]);
    assert.equal(r.maps.get('@absent')![0]!.value, 20n);
    assert.ok(r.collected.every((e) => e.fields.five === 'tick'), r.collected.map((e) => e.fields.five).join(','));
    assert.deepEqual(mapText({ name: '@', kind: 'count' }, r.maps.get('@')!), ['@[tracee]: 20']);
    assert.deepEqual(mapText({ name: '@label', kind: 'value' }, labels), ['@label[0]: tick-18', '@label[1]: tick-19']);
  });

  test(`a value map holds at most ${LIMITS.maxValueMapEntries} keys; printing a full map says so`, async () => {
    const calls = LIMITS.maxValueMapEntries + 200;
    const script = `probe uprobe:${tracee}:tf_add { @k[arg0] = arg1; }`;
    const bundle = await compileForThisHost('full.tap', script, { signingKey: TEST_SIGNING_KEY });
    const layout = bundle.manifest.maps.find((m) => m.name === '@k')!;
    assert.deepEqual([layout.kind, layout.valueType, layout.maxEntries], ['value', 'i64', LIMITS.maxValueMapEntries]);
    const r = await traceCommand(script, [tracee, 'calls', String(calls)]);
    const entries = r.maps.get('@k')!;
    assert.equal(entries.length, LIMITS.maxValueMapEntries);
    const text = mapText(layout, entries);
    assert.equal(text[0], `warning: @k is full (${LIMITS.maxValueMapEntries} keys): new keys were not stored; delete() keys once used`);
    assert.equal(text.length, LIMITS.maxValueMapEntries + 1);
  });
});
