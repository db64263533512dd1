import { createHash } from 'node:crypto';
import { z } from 'zod/v3';
import { LAST_STORABLE_DAY } from './storable-day.js';

const EventName = z.string().regex(/^[a-z_][a-z0-9_]*$/, 'expected an event name');

/**
 * A transaction's shape as a script declares it (`hop NAME = FROM -> TO;`, `final EVENT;`),
 * carried in the bundle manifest so the assembler needs nothing but the bundle. With no hops
 * declared, consecutive events (ordered by corrected time) form the hops; with no final event,
 * a transaction closes after the assembler's quiet time.
 */
export const TxnShape = z.object({
  hops: z.array(z.object({ name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/).max(64), from: EventName, to: EventName })).max(64),
  final: z.array(EventName).max(16),
});
export type TxnShape = z.infer<typeof TxnShape>;

/**
 * What a span stands for: the whole transaction (the root), a hop between two events
 * (possibly on two hosts), or one event's own `latency` on its host.
 */
export const TxnSpanKind = z.enum(['txn', 'hop', 'latency']);
export type TxnSpanKind = z.infer<typeof TxnSpanKind>;

const Hex = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`), `expected ${bytes * 2} lower-case hex digits`);

/**
 * One row of `txn_spans` (migration 0009) and one span on the Kafka mirror. Times are the
 * hosts' wall clocks corrected by each host's measured offset to the reference clock; the
 * correction is never hidden: `error_bound_ns` is how far the true duration may be from
 * `duration_ns` (the sum of both hosts' clock uncertainties; 0 within one host). A later
 * version of a span (same ids, a higher `version`) replaces the earlier one.
 */
export const TxnSpanRow = z.object({
  date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  deployment: z.string().min(1),
  txn: z.string(),
  trace_id: Hex(16),
  span_id: Hex(8),
  /** Empty for the root span. */
  parent_span_id: z.union([Hex(8), z.literal('')]),
  kind: TxnSpanKind,
  name: z.string(),
  /** The host the span is reported under (its OpenTelemetry Resource): the `to` host for a hop. */
  host: z.string(),
  from_host: z.string(),
  to_host: z.string(),
  from_event: z.string(),
  to_event: z.string(),
  /** Corrected wall-clock ns (decimal strings: ns since 1970 exceed 2^53). */
  start_ns: z.string().regex(/^\d+$/),
  end_ns: z.string().regex(/^\d+$/),
  /** end - start; may be negative across hosts, by at most error_bound_ns. */
  duration_ns: z.string().regex(/^-?\d+$/),
  error_bound_ns: z.string().regex(/^\d+$/),
  /** Events the transaction held when this version was made (the root's count; 1 or 2 for others). */
  events: z.number().int().safe().nonnegative(),
  attr_names: z.array(z.string()),
  attr_values: z.array(z.string()),
  /** Emit time in ns; ReplacingMergeTree keeps the highest. */
  version: z.string().regex(/^\d+$/),
});
export type TxnSpanRow = z.infer<typeof TxnSpanRow>;

const NS_PER_DAY = 86_400_000_000_000n;
const LAST_DAY = BigInt(LAST_STORABLE_DAY);

const dayNames = new Map<bigint, string>();
/** UTC day (YYYY-MM-DD) of a wall-clock ns, clamped as the `date` column stores it (storable-day.ts; cached per day: this runs once per transaction). */
export function utcDay(ns: bigint): string {
  const day = ns / NS_PER_DAY < LAST_DAY ? ns / NS_PER_DAY : LAST_DAY;
  let name = dayNames.get(day);
  if (name === undefined) {
    name = new Date(Number(day * 86_400_000n)).toISOString().slice(0, 10);
    if (dayNames.size > 1000) dayNames.clear();
    dayNames.set(day, name);
  }
  return name;
}

/**
 * Trace id of a transaction: deterministic in (deployment, txn key, day of its first event),
 * so a re-export after a restart or a late event yields the same trace. The day keeps a key
 * reused on another day (order ids restart daily) from joining yesterday's trace.
 */
export function txnTraceId(deployment: string, txn: string, day: string): string {
  return createHash('sha256').update(`tapfleet-trace\0${deployment}\0${txn}\0${day}`).digest('hex').slice(0, 32);
}

/** murmur3's finaliser: every input bit reaches every output bit. */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Two 32-bit FNV-1a hashes of `s` from two seeds, in one pass, each finished with mix32. */
function hash64(s: string, seedA: number, seedB: number): [number, number] {
  let a = (seedA ^ 0x811c9dc5) >>> 0;
  let b = (seedB ^ 0x811c9dc5) >>> 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193);
  }
  return [mix32(a), mix32(b ^ 0x5bd1e995)];
}

const HEX_BYTE = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
/** 8 hex digits of a u32 from a byte table (Number#toString(16) + padStart cost a tenth of span building). */
const hex8 = (n: number) => HEX_BYTE[(n >>> 24) & 0xff]! + HEX_BYTE[(n >>> 16) & 0xff]! + HEX_BYTE[(n >>> 8) & 0xff]! + HEX_BYTE[n & 0xff]!;

/**
 * Span id within a trace, deterministic in what the span stands for (`root`, `hop:NAME#i`,
 * `lat:host:boot:seq`). Ids need only be unique within their trace (already a SHA-256 of the
 * key), so two seeded 32-bit hashes make the 64 bits: SHA-256 per span cost a tenth of the
 * assembler's time at fleet rates.
 */
export function txnSpanId(traceId: string, what: string): string {
  return spanIdsOf(traceId)(what);
}

/** txnSpanId for one trace, with the trace id hashed once (the assembler makes several spans per trace). */
export function spanIdsOf(traceId: string): (what: string) => string {
  const [seedA, seedB] = hash64(traceId, 0x811c9dc5, 0x9747b28c);
  return (what) => {
    const [a, b] = hash64(what, seedA, seedB);
    const id = hex8(a) + hex8(b);
    // An all-zero span id is invalid in OpenTelemetry; vanishingly unlikely, but never emit one.
    return id === '0000000000000000' ? '0000000000000001' : id;
  };
}
