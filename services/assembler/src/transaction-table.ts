import { eventIdentity, type TxnEvent } from './txn-event.js';

/** Why a transaction was closed (a label on /metrics). */
export type CloseReason = 'final' | 'quiet' | 'max-age' | 'max-events' | 'evicted';

/** One transaction being assembled; `H` is whatever holds its source messages (JetStream messages in the service). */
export interface OpenTxn<H> {
  key: string;
  deployment: string;
  txn: string;
  events: Map<string, TxnEvent>;
  openedMs: number;
  touchedMs: number;
  holds: Set<H>;
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
}

export const txnKey = (deployment: string, txn: string) => `${deployment}\0${txn}`;

/**
 * Open transactions in memory, in least-recently-touched order (a Map re-inserted on every
 * event), so the quiet ones and the eviction victim are always at the front: O(1) per event.
 * Closed transactions linger (events kept, messages released) so a late event re-opens them
 * from memory; past the linger a late event's transaction is marked to merge stored events.
 */
export class TransactionTable<H> {
  private readonly open = new Map<string, OpenTxn<H>>();
  private readonly lingering = new Map<string, { txn: OpenTxn<H>; closedMs: number }>();
  /** Closing by quiet time waits until then (after a restart, until the old process's messages are redelivered). */
  private holdClosingUntilMs = 0;
  reopened = 0;

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
   * transaction may be stored already.
   */
  add(ev: TxnEvent, hold: H | undefined, nowMs: number, staleMs: number, redelivered: boolean): { closed: Closed<H>[]; newHold: boolean } {
    const key = txnKey(ev.deployment, ev.txn);
    let t = this.open.get(key);
    if (t) {
      this.open.delete(key);
    } else {
      const old = this.lingering.get(key);
      if (old) {
        this.lingering.delete(key);
        t = old.txn;
        t.openedMs = nowMs;
        this.reopened++;
      } else {
        t = { key, deployment: ev.deployment, txn: ev.txn, events: new Map(), openedMs: nowMs, touchedMs: nowMs, holds: new Set(), needsHistory: redelivered || staleMs > this.o.lingerMs + this.o.quietMs, emitted: 0 };
      }
    }
    t.touchedMs = nowMs;
    t.events.set(eventIdentity(ev), ev);
    const newHold = hold !== undefined && !t.holds.has(hold);
    if (newHold) t.holds.add(hold);
    this.open.set(key, t);
    const closed: Closed<H>[] = [];
    const reason = this.mustClose(t, ev, nowMs);
    if (reason) closed.push(this.close(t, reason, nowMs));
    while (this.open.size > this.o.maxOpen) closed.push(this.close(this.open.values().next().value!, 'evicted', nowMs));
    return { closed, newHold };
  }

  private mustClose(t: OpenTxn<H>, ev: TxnEvent, nowMs: number): CloseReason | undefined {
    if (t.events.size >= this.o.maxEventsPerTxn) return 'max-events';
    if (nowMs - t.openedMs >= this.o.maxOpenMs) return 'max-age';
    const shape = ev.shape;
    if (shape?.final.includes(ev.event) && !t.needsHistory) {
      // The final event closes the transaction once every declared hop has both ends; until
      // then (an earlier event is still in another host's batch) the quiet time decides.
      const names = new Set([...t.events.values()].map((e) => e.event));
      if (shape.hops.every((h) => names.has(h.from) && names.has(h.to))) return 'final';
    }
    return undefined;
  }

  private close(t: OpenTxn<H>, reason: CloseReason, nowMs: number): Closed<H> {
    this.open.delete(t.key);
    this.lingering.delete(t.key);
    this.lingering.set(t.key, { txn: t, closedMs: nowMs });
    while (this.lingering.size > this.o.maxOpen) this.lingering.delete(this.lingering.keys().next().value!);
    const holds = [...t.holds];
    t.holds = new Set();
    const needsHistory = t.needsHistory;
    // Once merged with what is stored, a re-opened transaction has everything in memory.
    t.needsHistory = false;
    t.emitted++;
    return { txn: t, reason, events: [...t.events.values()], holds, needsHistory };
  }

  /** Transactions quiet for quietMs (or open past maxOpenMs) close; lingering ones past lingerMs are forgotten. */
  due(nowMs: number): Closed<H>[] {
    const closed: Closed<H>[] = [];
    if (nowMs >= this.holdClosingUntilMs) {
      for (const t of this.open.values()) {
        if (nowMs - t.touchedMs < this.o.quietMs) break; // touch order: the rest are younger
        closed.push(this.close(t, 'quiet', nowMs));
      }
    }
    for (const [key, l] of this.lingering) {
      if (nowMs - l.closedMs < this.o.lingerMs) break;
      this.lingering.delete(key);
    }
    return closed;
  }

  /** Messages every open transaction holds (for keep-alives). */
  *heldBy(): Iterable<H> {
    for (const t of this.open.values()) yield* t.holds;
  }
}
