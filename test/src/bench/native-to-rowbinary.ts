import { PROBE_EVENT_TYPES, type NativeBlock } from '@tapfleet/ingest';

const FIXED: Record<string, number> = { Date: 2, UInt16: 2, UInt32: 4, UInt64: 8, Int64: 8 };

/** Reads a varint at `at`: [value, next offset]. */
function leb(b: Uint8Array, at: number): [number, number] {
  let v = 0;
  let shift = 0;
  for (;;) {
    const byte = b[at++]!;
    v += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return [v, at];
    shift += 7;
  }
}

/** Start offsets of `n` String values back to back from `at` (n + 1 entries: the last is the end). */
function stringStarts(b: Uint8Array, at: number, n: number): number[] {
  const starts = [at];
  for (let i = 0; i < n; i++) {
    const [len, next] = leb(b, at);
    at = next + len;
    starts.push(at);
  }
  return starts;
}

/**
 * The rows of a probe_events Native block (ingest's insert body) as RowBinary, the format the
 * benches hand clickhouse-client for their baseline (the same rows it always read from a file).
 */
export function nativeBlockToRowBinary(block: NativeBlock): Buffer {
  const n = block.rows;
  const out = Buffer.allocUnsafe(block.byteLength + 10 * n);
  let at = 0;
  // Per column, a function appending row r's RowBinary bytes to out.
  const cells = block.columns.map((c, i): ((r: number) => void) => {
    const parts = block.data[i]!;
    const data = parts[0]!.buf.subarray(0, parts[0]!.at);
    const width = FIXED[PROBE_EVENT_TYPES[c.name] ?? c.type];
    if (width) return (r) => void (at += data.copy(out, at, r * width, (r + 1) * width));
    if (c.type === 'String') {
      const s = stringStarts(data, 0, n);
      return (r) => void (at += data.copy(out, at, s[r]!, s[r + 1]!));
    }
    // Array(String): cumulative counts, then the elements; RowBinary writes a count then the elements.
    const elems = parts[1]!.buf.subarray(0, parts[1]!.at);
    const ends = Array.from({ length: n }, (_, r) => Number(data.readBigUInt64LE(r * 8)));
    const s = stringStarts(elems, 0, ends[n - 1] ?? 0);
    return (r) => {
      const from = r === 0 ? 0 : ends[r - 1]!;
      let v = ends[r]! - from;
      const count = v;
      do {
        out[at++] = (v & 0x7f) | (v >= 0x80 ? 0x80 : 0);
        v >>>= 7;
      } while (v);
      at += elems.copy(out, at, s[from]!, s[from + count]!);
    };
  });
  for (let r = 0; r < n; r++) for (const cell of cells) cell(r);
  return out.subarray(0, at);
}
