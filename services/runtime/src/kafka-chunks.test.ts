import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kafkaSendChunks } from './kafka-chunks.js';

test('kafkaSendChunks: in order, each send at most maxBytes of keys and values, an oversized message alone', () => {
  const m = (key: string, n: number) => ({ key, value: 'v'.repeat(n) });
  const messages = [m('a', 40), m('b', 40), m('c', 40), m('d', 300), m('e', 10)];
  const chunks = kafkaSendChunks(messages, 100);
  assert.deepEqual(chunks.map((c) => c.map((x) => x.key)), [['a', 'b'], ['c'], ['d'], ['e']]);
  assert.deepEqual(chunks.flat(), messages, 'nothing lost, nothing reordered');
  assert.deepEqual(kafkaSendChunks([], 100), []);
  // Multi-byte text counts as bytes, not characters.
  assert.equal(kafkaSendChunks([{ key: 'k', value: 'é'.repeat(30) }, { key: 'k', value: 'é'.repeat(30) }], 100).length, 2);
});
