import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bestClockEstimate } from './clock-offset.js';

test('clock: the lowest-RTT sample wins; offset = host midpoint - reference; uncertainty = RTT/2', () => {
  const samples = [
    { sentNs: 1_000_000n, referenceNs: 900_000n, receivedNs: 1_400_000n }, // RTT 400 us, queued
    { sentNs: 2_000_000n, referenceNs: 1_950_050n, receivedNs: 2_000_100n }, // RTT 100 ns
    { sentNs: 3_000_000n, referenceNs: 2_000_000n, receivedNs: 3_001_000n },
  ];
  assert.deepEqual(bestClockEstimate(samples, 7), { offsetNs: 2_000_050 - 1_950_050, uncertaintyNs: 50, sampledAtMs: 7 });
});

test('clock: a host behind the reference has a negative offset', () => {
  const e = bestClockEstimate([{ sentNs: 1000n, referenceNs: 5000n, receivedNs: 1200n }], 0)!;
  assert.equal(e.offsetNs, 1100 - 5000);
  assert.equal(e.uncertaintyNs, 100);
});

test('clock: no usable sample, no estimate (never a guess)', () => {
  assert.equal(bestClockEstimate([], 0), undefined);
  assert.equal(bestClockEstimate([{ sentNs: 10n, referenceNs: 5n, receivedNs: 9n }], 0), undefined, 'time went backwards');
});
