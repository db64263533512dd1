import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_TIMER_MS, setLongTimeout } from './long-timer.js';

test('a delay over 2^31-1 ms is chained, not fired at once (Node would fire it after 1 ms)', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  let fired = 0;
  const ttlMs = 600 * 3_600_000; // 600 h: over Node's 24.8-day timer limit
  setLongTimeout(() => fired++, ttlMs);
  t.mock.timers.tick(1);
  assert.equal(fired, 0, 'not fired at once');
  t.mock.timers.tick(MAX_TIMER_MS);
  assert.equal(fired, 0, 'not fired at the first link');
  t.mock.timers.tick(ttlMs - MAX_TIMER_MS - 2);
  assert.equal(fired, 0, 'not fired 1 ms early');
  t.mock.timers.tick(1);
  assert.equal(fired, 1, 'fired when the whole delay has passed');
  t.mock.timers.tick(MAX_TIMER_MS);
  assert.equal(fired, 1, 'fired once');
});

test('clear() stops a chained timer in any link; a due or negative delay fires asynchronously', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 5_000 });
  let fired = 0;
  const timer = setLongTimeout(() => fired++, 3 * MAX_TIMER_MS);
  t.mock.timers.tick(MAX_TIMER_MS + 5);
  timer.clear();
  timer.clear();
  t.mock.timers.tick(3 * MAX_TIMER_MS);
  assert.equal(fired, 0);
  setLongTimeout(() => fired++, -5);
  assert.equal(fired, 0, 'never synchronously');
  t.mock.timers.tick(0);
  assert.equal(fired, 1);
  setLongTimeout(() => fired++, Infinity);
  t.mock.timers.tick(10 * MAX_TIMER_MS);
  assert.equal(fired, 1, 'an infinite delay never fires');
});
