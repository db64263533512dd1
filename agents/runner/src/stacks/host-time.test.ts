import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostTime } from './host-time.js';

test('strftime(FMT, -1) is 1 ns before strftime(FMT, 0): the u64 wraps past the boot time, as bpftrace 0.17 adds it', () => {
  // bpftrace 0.17: strftime("%c", 0) and strftime("%c", -1) both print the boot time's second.
  const micros = (ns: bigint) => BigInt(hostTime('%s%f', ns));
  const zero = micros(0n);
  const minusOne = micros(2n ** 64n - 1n);
  assert.ok(zero - minusOne === 0n || zero - minusOne === 1n, `${minusOne} is not 1 ns before ${zero}`);
});
