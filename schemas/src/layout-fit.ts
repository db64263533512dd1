import type { BundleManifest } from './bundle-manifest.js';
import { batchMsgId, EventBatchBuilder, scannedWallNs, type EventBatchHeader, type ScannedBatch } from './event-batch.js';
import { EVENT_PREFIX_SIZE, type EventLayout } from './event-layout.js';

/** Misfits named one by one in a dead letter's reason; the rest are counted. */
const REASONS_LISTED = 5;

/**
 * Which of a bundle's event layouts a raw record fits: the one its event id (the prefix's first
 * u32) names, when the record is exactly that layout's size. The one rule for every reader of
 * records (the agent's batcher, ingest, the assembler, the Kafka mirror, `tapfleet run`): a record
 * that fits no layout is never decoded, since its fields would be read from the wrong bytes. Each
 * reader counts it, dead-letters it (or, in `tapfleet run`, reports it) and goes on with the rest.
 */
export class EventLayouts {
  /** By event id (ids are below 2^16): one array read per record on the agent's hot path. */
  private readonly byId: (EventLayout | undefined)[] = [];

  constructor(
    events: readonly EventLayout[],
    /** The bundle's id, for reasons (its first 12 characters). */
    readonly bundleId = '',
  ) {
    for (const layout of events) this.byId[layout.id] = layout;
  }

  static of(manifest: Pick<BundleManifest, 'events' | 'bundleId'>): EventLayouts {
    return new EventLayouts(manifest.events, manifest.bundleId);
  }

  /** The layout the record `bytes[at, at + len)` fits, or undefined (misfit() says why). */
  fit(bytes: Uint8Array, at = 0, len = bytes.length - at): EventLayout | undefined {
    if (len < EVENT_PREFIX_SIZE) return undefined;
    // Byte reads, not a DataView per record: the agent runs this for every event.
    const id = (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
    const layout = this.byId[id];
    return layout !== undefined && layout.size === len ? layout : undefined;
  }

  /** Why a record fits no layout, for a dead letter or a report (only asked once fit() said none). */
  misfit(bytes: Uint8Array, at = 0, len = bytes.length - at): string {
    if (len < 4) return `is ${len} bytes, too short for an event id`;
    const id = (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
    const layout = this.byId[id];
    if (!layout) return `has event id ${id}, which bundle ${this.bundleId.slice(0, 12)} does not define`;
    return `is ${len} bytes; event ${layout.name} is ${layout.size}`;
  }
}

/** One record of a batch that fits no layout: its index in the batch, its sequence, and why. */
export interface Misfit {
  index: number;
  seq: number;
  reason: string;
}

/** The layout of each record of a scanned batch (undefined for a misfit), and the misfits. */
export interface BatchFit {
  layouts: (EventLayout | undefined)[];
  misfits: Misfit[];
}

/** Fits every record of a scanned batch to its bundle's layouts. */
export function fitBatch(batch: ScannedBatch, layouts: EventLayouts): BatchFit {
  const { header, view, at, len } = batch;
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  const fitted: (EventLayout | undefined)[] = new Array(at.length);
  const misfits: Misfit[] = [];
  for (let i = 0; i < at.length; i++) {
    fitted[i] = layouts.fit(bytes, at[i]!, len[i]!);
    if (!fitted[i]) misfits.push({ index: i, seq: header.firstSeq + i, reason: `record ${i} (seq ${header.firstSeq + i}) ${layouts.misfit(bytes, at[i]!, len[i]!)}` });
  }
  return { layouts: fitted, misfits };
}

/** A dead letter for a run of consecutive misfit records: a batch of its own, as an agent would publish it. */
export interface MisfitDeadLetter {
  header: EventBatchHeader;
  /** A TFB1 batch of just these records (sequences firstSeq .. firstSeq + count - 1). */
  bytes: Uint8Array;
  /**
   * The same for every reader that finds these records (ingest, the mirror, the assembler, a
   * redelivery), so the dead-letter stream keeps one copy (its Nats-Msg-Id).
   */
  msgId: string;
  reason: string;
}

/**
 * The dead letters for a batch's misfits: one per run of consecutive misfit records (a bad record
 * alone, or the whole batch when no record fits), each holding only those records, so what was
 * stored is not in the dead letters and what is in them was not stored.
 */
export function misfitDeadLetters(batch: ScannedBatch, misfits: readonly Misfit[]): MisfitDeadLetter[] {
  const out: MisfitDeadLetter[] = [];
  for (let start = 0; start < misfits.length; ) {
    let end = start + 1;
    while (end < misfits.length && misfits[end]!.index === misfits[end - 1]!.index + 1) end++;
    const run = misfits.slice(start, end);
    const builder = new EventBatchBuilder();
    for (const m of run) {
      const at = batch.at[m.index]!;
      const wall = scannedWallNs(batch, m.index);
      builder.add(new Uint8Array(batch.view.buffer, batch.view.byteOffset + at, batch.len[m.index]!), Number(wall & 0xffffffffn), Number(wall >> 32n));
    }
    const header: EventBatchHeader = { ...batch.header, firstSeq: run[0]!.seq, count: run.length };
    const listed = run.slice(0, REASONS_LISTED).map((m) => m.reason).join('; ');
    const more = run.length > REASONS_LISTED ? `; and ${run.length - REASONS_LISTED} more` : '';
    out.push({
      header,
      bytes: builder.finish(header),
      msgId: `misfit:${batchMsgId(header)}`,
      reason: `${run.length} of the batch's ${batch.at.length} records fit no layout of their bundle; they were left out, the batch's other records were not: ${listed}${more}`,
    });
    start = end;
  }
  return out;
}
