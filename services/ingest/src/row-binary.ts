/**
 * A growable RowBinary encoder: ClickHouse's binary row format, the cheapest insert
 * path from Node (no text to build, parse, or escape). Little-endian fixed-width
 * integers, LEB128-length-prefixed strings, Date as UInt16 days, arrays as
 * LEB128 count + elements.
 */
export class RowBinaryWriter {
  private buf = Buffer.allocUnsafe(1 << 20);
  private at = 0;
  rows = 0;

  private ensure(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(bigger, 0, 0, this.at);
    this.buf = bigger;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.at++] = v;
  }
  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16LE(v, this.at);
    this.at += 2;
  }
  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.at);
    this.at += 4;
  }
  /** `n` bytes as they are (a 64-bit value as its little-endian bytes: no BigInt, no subarray per call). */
  copy(src: Uint8Array, offset: number, n: number): void {
    this.ensure(n);
    const buf = this.buf;
    let at = this.at;
    for (let i = 0; i < n; i++) buf[at++] = src[offset + i]!;
    this.at = at;
  }
  u64(v: bigint): void {
    this.ensure(8);
    this.buf.writeBigUInt64LE(v, this.at);
    this.at += 8;
  }
  i64(v: bigint): void {
    this.ensure(8);
    this.buf.writeBigInt64LE(v, this.at);
    this.at += 8;
  }
  /** Numbers that fit 2^53 (counters, ms timestamps). */
  u64n(v: number): void {
    this.ensure(8);
    this.buf.writeUInt32LE(v % 0x1_0000_0000, this.at);
    this.buf.writeUInt32LE(Math.floor(v / 0x1_0000_0000), this.at + 4);
    this.at += 8;
  }
  i64n(v: number): void {
    this.i64(BigInt(v));
  }
  zeros(n: number): void {
    this.ensure(n);
    const buf = this.buf;
    for (let i = 0; i < n; i++) buf[this.at++] = 0;
  }
  private leb128(n: number): void {
    this.ensure(5);
    do {
      let byte = n & 0x7f;
      n >>>= 7;
      if (n) byte |= 0x80;
      this.buf[this.at++] = byte;
    } while (n);
  }
  string(s: string): void {
    const len = Buffer.byteLength(s);
    this.leb128(len);
    this.ensure(len);
    this.buf.write(s, this.at, len, 'utf8');
    this.at += len;
  }
  /** A NUL-terminated C string field as a String (bytes up to the first NUL). */
  cString(src: Uint8Array, offset: number, size: number): void {
    let end = offset;
    const max = offset + size;
    while (end < max && src[end] !== 0) end++;
    this.leb128(end - offset);
    this.copy(src, offset, end - offset);
  }
  /** Bytes already in RowBinary form (a pre-encoded string repeated on every row of a batch). */
  encoded(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
  }

  /** Date: days since 1970-01-01. */
  date(days: number): void {
    this.u16(days);
  }
  stringArray(items: readonly string[]): void {
    this.leb128(items.length);
    for (const s of items) this.string(s);
  }
  u64Array(items: readonly bigint[]): void {
    this.leb128(items.length);
    for (const v of items) this.u64(v);
  }

  endRow(): void {
    this.rows++;
  }

  /** The encoded rows (a view, valid until the next write). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.at);
  }

  reset(): void {
    this.at = 0;
    this.rows = 0;
  }
}

/** One string in RowBinary form, for values every row of a batch repeats. */
export function encodeString(s: string): Buffer {
  const w = new RowBinaryWriter();
  w.string(s);
  return Buffer.from(w.bytes());
}
