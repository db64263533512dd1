import { spanIdsOf, txnTraceId, utcDay, type TxnShape, type TxnSpanKind, type TxnSpanRow } from '@tapfleet/schemas';
import { placeable, type TxnEvent } from './txn-event.js';

const HOP_ATTRS = ['tapfleet.from.clock_offset_ns', 'tapfleet.to.clock_offset_ns'];
const LATENCY_ATTRS = ['process.pid', 'thread.id'];

/** A transaction's events (de-duplicated) and what is known of its shape. */
export interface TxnInput {
  deployment: string;
  txn: string;
  events: readonly TxnEvent[];
}

const byTime = (a: TxnEvent, b: TxnEvent) => (a.correctedNs < b.correctedNs ? -1 : a.correctedNs > b.correctedNs ? 1 : a.host < b.host ? -1 : a.host > b.host ? 1 : a.seq - b.seq);
const max = (a: bigint, b: bigint) => (a > b ? a : b);

/** The bound on a duration measured between two events: both clocks' uncertainties, or none on one host. */
export function errorBound(a: TxnEvent, b: TxnEvent): bigint {
  return a.host === b.host && a.bootId === b.bootId ? 0n : a.uncertaintyNs + b.uncertaintyNs;
}

/**
 * Where a hop ends. Across hosts: at the `to` event's corrected time (within the bound). On one
 * host (one boot), both ends are on one clock and their difference is exact, while each batch
 * carries a fresh offset estimate that jitters within its uncertainty: correcting the two ends by
 * two estimates would add that jitter to a duration whose bound is 0. So the hop lasts exactly
 * the wall-clock difference, drawn from the `from` event's corrected time.
 */
function hopEnd(from: TxnEvent, to: TxnEvent): bigint {
  if (from.host !== to.host || from.bootId !== to.bootId || from.offsetNs === to.offsetNs) return to.correctedNs;
  const end = from.correctedNs + (to.wallNs - from.wallNs);
  return placeable(end) ? end : to.correctedNs;
}

interface Pair {
  name: string;
  what: string;
  from: TxnEvent;
  to: TxnEvent;
}

/** The first `to` event at or after `from` (by corrected time), else the earliest `to` (a cross-host hop may look reversed within its bound). */
function pairFor(sorted: readonly TxnEvent[], from: string, to: string): [TxnEvent, TxnEvent] | undefined {
  const f = sorted.find((e) => e.event === from);
  if (!f) return undefined;
  const t = sorted.find((e) => e.event === to && e.correctedNs >= f.correctedNs) ?? sorted.find((e) => e.event === to);
  return t ? [f, t] : undefined;
}

function hopPairs(sorted: readonly TxnEvent[], shape: TxnShape | undefined): { pairs: Pair[]; missing: string[] } {
  if (shape?.hops.length) {
    const pairs: Pair[] = [];
    const missing: string[] = [];
    for (const h of shape.hops) {
      const p = pairFor(sorted, h.from, h.to);
      if (p) pairs.push({ name: h.name, what: `hop:${h.name}`, from: p[0], to: p[1] });
      else missing.push(h.name);
    }
    return { pairs, missing };
  }
  // No shape: consecutive events form the hops; repeated names are told apart by their ordinal.
  const seen = new Map<string, number>();
  const pairs: Pair[] = [];
  for (let i = 1; i < sorted.length; i++) {
    const name = `${sorted[i - 1]!.event} -> ${sorted[i]!.event}`;
    const n = seen.get(name) ?? 0;
    seen.set(name, n + 1);
    pairs.push({ name, what: `hop:${name}#${n}`, from: sorted[i - 1]!, to: sorted[i]! });
  }
  return { pairs, missing: [] };
}

/**
 * The spans of one transaction: a root spanning all of it, one span per hop (declared, or
 * consecutive events), one per event that carries its own latency. Ids are deterministic
 * (schemas/src/transaction.ts), so the same events always give the same spans: a re-export
 * is idempotent and a re-opened transaction's spans replace the old ones. Times are
 * corrected, never shifted to look causal: a hop whose end reads before its start keeps its
 * negative duration, inside `error_bound_ns`.
 */
export function buildSpans(input: TxnInput, version: bigint): TxnSpanRow[] {
  const sorted = input.events.length > 1 ? [...input.events].sort(byTime) : [...input.events];
  const first = sorted[0];
  if (!first) return [];
  let shape: TxnShape | undefined;
  for (const e of sorted) if ((shape = e.shape)) break;
  const day = utcDay(first.correctedNs);
  const traceId = txnTraceId(input.deployment, input.txn, day);
  const spanId = spanIdsOf(traceId);
  const rootId = spanId('root');
  const version_ = version.toString();
  const rows: TxnSpanRow[] = [];
  // One object literal of a fixed shape per span (no spreads): this runs for every span at fleet rates.
  const span = (kind: TxnSpanKind, what: string, name: string, from: TxnEvent, to: TxnEvent, startNs: bigint, endNs: bigint, bound: bigint, attrNames: string[], attrValues: string[]): TxnSpanRow => ({
    date: day,
    deployment: input.deployment,
    txn: input.txn,
    trace_id: traceId,
    span_id: spanId(what),
    parent_span_id: rootId,
    kind,
    name,
    host: to.host,
    from_host: from.host,
    to_host: to.host,
    from_event: from.event,
    to_event: to.event,
    start_ns: startNs.toString(),
    end_ns: endNs.toString(),
    duration_ns: (endNs - startNs).toString(),
    error_bound_ns: bound.toString(),
    events: from === to ? 1 : 2,
    attr_names: attrNames,
    attr_values: attrValues,
    version: version_,
  });
  let start = first.correctedNs;
  let end = first.correctedNs;
  let worstBound = 0n;
  const { pairs, missing } = hopPairs(sorted, shape);
  for (const p of pairs) {
    const bound = errorBound(p.from, p.to);
    worstBound = max(worstBound, bound);
    const hopEndNs = hopEnd(p.from, p.to);
    if (hopEndNs > end) end = hopEndNs; // the root covers its hops
    rows.push(span('hop', p.what, p.name, p.from, p.to, p.from.correctedNs, hopEndNs, bound, HOP_ATTRS, [p.from.offsetNs.toString(), p.to.offsetNs.toString()]));
  }
  for (const e of sorted) {
    if (e.correctedNs > end) end = e.correctedNs;
    if (e.latencyNs <= 0n) continue;
    const s = e.correctedNs - e.latencyNs;
    if (s < start) start = s;
    rows.push(span('latency', `lat:${e.host}:${e.bootId}:${e.seq}`, e.event, e, e, s, e.correctedNs, 0n, LATENCY_ATTRS, [String(e.pid), String(e.tid)]));
  }
  // Plain loops: this runs once per transaction at fleet rates.
  const hosts: string[] = [];
  const links: string[] = [];
  let finalSeen = false;
  const finals = shape?.final ?? [];
  for (const e of sorted) {
    if (!hosts.includes(e.host)) hosts.push(e.host);
    if (e.link !== undefined && e.link !== input.txn && !links.includes(e.link)) links.push(e.link);
    if (!finalSeen && finals.includes(e.event)) finalSeen = true;
  }
  const rootAttrs: Record<string, string> = {
    'tapfleet.txn': input.txn,
    'tapfleet.deployment': input.deployment,
    'tapfleet.hosts': hosts.join(','),
    // Only a declared shape says what complete means; without one a transaction just ends quiet.
    ...(shape ? { 'tapfleet.complete': String(missing.length === 0 && (finals.length === 0 || finalSeen)) } : {}),
    ...(missing.length ? { 'tapfleet.missing_hops': missing.join(',') } : {}),
    ...(links.length ? { 'tapfleet.links': links.join(',') } : {}),
  };
  const last = sorted[sorted.length - 1]!;
  const root = span('txn', 'root', 'transaction', first, last, start, end, worstBound, Object.keys(rootAttrs), Object.values(rootAttrs));
  root.span_id = rootId;
  root.parent_span_id = '';
  root.host = first.host;
  root.events = sorted.length;
  rows.unshift(root);
  return rows;
}
