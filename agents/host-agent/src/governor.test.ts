import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Governor } from './governor.js';

const budget = { maxCpuPercent: 5, maxEventsPerSec: 1000, windows: 2 };
const S = 1_000_000_000n;

test('governor: CPU percent and events/s from deltas of cumulative kernel counters', () => {
  const g = new Governor(budget);
  g.observe({ atNs: 0n, runTimeNs: 0n, produced: 0n });
  const load = g.observe({ atNs: S, runTimeNs: 20_000_000n, produced: 500n });
  assert.equal(load.cpuPercent, 2);
  assert.equal(load.eventsPerSec, 500);
  assert.equal(load.over, false);
});

test('governor: one window over budget is tolerated, two in a row trip it', () => {
  const g = new Governor(budget);
  g.observe({ atNs: 0n, runTimeNs: 0n, produced: 0n });
  assert.equal(g.observe({ atNs: S, runTimeNs: 100_000_000n, produced: 0n }).trip, false, '10% once');
  assert.equal(g.observe({ atNs: 2n * S, runTimeNs: 100_000_000n, produced: 10n }).trip, false, 'back under budget resets');
  assert.equal(g.observe({ atNs: 3n * S, runTimeNs: 100_000_000n, produced: 5000n }).over, true, 'events over budget');
  const tripped = g.observe({ atNs: 4n * S, runTimeNs: 100_000_000n, produced: 10_000n });
  assert.equal(tripped.trip, true);
  assert.match(g.describe(tripped), /probe CPU 0\.0% of one core \(budget 5%\), 5000 events\/s \(budget 1000\)/);
});

test('governor: a reading that does not advance time changes nothing', () => {
  const g = new Governor(budget);
  g.observe({ atNs: S, runTimeNs: 0n, produced: 0n });
  const same = g.observe({ atNs: S, runTimeNs: S, produced: 1_000_000n });
  assert.equal(same.trip, false);
  assert.equal(same.cpuPercent, 0);
});
