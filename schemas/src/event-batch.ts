import { z } from 'zod/v3';
import { ClockSource } from './clock.js';
import { BuildId, DeploymentId, HostId, Sha256Hex } from './common.js';

/**
 * Wire format of one batch of events from an agent, as published to JetStream:
 *
 *   "TFB1" | u32 LE header length | header JSON (EventBatchHeader) | records
 *
 * Records are the runner's raw event records (EVENT_PREFIX + layout fields), each
 * preceded by u32 LE length and u64 LE wall-clock ns. Record i has sequence
 * `header.firstSeq + i`. The header is JSON because it is small and once per batch;
 * the records are binary because JSON costs ~1 us an event to parse.
 */
export const EventBatchHeader = z.object({
  v: z.literal(1),
  hostId: HostId,
  bootId: z.string().uuid(),
  deploymentId: DeploymentId,
  bundleId: Sha256Hex,
  kernelBuildId: BuildId,
  /** Sequence numbers are per (host, boot, deployment) and gap-free unless `lost` says otherwise. */
  firstSeq: z.number().int().safe().nonnegative(),
  count: z.number().int().safe().nonnegative(),
  /**
   * Host clock minus reference clock, and its uncertainty, at batch time: from the time
   * service (RTT/2) or, where the kernel's discipline is tighter, offset 0 +/- its estimated
   * error (`source`; absent in batches from agents before it existed: request-reply).
   */
  clock: z.object({ offsetNs: z.number().int().safe(), uncertaintyNs: z.number().int().safe().nonnegative(), source: ClockSource.optional() }),
});
export type EventBatchHeader = z.infer<typeof EventBatchHeader>;

/**
 * The `Nats-Msg-Id` of a batch: unique per (host, boot, deployment, first sequence), so a
 * batch re-sent after a lost ack or from the spool is stored once by JetStream.
 */
export const batchMsgId = (h: Pick<EventBatchHeader, 'hostId' | 'bootId' | 'deploymentId' | 'firstSeq'>) =>
  `${h.hostId}:${h.bootId}:${h.deploymentId}:${h.firstSeq}`;

export const BATCH_MAGIC = 0x31424654; // "TFB1" little-endian
const RECORD_OVERHEAD = 12;

export interface BatchRecord {
  wallNs: bigint;
  /** Raw record bytes: EVENT_PREFIX then the layout's fields. */
  data: Uint8Array;
}

export class BatchFormatError extends Error {
  readonly code = 'TAPFLEET_BATCH_MALFORMED';
  constructor(message: string) {
    super(message);
    this.name = 'BatchFormatError';
  }
}

/**
 * Builds a batch record by record into one growing buffer (the agent's hot path:
 * one 64-byte copy per event, no per-event objects), then prepends the header once.
 * Wall-clock ns are given as two u32 halves, so no BigInt is made per event.
 */
export class EventBatchBuilder {
  private buf: Uint8Array;
  private view: DataView;
  private at = 0;
  count = 0;

  constructor(initialBytes = 1 << 16) {
    this.buf = new Uint8Array(initialBytes);
    this.view = new DataView(this.buf.buffer);
  }

  get bytes(): number {
    return this.at;
  }

  add(data: Uint8Array, wallLo: number, wallHi: number): void {
    const need = this.at + RECORD_OVERHEAD + data.length;
    if (need > this.buf.length) {
      const bigger = new Uint8Array(Math.max(need, this.buf.length * 2));
      bigger.set(this.buf.subarray(0, this.at));
      this.buf = bigger;
      this.view = new DataView(bigger.buffer);
    }
    this.view.setUint32(this.at, data.length, true);
    this.view.setUint32(this.at + 4, wallLo, true);
    this.view.setUint32(this.at + 8, wallHi, true);
    this.buf.set(data, this.at + RECORD_OVERHEAD);
    this.at = need;
    this.count++;
  }

  addRecord(r: BatchRecord): void {
    this.add(r.data, Number(r.wallNs & 0xffffffffn), Number(r.wallNs >> 32n));
  }

  /** The finished batch (header count must equal the records added); the builder is empty again. */
  finish(header: EventBatchHeader): Uint8Array {
    const headerBytes = new TextEncoder().encode(JSON.stringify(header));
    const out = new Uint8Array(8 + headerBytes.length + this.at);
    const view = new DataView(out.buffer);
    view.setUint32(0, BATCH_MAGIC, true);
    view.setUint32(4, headerBytes.length, true);
    out.set(headerBytes, 8);
    out.set(this.buf.subarray(0, this.at), 8 + headerBytes.length);
    this.at = 0;
    this.count = 0;
    return out;
  }
}

export function encodeEventBatch(header: EventBatchHeader, records: readonly BatchRecord[]): Uint8Array {
  const builder = new EventBatchBuilder(records.reduce((n, r) => n + RECORD_OVERHEAD + r.data.length, 0) || 16);
  for (const r of records) builder.addRecord(r);
  return builder.finish(header);
}

export interface DecodedBatch {
  header: EventBatchHeader;
  /** Views into the original buffer: no copies on the hot path. */
  records: BatchRecord[];
}

/**
 * A batch checked whole but not cut into per-record objects: where each record's bytes start
 * (`at[i]`, `len[i]`) in `view`, and its wall-clock ns at `at[i] - 8`. For readers that touch
 * every record once at fleet rates (the assembler): no object, view or BigInt per record.
 */
export interface ScannedBatch {
  header: EventBatchHeader;
  /** A view over the batch's whole buffer (offsets below are into it). */
  view: DataView;
  at: Uint32Array;
  len: Uint32Array;
}

/** The wall-clock ns of record `i` of a scanned batch. */
export const scannedWallNs = (b: ScannedBatch, i: number): bigint => b.view.getBigUint64(b.at[i]! - 8, true);

/** Checks a batch and finds its records; throws BatchFormatError (with the reason) on anything malformed. */
export function scanEventBatch(bytes: Uint8Array): ScannedBatch {
  if (bytes.length < 8) throw new BatchFormatError(`batch is ${bytes.length} bytes, shorter than its 8-byte preamble`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== BATCH_MAGIC) throw new BatchFormatError('batch does not start with the TFB1 magic');
  const headerLen = view.getUint32(4, true);
  if (8 + headerLen > bytes.length) throw new BatchFormatError(`header length ${headerLen} runs past the end of the batch`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    throw new BatchFormatError(`header is not JSON: ${(e as Error).message}`);
  }
  const parsed = EventBatchHeader.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new BatchFormatError(`header field ${first?.path.join('.') ?? '?'}: ${first?.message ?? 'invalid'}`);
  }
  // Records are at least RECORD_OVERHEAD bytes each, so the count is bounded by the size.
  const count = parsed.data.count;
  if (count > (bytes.length - 8 - headerLen) / RECORD_OVERHEAD) throw new BatchFormatError(`header says ${count} records, more than the batch can hold`);
  const at = new Uint32Array(count);
  const len = new Uint32Array(count);
  let pos = 8 + headerLen;
  let n = 0;
  while (pos < bytes.length) {
    if (pos + RECORD_OVERHEAD > bytes.length) throw new BatchFormatError(`truncated record header at byte ${pos}`);
    const l = view.getUint32(pos, true);
    if (pos + RECORD_OVERHEAD + l > bytes.length) throw new BatchFormatError(`record at byte ${pos} claims ${l} bytes, past the end`);
    if (n >= count) throw new BatchFormatError(`header says ${count} records, batch holds more`);
    at[n] = bytes.byteOffset + pos + RECORD_OVERHEAD;
    len[n] = l;
    n++;
    pos += RECORD_OVERHEAD + l;
  }
  if (n !== count) throw new BatchFormatError(`header says ${count} records, batch holds ${n}`);
  return { header: parsed.data, view: new DataView(bytes.buffer), at, len };
}

/** Decodes a batch; throws BatchFormatError (with the reason) on anything malformed. */
export function decodeEventBatch(bytes: Uint8Array): DecodedBatch {
  const s = scanEventBatch(bytes);
  const records: BatchRecord[] = [];
  const base = bytes.byteOffset;
  for (let i = 0; i < s.at.length; i++) records.push({ wallNs: scannedWallNs(s, i), data: bytes.subarray(s.at[i]! - base, s.at[i]! - base + s.len[i]!) });
  return { header: s.header, records };
}
