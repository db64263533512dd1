import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exactJsonInteger, jsonSafe } from './index.js';

test('64-bit integers in JSON: numbers while exact, decimal strings beyond 2^53 - 1, never rounded', () => {
  assert.equal(exactJsonInteger(42n), 42);
  assert.equal(exactJsonInteger(-7n), -7);
  assert.equal(exactJsonInteger(9_007_199_254_740_991n), 9_007_199_254_740_991);
  assert.equal(exactJsonInteger(9_007_199_254_740_992n), '9007199254740992');
  assert.equal(exactJsonInteger(-9_007_199_254_740_992n), '-9007199254740992');
  assert.equal(exactJsonInteger(18_446_744_073_709_551_615n), '18446744073709551615');
  assert.equal(JSON.stringify({ a: 1n, b: [2n ** 63n], c: 'x', d: 1.5 }, jsonSafe), '{"a":1,"b":["9223372036854775808"],"c":"x","d":1.5}');
});
