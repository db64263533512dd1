import { sleep, type Logger } from '@tapfleet/runtime';
import type { AssemblerConfig, BatchFit, BundleManifest, ScannedBatch, TxnSpanRow } from '@tapfleet/schemas';
import type { AssemblerMetrics } from './assembler-metrics.js';
import { MessageHolds, type Ackable } from './message-holds.js';
import { partitionOf } from './partition.js';
import { ExportHold, type HeldExport } from './export-hold.js';
import { buildSpans } from './span-builder.js';
import { TransactionTable, type Closed } from './transaction-table.js';
import { sameEvent, TxnEventDecoder, type TxnEvent } from './txn-event.js';
import { addEvent, txnKey } from './transaction-table.js';

/**
 * Where closed transactions go: stored first, then exported. A transaction's source messages
 * are released (acked when nothing else holds them) only when its spans are stored and, with
 * an exporter, delivered or dropped-and-counted: a crash in between redelivers them, and the
 * re-made spans are identical (a backend keeps one copy).
 */
export interface SpanSink {
  /** Stores rows durably; throws on failure (the assembler retries, messages stay held). */
  store(rows: readonly TxnSpanRow[]): Promise<void>;
  /** Exports stored rows; calls `done` once they are delivered or dropped (counted). Must not throw. Absent: no export. */
  export?: (rows: TxnSpanRow[], done: () => void) => void;
}

/** Reads stored events of transactions that are only partly in memory. */
export type HistoryReader = (keys: { deployment: string; txn: string; events: TxnEvent[] }[], upToStreamSeq: number) => Promise<TxnEvent[]>;

/** The root span says whether its transaction had its final event and every declared hop. */
const isComplete = (rows: TxnSpanRow[]) => {
  const root = rows[0];
  return root !== undefined && root.attr_values[root.attr_names.indexOf('tapfleet.complete')] === 'true';
};

/** How far ahead of this host's clock a corrected event time may be and still count as the newest seen. */
const FUTURE_TOLERANCE_MS = 60_000;

/**
 * The assembler's engine, independent of the bus: batches in, spans out. Events of this
 * replica's partition join their transaction; closed transactions are merged with stored
 * events when they need it, turned into spans, stored, and only then are their source
 * messages released (acked when no open transaction holds them any more).
 */
export class AssemblerCore<M extends Ackable> {
  readonly table: TransactionTable<M>;
  readonly holds = new MessageHolds<M>();
  private readonly decoder = new TxnEventDecoder();
  private pending: Closed<M>[] = [];
  private lastStreamSeq = 0;
  /** The newest corrected event time seen (ms): lateness is measured against the stream, not the wall clock, so a backlog is not "late". */
  private newestEventMs = 0;
  private flushing?: Promise<void>;
  private readonly exportHold: ExportHold<M>;
  /** After a failed read of stored events: no new try before this (ms). */
  private historyRetryAtMs = 0;
  private historyBackoffMs = 0;

  constructor(
    private readonly o: AssemblerConfig,
    private readonly sink: SpanSink,
    private readonly history: HistoryReader | undefined,
    private readonly metrics: AssemblerMetrics,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.exportHold = new ExportHold(o.lingerMs, o.maxLingering);
    this.table = new TransactionTable<M>({ quietMs: o.quietMs, maxOpenMs: o.maxOpenMs, maxOpen: o.maxOpenTransactions, maxEventsPerTxn: o.maxEventsPerTransaction, lingerMs: o.lingerMs, maxLingering: o.maxLingering });
  }

  /** True when nothing in the bundle carries a transaction key: the batch can be acked at once. */
  ignores(manifest: BundleManifest): boolean {
    return this.decoder.hasNoTxnEvents(manifest);
  }

  /** Each record's layout, and the records that fit none (the caller dead-letters them). */
  fit(batch: ScannedBatch, manifest: BundleManifest): BatchFit {
    return this.decoder.fit(batch, manifest);
  }

  /**
   * Takes a batch's records that fit a layout (`fit`). The message is held by every transaction
   * that took one of its events, or acked at once when none did.
   */
  accept(batch: ScannedBatch, manifest: BundleManifest, msg: M, redelivered: boolean, streamSeq: number, fit = this.fit(batch, manifest)): void {
    const skippedBefore = this.decoder.unplaceable;
    const overBefore = this.table.overLimit;
    const events = this.decoder.decode(batch, manifest, fit);
    this.metrics.unplaceableEvents.inc(this.decoder.unplaceable - skippedBefore);
    if (streamSeq > this.lastStreamSeq) this.lastStreamSeq = streamSeq;
    const nowMs = this.now();
    let held = false;
    let mine = 0;
    for (const ev of events) {
      if (partitionOf(ev.deployment, ev.txn, this.o.partitions) !== this.o.partition) continue;
      mine++;
      const eventMs = Number(ev.correctedNs) / 1e6; // ms precision is plenty here
      // A clock far ahead of this host's (broken, or hostile) must not set the mark: every other
      // event would look late by as much, and each transaction would wait for a merge with stored events.
      if (eventMs > this.newestEventMs && eventMs <= nowMs + FUTURE_TOLERANCE_MS) this.newestEventMs = eventMs;
      const staleMs = this.newestEventMs - eventMs;
      const { closed, newHold } = this.table.add(ev, msg, nowMs, staleMs, redelivered);
      // One hold per (transaction, message): released when that transaction's spans are stored.
      if (newHold) {
        this.holds.hold(msg);
        held = true;
      }
      this.queue(closed);
    }
    this.metrics.events.inc(mine);
    this.metrics.overLimitEvents.inc(this.table.overLimit - overBefore);
    this.metrics.foreignEvents.inc(events.length - mine);
    if (!held) msg.ack();
    this.gauges();
  }

  private queue(closed: Closed<M>[]): void {
    if (!closed.length) return;
    // Counted per call, not per transaction: a labelled prom-client counter costs a label lookup each time.
    let final = 0;
    let reopened = 0;
    for (const c of closed) {
      if (c.reason === 'final') final++;
      else this.metrics.closed.inc({ reason: c.reason });
      if (c.reason === 'evicted') this.metrics.evicted.inc();
      if (c.txn.emitted > 1) reopened++;
      this.pending.push(c);
    }
    if (final) this.metrics.closed.inc({ reason: 'final' }, final);
    if (reopened) this.metrics.reopened.inc(reopened);
  }

  /** Closes what is due (quiet, linger); call every few ms. */
  tick(): void {
    const nowMs = this.now();
    this.queue(this.table.due(nowMs));
    this.export(this.exportHold.due(nowMs));
    this.gauges();
  }

  /** Spans still held back from export (on stop: export them as they are). */
  drainExports(): void {
    this.export(this.exportHold.drain());
  }

  private export(entries: HeldExport<M>[]): void {
    const sink = this.sink.export;
    if (!sink) return;
    for (const e of entries) sink(e.rows, () => {
      for (const m of e.holds) this.holds.release(m);
      this.gauges();
    });
  }

  private gauges(): void {
    this.metrics.openTransactions.set(this.table.openCount);
    this.metrics.lingeringTransactions.set(this.table.lingeringCount);
    this.metrics.heldMessages.set(this.holds.size);
  }

  /** The highest stream sequence taken so far. */
  get lastSeenStreamSeq(): number {
    return this.lastStreamSeq;
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  /** Stores everything closed so far (one flush at a time); retries until stored or `stopping()`. */
  flush(stopping: () => boolean = () => false): Promise<void> {
    if (!this.flushing) this.flushing = this.flushOnce(stopping).finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async flushOnce(stopping: () => boolean): Promise<void> {
    const all = this.pending;
    if (!all.length) return;
    this.pending = [];
    // Transactions that need their stored events wait for them (and keep their messages held);
    // the others do not wait for them: a stopped ingest must not hold up every transaction.
    const need = this.history ? all.filter((c) => c.needsHistory) : [];
    const waiting = need.length && !(await this.mergeHistory(need)) ? new Set(need) : undefined;
    const batch = waiting ? all.filter((c) => !waiting.has(c)) : all;
    if (batch.length < all.length) this.pending.unshift(...need);
    if (!batch.length) return;
    const version = BigInt(this.now()) * 1_000_000n;
    const rows: TxnSpanRow[] = [];
    const perTxn: TxnSpanRow[][] = [];
    for (const c of batch) {
      const r = buildSpans({ deployment: c.txn.deployment, txn: c.txn.txn, events: c.events }, version);
      perTxn.push(r);
      rows.push(...r);
    }
    let backoff = 100;
    for (;;) {
      try {
        const started = performance.now();
        await this.sink.store(rows);
        this.metrics.storeSeconds.observe((performance.now() - started) / 1000);
        break;
      } catch (e) {
        this.metrics.storeErrors.inc();
        this.log.warn({ err: (e as Error).message, spans: rows.length }, 'storing spans failed; retrying (their batches stay unacked)');
        if (stopping()) return; // unacked: redelivered to the next process
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 5000);
      }
    }
    this.metrics.spansStored.inc(rows.length);
    if (!this.sink.export) {
      for (const c of batch) for (const m of c.holds) this.holds.release(m);
    } else {
      const nowMs = this.now();
      // Complete (final event and every declared hop, after any merge): nothing late is expected, export now.
      batch.forEach((c, i) => this.export(this.exportHold.put(c.txn.key, { rows: perTxn[i]!, holds: c.holds }, nowMs, c.reason === 'final' || isComplete(perTxn[i]!))));
    }
    this.gauges();
  }

  /**
   * Adds the stored events of transactions that need them; one try, false when it failed (the
   * caller keeps them for a later flush, after a growing pause, so a stopped ingest or
   * ClickHouse is not asked every tick).
   */
  private async mergeHistory(need: Closed<M>[]): Promise<boolean> {
    if (this.now() < this.historyRetryAtMs) return false;
    try {
      const stored = await this.history!(need.map((c) => ({ deployment: c.txn.deployment, txn: c.txn.txn, events: c.events })), this.lastStreamSeq);
      const byKey = new Map<string, Closed<M>[]>();
      for (const c of need) byKey.set(c.txn.key, [...(byKey.get(c.txn.key) ?? []), c]);
      for (const ev of stored) {
        for (const c of byKey.get(txnKey(ev.deployment, ev.txn)) ?? []) {
          const full: TxnEvent = { ...ev, shape: c.events[0]?.shape };
          // Into the transaction (a later re-open has it) and into this closing's snapshot (each
          // on its own: a transaction closed twice while it waited has two snapshots).
          addEvent(c.txn, full);
          if (!c.events.some((e) => sameEvent(e, full))) c.events.push(full);
        }
      }
      for (const c of need) {
        c.needsHistory = false;
        c.txn.needsHistory = false;
      }
      this.metrics.historyMerged.inc(need.length);
      this.historyBackoffMs = 0;
      return true;
    } catch (e) {
      this.metrics.historyErrors.inc();
      this.historyBackoffMs = Math.min(Math.max(200, this.historyBackoffMs * 2), 5000);
      this.historyRetryAtMs = this.now() + this.historyBackoffMs;
      this.log.warn({ err: (e as Error).message, transactions: need.length, retryInMs: this.historyBackoffMs }, 'reading stored events failed; those transactions wait (their batches stay unacked), the others go on');
      return false;
    }
  }
}
