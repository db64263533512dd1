import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '@tapfleet/runtime';
import { demoOptions, rateText } from './demo-command.js';

test('--orders must be 1 or more: 0 would start a client that never ends while the demo waits for 0 orders', () => {
  assert.deepEqual(demoOptions({ orders: '2000' }), { orders: 2000, rate: undefined });
  for (const bad of ['0', 'abc', '1.5', '1e3', '2000000000'])
    assert.throws(() => demoOptions({ orders: bad }), UsageError, `--orders ${bad}`);
});

test('--rate takes the config schema\'s range (0 to 1000000) and says what 0 means', () => {
  assert.equal(demoOptions({ rate: '0' }).rate, 0);
  assert.equal(demoOptions({ rate: '1000000' }).rate, 1_000_000);
  assert.throws(() => demoOptions({ rate: '1000001' }), /--rate: 1000001 is out of range \(0 to 1000000\)/);
  assert.throws(() => demoOptions({ rate: '-1' }), UsageError);
  assert.equal(rateText(200), 'at 200/s');
  assert.match(rateText(0), /as fast as the client's in-flight window allows/);
});
