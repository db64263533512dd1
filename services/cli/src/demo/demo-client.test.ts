import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseClientSummary } from './demo-client.js';

test('demo client: its summary line is found among other output and read field by field', () => {
  const s = parseClientSummary('tf-demo-client: connected to 127.0.0.1:7101\ntf-demo-client: sent=2000 acked=1999 filled=1996 rejected=3 unexpected=0 elapsed_s=1.000 rate_per_s=2000.6 rtt_p50_us=294 rtt_p99_us=39673\n');
  assert.ok(s);
  assert.deepEqual(s.fields, { sent: 2000, acked: 1999, filled: 1996, rejected: 3, unexpected: 0, elapsed_s: 1, rate_per_s: 2000.6, rtt_p50_us: 294, rtt_p99_us: 39673 });
  assert.equal(parseClientSummary('tf-demo-client: gateway closed\n'), undefined);
});
