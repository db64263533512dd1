import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waterfallText } from './text-format.js';

test('a transaction key read out of a traced process cannot print a line of its own in the waterfall', () => {
  const lines = waterfallText({ deployment: 'd-1', txn: 'K1\ntransaction K2  deployment d-1', traceId: '', startNs: '1000', endNs: '2000', durationNs: 1000, hosts: ['h1'], spans: [], events: [] });
  assert.equal(lines[0]!.split('\n').length, 1, lines[0]);
  assert.match(lines[0]!, /^transaction K1\\u000atransaction K2 {2}deployment d-1 {2}deployment d-1/);
});
