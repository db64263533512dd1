/**
 * Integers as decimal text written straight into a byte buffer: what `String(n)` or a BigInt's
 * toString() would give, without a string or a BigInt per value (a transaction key is text in
 * probe_events, and ingest writes one per row). 64-bit values come as their two 32-bit halves;
 * only those beyond ±2^53 take the BigInt path.
 */

const POW10 = Array.from({ length: 17 }, (_, i) => 10 ** i);
/** 2^53 / 2^32: a high half below this (and at least its negative, signed) leaves the value exact as a double. */
const SAFE_HI = 0x20_0000;

/** Writes `v` (an integer, |v| <= 2^53) at buf[at..]; returns the end. The caller reserved 17 bytes. */
export function writeSafeDecimal(buf: Uint8Array, at: number, v: number): number {
  if (v < 0) {
    buf[at++] = 45; // '-'
    v = -v;
  }
  let digits = 1;
  while (digits < 17 && v >= POW10[digits]!) digits++;
  const end = at + digits;
  let p = end;
  do {
    const q = Math.floor(v / 10);
    buf[--p] = 48 + (v - q * 10);
    v = q;
  } while (v > 0);
  return end;
}

function writeAscii(buf: Uint8Array, at: number, s: string): number {
  for (let i = 0; i < s.length; i++) buf[at++] = s.charCodeAt(i);
  return at;
}

/** An unsigned 64-bit value (`lo`, `hi` its 32-bit halves, both >= 0) in decimal; the caller reserved 20 bytes. */
export function writeU64Decimal(buf: Uint8Array, at: number, lo: number, hi: number): number {
  if (hi < SAFE_HI) return writeSafeDecimal(buf, at, hi * 0x1_0000_0000 + lo);
  return writeAscii(buf, at, ((BigInt(hi) << 32n) | BigInt(lo)).toString());
}

/** A signed 64-bit value (`lo` unsigned low half, `hi` the signed high half) in decimal; the caller reserved 20 bytes. */
export function writeI64Decimal(buf: Uint8Array, at: number, lo: number, hi: number): number {
  // hi * 2^32 + lo is exact (so is every partial sum) while the value is within ±2^53.
  if (hi >= -SAFE_HI && hi < SAFE_HI) return writeSafeDecimal(buf, at, hi * 0x1_0000_0000 + lo);
  return writeAscii(buf, at, BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo >>> 0)).toString());
}
