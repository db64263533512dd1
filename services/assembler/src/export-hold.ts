import type { TxnSpanRow } from '@tapfleet/schemas';
import { TouchQueue } from './touch-queue.js';

/** One transaction's spans waiting for export, and the messages to release once they are out. */
export interface HeldExport<M> {
  rows: TxnSpanRow[];
  holds: M[];
}

/**
 * Spans of transactions that may still change wait here before they are exported. OTLP is
 * append-only: a span exported and then changed (a late event re-opened its transaction)
 * shows twice in a backend such as Jaeger, which drops only identical copies. So a
 * transaction closed complete (its final event and every declared hop) is exported at once,
 * and one closed by quiet time, age or eviction only when its linger ends: a late event in
 * between replaces its spans before anyone saw them (its source messages stay held with the
 * new version's). ClickHouse has them all at close.
 */
export class ExportHold<M> {
  private readonly held = new Map<string, HeldExport<M> & { dueMs: number; stamp: number }>();
  private readonly order = new TouchQueue<string>();
  private stamps = 0;

  constructor(private readonly lingerMs: number, private readonly maxHeld: number) {}

  get size(): number {
    return this.held.size;
  }

  /** Holds `e` (taking over what was held for the same transaction) or releases it at once; returns what to export now. */
  put(key: string, e: HeldExport<M>, nowMs: number, now: boolean): HeldExport<M>[] {
    const old = this.held.get(key);
    this.held.delete(key);
    const merged = { rows: e.rows, holds: old ? [...old.holds, ...e.holds] : e.holds };
    if (now) return [merged, ...this.due(nowMs)];
    const stamp = ++this.stamps;
    this.held.set(key, { ...merged, dueMs: nowMs + this.lingerMs, stamp });
    this.order.push(key, stamp);
    return this.due(nowMs);
  }

  /** Entries whose linger ended (or beyond the bound, oldest first). */
  due(nowMs: number): HeldExport<M>[] {
    const out: HeldExport<M>[] = [];
    for (let q = this.order.peek(); q; q = this.order.peek()) {
      const h = this.held.get(q.item);
      if (h && h.stamp === q.stamp) {
        if (h.dueMs > nowMs && this.held.size <= this.maxHeld) break;
        this.held.delete(q.item);
        out.push({ rows: h.rows, holds: h.holds });
      }
      this.order.shift();
    }
    return out;
  }

  /** Everything held (on stop). */
  drain(): HeldExport<M>[] {
    const out = [...this.held.values()].map((h) => ({ rows: h.rows, holds: h.holds }));
    this.held.clear();
    return out;
  }
}
