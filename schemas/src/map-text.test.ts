import { test } from 'node:test';
import assert from 'node:assert/strict';
import { foldedLines } from './folded-stacks.js';
import { mapText } from './map-text.js';

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
