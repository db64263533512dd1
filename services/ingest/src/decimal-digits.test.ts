import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeI64Decimal, writeSafeDecimal, writeU64Decimal } from './decimal-digits.js';

const halves = (v: bigint): [number, number, number] => {
  const u = BigInt.asUintN(64, v);
  return [Number(u & 0xffffffffn), Number(u >> 32n), Number(BigInt.asIntN(32, u >> 32n))];
};

/** What the writer put at an offset (after a byte it must not touch), as text. */
function written(write: (buf: Uint8Array, at: number) => number): string {
  const buf = new Uint8Array(32).fill(0xee);
  const end = write(buf, 3);
  assert.equal(buf[2], 0xee, 'nothing written before the offset');
  assert.equal(buf[end], 0xee, 'nothing written past the returned end');
  return Buffer.from(buf.subarray(3, end)).toString('latin1');
}

test('u64 halves in decimal equal BigInt toString, across the 2^53 boundary and up to 2^64-1', () => {
  const values = [0n, 1n, 9n, 10n, 99n, 100n, 4242n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 10n ** 15n, 10n ** 16n - 1n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 10n ** 19n, 2n ** 63n, 2n ** 64n - 2n, 2n ** 64n - 1n];
  for (const v of values) {
    const [lo, hi] = halves(v);
    assert.equal(written((b, at) => writeU64Decimal(b, at, lo, hi)), v.toString(), `u64 ${v}`);
  }
});

test('i64 halves (signed high half) in decimal equal BigInt toString, negatives and both extremes', () => {
  const values = [0n, 1n, -1n, -9n, -10n, 4242n, -4242n, -(2n ** 31n), -(2n ** 32n), -(2n ** 32n) - 1n, 2n ** 53n - 1n, -(2n ** 53n) + 1n, -(2n ** 53n), 2n ** 53n, -(2n ** 53n) - 1n, 2n ** 63n - 1n, -(2n ** 63n)];
  for (const v of values) {
    const [lo, , hi] = halves(v);
    assert.equal(written((b, at) => writeI64Decimal(b, at, lo, hi)), v.toString(), `i64 ${v}`);
  }
});

test('small integers equal String(n)', () => {
  for (const v of [0, 7, 10, 65535, -32768, 2 ** 32 - 1, -(2 ** 31), Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER]) assert.equal(written((b, at) => writeSafeDecimal(b, at, v)), String(v));
});
