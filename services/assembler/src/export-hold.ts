import type { TxnSpanRow } from '@tapfleet/schemas';
import { TouchQueue } from './touch-queue.js';

/**
 * Spans of transactions that may still change wait here before they are exported. OTLP is
 * append-only: a span exported and then changed (a late event re-opened its transaction)
 * shows twice in a backend such as Jaeger, which drops only identical copies. So a
 * transaction closed complete (its final event and every declared hop) is exported at once,
 * and one closed by quiet time, age or eviction only when its linger ends: a late event in
 * between replaces its spans before anyone saw them. ClickHouse has them all at close.
 */
export class ExportHold {
  private readonly held = new Map<string, { rows: TxnSpanRow[]; dueMs: number; stamp: number }>();
  private readonly order = new TouchQueue<string>();
  private stamps = 0;

  constructor(private readonly lingerMs: number, private readonly maxHeld: number) {}

  get size(): number {
    return this.held.size;
  }

  /** Holds (replacing what was held for the same transaction) or, when `now` is true, releases at once. Returns what to export now. */
  put(key: string, rows: TxnSpanRow[], nowMs: number, now: boolean): TxnSpanRow[] {
    this.held.delete(key);
    if (now) return rows;
    const stamp = ++this.stamps;
    this.held.set(key, { rows, dueMs: nowMs + this.lingerMs, stamp });
    this.order.push(key, stamp);
    return this.due(nowMs);
  }

  /** Spans whose linger ended (or beyond the bound, oldest first). */
  due(nowMs: number): TxnSpanRow[] {
    const out: TxnSpanRow[] = [];
    for (let e = this.order.peek(); e; e = this.order.peek()) {
      const h = this.held.get(e.item);
      if (h && h.stamp === e.stamp) {
        if (h.dueMs > nowMs && this.held.size <= this.maxHeld) break;
        this.held.delete(e.item);
        out.push(...h.rows);
      }
      this.order.shift();
    }
    return out;
  }

  /** Everything held (on stop). */
  drain(): TxnSpanRow[] {
    const out = [...this.held.values()].flatMap((h) => h.rows);
    this.held.clear();
    return out;
  }
}
