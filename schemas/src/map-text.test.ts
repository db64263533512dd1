import { test } from 'node:test';
import assert from 'node:assert/strict';
import { foldedLines } from './folded-stacks.js';
import { mapText, printedEntries } from './map-text.js';
import type { AggEntry } from './aggregation-entry.js';

const KSTACK = [{ index: 0, user: false }];

test('stack keys print as bpftrace prints them: one frame a line, indented; an empty stack prints as nothing', () => {
  const lines = mapText({ name: '@k', kind: 'count', stackKeys: KSTACK }, [{ key: ['leaf+1\nmid+2\nroot+3', 'spin'], value: 5n }, { key: ['', 'spin'], value: 9n }]);
  assert.deepEqual(lines, ['@k[\n    leaf+1\n    mid+2\n    root+3\n, spin]: 5', '@k[, spin]: 9']);
});

test('folded: root first, other keys as root frames, user below kernel, offsets dropped, equal lines merged, sorted', () => {
  const layout = { kind: 'count', stackKeys: [{ index: 0, user: false }, { index: 1, user: true }] };
  const lines = foldedLines(layout, [
    { key: ['k_leaf+1\nk_root+2', 'u_leaf+5\nmain+9\n0x7f00aa', 'my;comm'], value: 3n },
    { key: ['k_leaf+7\nk_root+2', 'u_leaf+6\nmain+9\n0x7f00aa', 'my;comm'], value: 4n },
    { key: ['', 'u_leaf+5\nmain+9\n0x7f00aa', 'other'], value: 2n },
    { key: ['', '', 'idle'], value: 1n },
  ]);
  assert.deepEqual(lines, [
    'idle 1',
    'my:comm;0x7f00aa;main;u_leaf;k_root;k_leaf 7',
    'other;0x7f00aa;main;u_leaf 2',
  ]);
  assert.deepEqual(foldedLines({ kind: 'count', stackKeys: KSTACK }, [{ key: [''], value: 4n }]), ['[no stack] 4']);
  assert.deepEqual(foldedLines({ kind: 'avg', stackKeys: KSTACK }, [{ key: ['f+1'], value: 100n, count: 4n }]), ['f 4']);
});

test('printedEntries: the top N by printed value (averages as sum/count, histograms by samples), values divided, buckets and strings untouched', () => {
  const e = (k: bigint, value: bigint, extra: Partial<AggEntry> = {}): AggEntry => ({ key: [k], value, ...extra });
  const counts = [e(1n, 5n), e(2n, 9n), e(3n, 1n)];
  assert.deepEqual(printedEntries({ kind: 'count' }, counts, { top: 2 }).map((x) => x.key[0]), [1n, 2n]);
  assert.deepEqual(printedEntries({ kind: 'count' }, counts, { top: 5 }), counts, 'fewer entries than top: all');
  assert.deepEqual(printedEntries({ kind: 'count' }, counts, {}), counts);
  assert.deepEqual(printedEntries({ kind: 'sum' }, counts, { div: 2 }).map((x) => x.value), [2n, 4n, 0n]);
  // Ordered by the average (100/10 = 10 < 30/2 = 15), not by the sum (100 > 30).
  const avgs = [e(1n, 100n, { count: 10n }), e(2n, 30n, { count: 2n })];
  assert.deepEqual(printedEntries({ kind: 'avg' }, avgs, { top: 1 }).map((x) => x.key[0]), [2n]);
  assert.deepEqual(printedEntries({ kind: 'avg' }, avgs, { div: 5 }).map((x) => mapText({ name: '@a', kind: 'avg' }, [x])[0]), ['@a[1]: 2', '@a[2]: 3']);
  const hists = [e(1n, 3n, { buckets: [0n, 3n] }), e(2n, 7n, { buckets: [0n, 7n] })];
  assert.deepEqual(printedEntries({ kind: 'hist' }, hists, { top: 1 }), [hists[1]], 'the histogram with the most samples');
  const halved = printedEntries({ kind: 'hist' }, hists, { div: 2 });
  assert.deepEqual(halved.map((x) => [x.buckets, x.div]), [[[0n, 3n], 2n], [[0n, 7n], 2n]], 'hist() counts kept, printed divided');
  assert.deepEqual(mapText({ name: '@h', kind: 'hist' }, [halved[1]!]), ['@h[2]: ', `${'[0]'.padEnd(16)}${'3'.padStart(8)} |${'@'.repeat(52)}|`, ''], 'the count divided, the bar from the count');
  assert.deepEqual(printedEntries({ kind: 'lhist' }, hists, { div: 2 }), hists, 'lhist() buckets whole, as bpftrace leaves them');
  const named = ['b', 'a', 'd', 'c'].map((k) => ({ key: [k], value: 0n, text: `v${k}` }));
  assert.deepEqual(printedEntries({ kind: 'value' }, named, { top: 2 }).map((x) => x.key[0]), ['c', 'd'], 'string values: the last keys, as they print');
  const texts = [e(1n, 0n, { text: 'abc' })];
  assert.deepEqual(printedEntries({ kind: 'value' }, texts, { div: 10 }), texts);
});
