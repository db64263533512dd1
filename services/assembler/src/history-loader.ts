import { storedTxnEventsSql, utcDay } from '@tapfleet/schemas';
import { placeable, saneLatency, type TxnEvent } from './txn-event.js';

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
/** Keys per query, at most. */
const KEYS_PER_QUERY = 500;
/**
 * Bytes of keys per query, at most: a query must stay inside ClickHouse's max_query_size (256 KiB).
 * Keys are up to 256 bytes of agent data each; as UTF-8 text, escaped, one is up to ~1.5 KB
 * (invalid bytes decode to U+FFFD, 3 bytes each; quotes and backslashes double), so 500 such
 * keys would make a query ClickHouse refuses on every retry.
 */
const KEY_BYTES_PER_QUERY = 64 * 1024;

/** The keys in groups small enough for one query each. */
export function keyChunks<K extends { deployment: string; txn: string }>(keys: readonly K[]): K[][] {
  const out: K[][] = [];
  let chunk: K[] = [];
  let bytes = 0;
  for (const k of keys) {
    // Escaping at most doubles a character; 8 for quotes and separators.
    const size = 2 * (Buffer.byteLength(k.txn) + Buffer.byteLength(k.deployment)) + 8;
    if (chunk.length && (chunk.length >= KEYS_PER_QUERY || bytes + size > KEY_BYTES_PER_QUERY)) {
      out.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(k);
    bytes += size;
  }
  if (chunk.length) out.push(chunk);
  return out;
}

/** A stored row as the event it was (shape and link are the bundle's, filled by the caller from memory). */
export function storedEvent(r: StoredEventRow): TxnEvent {
  const wallNs = BigInt(r.ts_ns);
  const offsetNs = BigInt(r.clock_offset_ns);
  const correctedNs = wallNs - offsetNs;
  return {
    deployment: r.deployment, txn: r.txn, event: r.event, host: r.host, bootId: r.boot_id, seq: Number(r.seq),
    wallNs, correctedNs, offsetNs, uncertaintyNs: BigInt(r.clock_uncertainty_ns), latencyNs: saneLatency(BigInt(r.latency_ns), correctedNs),
    pid: r.pid, tid: r.tid, shape: undefined, link: undefined,
  };
}

/**
 * Reads the stored events of transactions the assembler only partly holds. It first waits
 * until ingest has stored everything up to the newest message involved (its durable
 * consumer's ack floor), so nothing stored later than the query can be missing from it.
 */
export async function loadStoredEvents(src: HistorySource, db: string, keys: { deployment: string; txn: string; events: readonly Pick<TxnEvent, 'wallNs'>[] }[], upToStreamSeq: number, waitMs: number): Promise<TxnEvent[]> {
  const deadline = Date.now() + waitMs;
  while ((await src.ingestAckFloor()) < upToStreamSeq) {
    if (Date.now() > deadline) throw new Error(`ingest has not stored stream sequence ${upToStreamSeq} after ${waitMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const out: TxnEvent[] = [];
  for (const chunk of keyChunks(keys)) {
    let lo = chunk[0]!.events[0]!.wallNs;
    let hi = lo;
    for (const k of chunk) for (const e of k.events) {
      if (e.wallNs < lo) lo = e.wallNs;
      if (e.wallNs > hi) hi = e.wallNs;
    }
    // A transaction's earlier events may be on the previous day (or the next, across a host's clock).
    const rows = await src.rows(storedTxnEventsSql(db, utcDay(lo - DAY_NS), utcDay(hi + DAY_NS), chunk));
    // Stored as ingest got them; the ones the live path skips (unplaceable) are skipped here too.
    for (const r of rows) {
      const e = storedEvent(r);
      if (placeable(e.correctedNs)) out.push(e);
    }
  }
  return out;
}
