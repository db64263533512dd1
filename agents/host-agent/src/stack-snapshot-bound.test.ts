import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boundStackEntries, otherStacks } from './stack-snapshot-bound.js';

const STACK0 = [{ index: 0, user: true }];

test('stack snapshot bound: under the budget nothing changes', () => {
  const entries = [{ key: ['a+1\nmain+2', 'x'], value: 3n }];
  assert.deepEqual(boundStackEntries('count', STACK0, entries, 1000), entries);
});

test('stack snapshot bound: the hottest stacks are kept; the rest fold into one entry per other key, counts summed', () => {
  const big = (name: string) => `${name}+1\n${'frame+1\n'.repeat(20)}main+2`;
  const entries = [
    { key: [big('cold1'), 'x'], value: 1n },
    { key: [big('hot'), 'x'], value: 50n },
    { key: [big('cold2'), 'x'], value: 2n },
    { key: [big('cold3'), 'y'], value: 4n },
  ];
  const out = boundStackEntries('count', STACK0, entries, big('hot').length + 1 + 10);
  assert.deepEqual(out.map((e) => [String(e.key[0]).split('\n')[0], e.key[1], e.value]), [
    ['hot+1', 'x', 50n],
    [otherStacks(3), 'y', 4n],
    [otherStacks(3), 'x', 3n],
  ]);
});
