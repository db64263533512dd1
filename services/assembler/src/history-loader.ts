import { storedTxnEventsSql, utcDay } from '@tapfleet/schemas';
import type { TxnEvent } from './txn-event.js';

export interface StoredEventRow {
  deployment: string;
  txn: string;
  event: string;
  host: string;
  boot_id: string;
  seq: string;
  ts_ns: string;
  clock_offset_ns: string;
  clock_uncertainty_ns: string;
  latency_ns: string;
  pid: number;
  tid: number;
}

export interface HistorySource {
  rows(sql: string): Promise<StoredEventRow[]>;
  /** The highest stream sequence up to which ingest has stored every event batch. */
  ingestAckFloor(): Promise<number>;
}

const DAY_NS = 86_400_000_000_000n;
/** Keys per query: IN lists stay well inside ClickHouse's max_query_size. */
const KEYS_PER_QUERY = 500;

/** A stored row as the event it was (shape and link are the bundle's, filled by the caller from memory). */
export function storedEvent(r: StoredEventRow): TxnEvent {
  const wallNs = BigInt(r.ts_ns);
  const offsetNs = BigInt(r.clock_offset_ns);
  return {
    deployment: r.deployment, txn: r.txn, event: r.event, host: r.host, bootId: r.boot_id, seq: Number(r.seq),
    wallNs, correctedNs: wallNs - offsetNs, offsetNs, uncertaintyNs: BigInt(r.clock_uncertainty_ns), latencyNs: BigInt(r.latency_ns),
    pid: r.pid, tid: r.tid, shape: undefined, link: undefined,
  };
}

/**
 * Reads the stored events of transactions the assembler only partly holds. It first waits
 * until ingest has stored everything up to the newest message involved (its durable
 * consumer's ack floor), so nothing stored later than the query can be missing from it.
 */
export async function loadStoredEvents(src: HistorySource, db: string, keys: { deployment: string; txn: string; events: TxnEvent[] }[], upToStreamSeq: number, waitMs: number): Promise<TxnEvent[]> {
  const deadline = Date.now() + waitMs;
  while ((await src.ingestAckFloor()) < upToStreamSeq) {
    if (Date.now() > deadline) throw new Error(`ingest has not stored stream sequence ${upToStreamSeq} after ${waitMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const out: TxnEvent[] = [];
  for (let i = 0; i < keys.length; i += KEYS_PER_QUERY) {
    const chunk = keys.slice(i, i + KEYS_PER_QUERY);
    let lo = chunk[0]!.events[0]!.wallNs;
    let hi = lo;
    for (const k of chunk) for (const e of k.events) {
      if (e.wallNs < lo) lo = e.wallNs;
      if (e.wallNs > hi) hi = e.wallNs;
    }
    // A transaction's earlier events may be on the previous day (or the next, across a host's clock).
    const rows = await src.rows(storedTxnEventsSql(db, utcDay(lo - DAY_NS), utcDay(hi + DAY_NS), chunk));
    out.push(...rows.map(storedEvent));
  }
  return out;
}
