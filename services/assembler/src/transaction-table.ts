import { TouchQueue } from './touch-queue.js';
import { sameEvent, type TxnEvent } from './txn-event.js';

/** Why a transaction was closed (a label on /metrics). */
export type CloseReason = 'final' | 'quiet' | 'max-age' | 'max-events' | 'evicted';

/** One transaction being assembled; `H` is whatever holds its source messages (JetStream messages in the service). */
export interface OpenTxn<H> {
  key: string;
  deployment: string;
  txn: string;
  /** Its events, each once (a redelivered or stored copy of one already here is not added). */
  events: TxnEvent[];
  /** Names of its events, kept only when a shape declares a final event (the completeness check). */
  names?: string[];
  openedMs: number;
  touchedMs: number;
  /** Bumped on every touch and close; a queue entry with another stamp is stale. */
  stamp: number;
  /** Its source messages, each once (arrays: a transaction has a few; a Set costs more than its search). */
  holds: H[];
  /** Some of its events may be stored but not in memory (redelivered after a restart, or late past the linger): merge stored events before emitting. */
  needsHistory: boolean;
  /** How many times it was emitted before (a late event re-opened it). */
  emitted: number;
}

/** A closed transaction as it was at closing: the spans are built from this snapshot while it may already re-open. */
export interface Closed<H> {
  txn: OpenTxn<H>;
  reason: CloseReason;
  events: TxnEvent[];
  /** Messages to release once its spans are stored. */
  holds: H[];
  needsHistory: boolean;
}

export interface TableLimits {
  quietMs: number;
  maxOpenMs: number;
  maxOpen: number;
  maxEventsPerTxn: number;
  lingerMs: number;
  maxLingering: number;
}

const NONE_CLOSED = Object.freeze([]) as unknown as never[];
const NOTHING = Object.freeze({ closed: NONE_CLOSED, newHold: false });
const HELD_NOTHING_CLOSED = Object.freeze({ closed: NONE_CLOSED, newHold: true });

export const txnKey = (deployment: string, txn: string) => `${deployment}\0${txn}`;

/** Adds an event unless the transaction has it already (same host, boot and sequence); true when added. */
export function addEvent(t: Pick<OpenTxn<unknown>, 'events' | 'names'>, ev: TxnEvent): boolean {
  for (const e of t.events) if (sameEvent(e, ev)) return false;
  t.events.push(ev);
  if (ev.shape?.final.length) {
    const names = (t.names ??= []);
    if (!names.includes(ev.event)) names.push(ev.event);
  }
  return true;
}

/**
 * Open transactions in memory. Every touch queues (transaction, stamp) in a FIFO, so the
 * least recently touched live entry is always at the front: the quiet ones and the eviction
 * victim are found in amortised O(1) per event. Closed transactions linger (events kept,
 * messages released) so a late event re-opens them from memory; past the linger a late
 * event's transaction is marked to merge stored events.
 */
export class TransactionTable<H> {
  private readonly open = new Map<string, OpenTxn<H>>();
  private readonly touches = new TouchQueue<OpenTxn<H>>();
  private readonly lingering = new Map<string, { txn: OpenTxn<H>; closedMs: number }>();
  private readonly closings = new TouchQueue<OpenTxn<H>>();
  private stamps = 0;
  /** Closing by quiet time waits until then (after a restart, until the old process's messages are redelivered). */
  private holdClosingUntilMs = 0;
  reopened = 0;
  /** Events dropped because their transaction already had maxEventsPerTransaction events. */
  overLimit = 0;

  constructor(private readonly o: TableLimits) {}

  get openCount(): number {
    return this.open.size;
  }

  get lingeringCount(): number {
    return this.lingering.size;
  }

  holdClosingUntil(ms: number): void {
    this.holdClosingUntilMs = ms;
  }

  /**
   * Adds one event; returns the transactions that must close now (its own when the final
   * event completed it or a bound was reached, the oldest when memory is full).
   * `redelivered`: the event's message came a second time (a restart): earlier events of its
   * transaction may be stored already. `staleMs`: how far the event is behind the newest event
   * seen; one behind by more than linger + quiet may belong to a transaction already forgotten.
   */
  add(ev: TxnEvent, hold: H | undefined, nowMs: number, staleMs: number, redelivered: boolean): { closed: Closed<H>[]; newHold: boolean } {
    const key = txnKey(ev.deployment, ev.txn);
    let t = this.open.get(key);
    const fresh = t === undefined;
    if (!t) {
      const old = this.lingering.get(key);
      // A runaway key (closed at maxEventsPerTransaction) is not re-opened while it lingers: each
      // re-open would copy, sort and re-emit all its events again, and keep them all, for every
      // further event. Its later events are dropped here (counted; ingest has stored them).
      if (old && old.txn.events.length >= this.o.maxEventsPerTxn && !old.txn.events.some((e) => sameEvent(e, ev))) {
        this.overLimit++;
        return { closed: [], newHold: false };
      }
      if (old) {
        this.lingering.delete(key);
        t = old.txn;
        t.openedMs = nowMs;
        this.reopened++;
      } else {
        t = { key, deployment: ev.deployment, txn: ev.txn, events: [], openedMs: nowMs, touchedMs: nowMs, stamp: 0, holds: [], needsHistory: redelivered || staleMs > this.o.lingerMs + this.o.quietMs, emitted: 0 };
      }
      this.open.set(key, t);
    }
    // Re-queue only when the time moved: events of one batch share a touch.
    if (fresh || t.touchedMs !== nowMs) {
      t.stamp = ++this.stamps;
      this.touches.push(t, t.stamp);
    }
    t.touchedMs = nowMs;
    ev.txn = t.txn; // one copy of the key string per transaction, not per event
    addEvent(t, ev);
    const newHold = hold !== undefined && !t.holds.includes(hold);
    if (newHold) t.holds.push(hold);
    // No allocation on the common path (nothing closes): this runs once per event.
    const reason = this.mustClose(t, ev, nowMs);
    if (!reason && this.open.size <= this.o.maxOpen) return newHold ? HELD_NOTHING_CLOSED : NOTHING;
    const closed: Closed<H>[] = [];
    if (reason) closed.push(this.close(t, reason, nowMs));
    while (this.open.size > this.o.maxOpen) {
      const oldest = this.oldestOpen();
      if (!oldest) break;
      closed.push(this.close(oldest, 'evicted', nowMs));
    }
    return { closed, newHold };
  }

  private mustClose(t: OpenTxn<H>, ev: TxnEvent, nowMs: number): CloseReason | undefined {
    if (t.events.length >= this.o.maxEventsPerTxn) return 'max-events';
    if (nowMs - t.openedMs >= this.o.maxOpenMs) return 'max-age';
    // The final event closes the transaction once every declared hop has both ends too: events
    // of one order reach the assembler in different hosts' batches, so the final one may come
    // before an earlier hop's; then the event completing it closes it, or the quiet time does.
    const shape = ev.shape;
    if (t.names && shape && !t.needsHistory && shape.final.some((f) => t.names!.includes(f)) && shape.hops.every((h) => t.names!.includes(h.from) && t.names!.includes(h.to))) return 'final';
    return undefined;
  }

  /** The least recently touched open transaction (skipping stale queue entries). */
  private oldestOpen(): OpenTxn<H> | undefined {
    for (let e = this.touches.peek(); e; e = this.touches.peek()) {
      if (e.item.stamp === e.stamp && this.open.get(e.item.key) === e.item) return e.item;
      this.touches.shift();
    }
    return undefined;
  }

  private close(t: OpenTxn<H>, reason: CloseReason, nowMs: number): Closed<H> {
    this.open.delete(t.key);
    t.stamp = ++this.stamps;
    this.lingering.set(t.key, { txn: t, closedMs: nowMs });
    this.closings.push(t, t.stamp);
    this.forgetLingering(nowMs, this.o.maxLingering);
    const holds = t.holds;
    t.holds = [];
    // Stays set until the merge with what is stored succeeds (AssemblerCore clears it then):
    // if the transaction re-opens and closes again before that, that closing must merge too.
    const needsHistory = t.needsHistory;
    t.emitted++;
    return { txn: t, reason, events: [...t.events], holds, needsHistory };
  }

  /** Forgets lingering transactions closed lingerMs ago, and the oldest beyond `max`. */
  private forgetLingering(nowMs: number, max: number): void {
    for (let e = this.closings.peek(); e; e = this.closings.peek()) {
      const l = this.lingering.get(e.item.key);
      const live = l !== undefined && l.txn === e.item && e.item.stamp === e.stamp;
      if (live && this.lingering.size <= max && nowMs - l.closedMs < this.o.lingerMs) return;
      if (live) this.lingering.delete(e.item.key);
      this.closings.shift();
    }
  }

  /** Transactions quiet for quietMs close; lingering ones past lingerMs are forgotten. */
  due(nowMs: number): Closed<H>[] {
    const closed: Closed<H>[] = [];
    if (nowMs >= this.holdClosingUntilMs) {
      for (let t = this.oldestOpen(); t && nowMs - t.touchedMs >= this.o.quietMs; t = this.oldestOpen()) closed.push(this.close(t, 'quiet', nowMs));
    }
    this.forgetLingering(nowMs, this.o.maxLingering);
    return closed;
  }

}
