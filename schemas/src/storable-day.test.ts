import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LAST_STORABLE_DAY, storableDay, storableDayText } from './storable-day.js';
import { utcDay } from './transaction.js';

test('the date column\'s day: as is up to 2105-12-31, that day after it, never wrapped', () => {
  assert.equal(storableDayText(Date.parse('2026-12-02T21:00:00Z')), '2026-12-02');
  assert.equal(storableDayText(0), '1970-01-01');
  assert.equal(storableDayText(Date.parse('2105-12-31T23:59:59Z')), '2105-12-31');
  assert.equal(storableDay(Date.parse('2106-02-08T00:00:00Z')), LAST_STORABLE_DAY);
  assert.equal(storableDayText(8.64e15), '2105-12-31');
  assert.equal(utcDay(0n), '1970-01-01');
  assert.equal(utcDay(BigInt(Date.parse('2026-12-02T21:00:00Z')) * 1_000_000n), '2026-12-02');
  assert.equal(utcDay((1n << 64n) - 1n), '2105-12-31');
});
