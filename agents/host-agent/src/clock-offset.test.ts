import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agedUncertaintyNs, bestClockEstimate, keptEstimate } from './clock-offset.js';

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

test('clock: a bound widens with age by the allowed drift (1 ppm = 1 ns per ms)', () => {
  const e = { offsetNs: 500, uncertaintyNs: 100_000, sampledAtMs: 10_000 };
  assert.equal(agedUncertaintyNs(e, 10_000, 50), 100_000);
  assert.equal(agedUncertaintyNs(e, 12_000, 50), 100_000 + 2000 * 50);
  assert.equal(agedUncertaintyNs(e, 9_000, 50), 100_000, 'never narrower for a clock read before the sample');
});

test('clock: a fresh estimate replaces the kept one unless the kept one, aged, is still tighter', () => {
  const kept = { offsetNs: 10, uncertaintyNs: 100_000, sampledAtMs: 0 };
  const loose = { offsetNs: 1_400_000, uncertaintyNs: 1_500_000, sampledAtMs: 2000 };
  const tight = { offsetNs: 20, uncertaintyNs: 150_000, sampledAtMs: 2000 };
  assert.equal(keptEstimate(kept, loose, 2000, 50), kept, 'an interval that queued behind load does not replace a good estimate (aged 200 us)');
  assert.equal(keptEstimate(kept, tight, 2000, 50), tight, 'aged to 200 us, the kept one is looser than a fresh 150 us');
  assert.equal(keptEstimate(kept, loose, 40_000, 50), loose, 'after 40 s at 50 ppm the kept one (2.1 ms) is the looser');
  assert.equal(keptEstimate(undefined, loose, 0, 50), loose);
  assert.equal(keptEstimate(kept, undefined, 0, 50), kept, 'no exchange this interval: keep what there is');
});
