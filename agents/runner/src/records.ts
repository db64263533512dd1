/**
 * Decoder for the runner's stdout framing (native/records.h is the other half; records.test.ts
 * parses it and fails when the two disagree):
 * u32 payload length | u16 type | u16 reserved | payload, little-endian.
 */
export const REC = { EVENT: 1, ATTACH: 2, MAP: 3, STATS: 4, READY: 5, DETACHED: 6, ERROR: 7, SYNC: 8 } as const;
/** sizeof(struct tf_record_header). */
export const RECORD_HEADER_BYTES = 8;

export type RunnerRecord =
  | { type: 'event'; data: Uint8Array }
  | { type: 'attach'; index: number; errno: number; message: string }
  | { type: 'map'; name: string; keySize: number; valueSize: number; entries: { key: Uint8Array; value: Uint8Array }[] }
  | { type: 'stats'; ringbufDrops: bigint; produced: bigint; programs: { runCount: bigint; runTimeNs: bigint }[] }
  | { type: 'ready'; attachNs: bigint; ok: number; failed: number }
  | { type: 'detached'; detachNs: bigint; links: number }
  | { type: 'error'; message: string }
  /** The answer to a `sync` command: every record the commands before it caused came first. */
  | { type: 'sync' };

const text = new TextDecoder();

function decode(type: number, p: Uint8Array): RunnerRecord | undefined {
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  switch (type) {
    case REC.EVENT: return { type: 'event', data: p };
    case REC.ATTACH: return { type: 'attach', index: v.getUint32(0, true), errno: -v.getInt32(4, true), message: text.decode(p.subarray(8)) };
    case REC.MAP: {
      const nlen = v.getUint16(0, true);
      const name = text.decode(p.subarray(2, 2 + nlen));
      let at = 2 + nlen;
      const keySize = v.getUint32(at, true);
      const valueSize = v.getUint32(at + 4, true);
      const n = v.getUint32(at + 8, true);
      at += 12;
      const entries = [];
      for (let i = 0; i < n; i++) {
        entries.push({ key: p.subarray(at, at + keySize), value: p.subarray(at + keySize, at + keySize + valueSize) });
        at += keySize + valueSize;
      }
      return { type: 'map', name, keySize, valueSize, entries };
    }
    case REC.STATS: {
      const n = v.getUint32(16, true);
      const programs = Array.from({ length: n }, (_, i) => ({ runCount: v.getBigUint64(20 + i * 16, true), runTimeNs: v.getBigUint64(28 + i * 16, true) }));
      return { type: 'stats', ringbufDrops: v.getBigUint64(0, true), produced: v.getBigUint64(8, true), programs };
    }
    case REC.READY: return { type: 'ready', attachNs: v.getBigUint64(0, true), ok: v.getUint32(8, true), failed: v.getUint32(12, true) };
    case REC.DETACHED: return { type: 'detached', detachNs: v.getBigUint64(0, true), links: v.getUint32(8, true) };
    case REC.ERROR: return { type: 'error', message: text.decode(p) };
    case REC.SYNC: return { type: 'sync' };
    default: return undefined;
  }
}

/** Splits a byte stream into records; keeps partial records across chunks. */
export class RecordReader {
  private pending: Uint8Array = new Uint8Array(0);

  push(chunk: Uint8Array, onRecord: (r: RunnerRecord) => void): void {
    let buf = chunk;
    if (this.pending.length) {
      buf = new Uint8Array(this.pending.length + chunk.length);
      buf.set(this.pending);
      buf.set(chunk, this.pending.length);
    }
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let at = 0;
    const H = RECORD_HEADER_BYTES;
    while (at + H <= buf.length) {
      const len = view.getUint32(at, true);
      if (at + H + len > buf.length) break;
      const rec = decode(view.getUint16(at + 4, true), buf.subarray(at + H, at + H + len));
      if (rec) onRecord(rec);
      at += H + len;
    }
    // Copy the tail: the chunk's buffer may be reused by the stream.
    this.pending = buf.slice(at);
  }

  get buffered(): number {
    return this.pending.length;
  }
}
