import type {
  AggsQuery, AggsResponse, CompareQuery, CompareResponse, EventsQuery, EventsResponse, EventView, HopsQuery, HopsResponse, LatencyQuery, LatencyResponse,
  LatencyStats, LatencySummary, RankQuery, RankResponse, SlowestQuery, SlowestResponse, SpanView, TxnQuery, TxnResponse, TxnView,
} from '@tapfleet/schemas';
import { decodeCursor, encodeCursor } from './events-cursor.js';
import { fieldFilterCondition } from './field-filters.js';
import { decodeFields, parseLayoutRow, type SlotColumns, type StoredLayout } from './layouts.js';
import {
  aggsSql, eventLatencySource, eventRowsSql, eventsPageSql, hopDuplicatesSql, hopRowsSql, hopSource, hopsOfTxnsSql, latencyStatsSql, layoutsByBundleSql, layoutsByEventSql,
  rankSql, slowestSql, summarySql, txnEventsSql, txnSpansSql, type DurationSource, type HopDuplicates, type NsRange,
} from './query-sql.js';

/** What the store needs from ClickHouse: rows of a SELECT as JSON objects (the service's client, or chDB in tests). */
export interface SqlRows {
  rows<T>(sql: string): Promise<T[]>;
}

/** ClickHouse JSON carries 64-bit numbers as strings (18.16) or numbers (newer servers): both read here. */
type Num = string | number;
const num = (v: Num): number => Number(v);

interface SummaryRow { name: string; count: Num; q: Num[]; max: Num; eb: Num }
/** sumMap's (keys, counts): an array pair, or an object of the two on servers that name tuple members. */
type BucketMap = [Num[], Num[]] | Record<string, Num[]>;
interface StatsRow extends SummaryRow { minutes: Num[]; counts: Num[]; mq: Num[][]; maxes: Num[]; buckets: BucketMap[] }
interface SpanRow {
  deployment: string; txn: string; trace_id: string; span_id: string; parent_span_id: string; kind: string; name: string; host: string; from_host: string; to_host: string;
  from_event: string; to_event: string; start_text: string; end_text: string; duration_ns: Num; error_bound_ns: Num; events: Num; attr_names: string[]; attr_values: string[];
  version_text: string;
}
interface EventRow extends SlotColumns {
  deployment: string; host: string; boot_id: string; seq: Num; bundle: string; event: string; probe: string; ts_text: string; clock_offset_ns: Num; clock_uncertainty_ns: Num;
  pid: Num; tid: Num; comm: string; txn: string; latency_ns: Num;
}

const bucketPairs = (m: BucketMap): [number, number][] => {
  const [keys, counts] = Array.isArray(m) ? m : Object.values(m);
  return (keys ?? []).map((k, i) => [num(k), num(counts?.[i] ?? 0)]);
};

/**
 * The newest version of each span among rows read without FINAL: until ReplacingMergeTree merges
 * them, a re-opened transaction's spans are stored once per emission, with rising versions.
 */
function newestSpans<T extends { trace_id: string; span_id: string; version_text: string }>(rows: T[]): T[] {
  const newest = new Map<string, T>();
  for (const r of rows) {
    const id = `${r.trace_id}/${r.span_id}`;
    const seen = newest.get(id);
    if (!seen || BigInt(r.version_text) > BigInt(seen.version_text)) newest.set(id, r);
  }
  return rows.filter((r) => newest.get(`${r.trace_id}/${r.span_id}`) === r);
}

/** Layouts read per bundle are kept: ingest writes a bundle's layouts once, when it first sees the bundle. */
const LAYOUT_CACHE_BUNDLES = 1000;

const summaryOf = (r: SummaryRow | undefined): LatencySummary | null =>
  r ? { count: num(r.count), p50: num(r.q[0]!), p90: num(r.q[1]!), p99: num(r.q[2]!), p999: num(r.q[3]!), max: num(r.max) } : null;

const spanView = (r: SpanRow): SpanView => ({
  spanId: r.span_id, parentSpanId: r.parent_span_id, kind: r.kind, name: r.name, host: r.host, fromHost: r.from_host, toHost: r.to_host,
  fromEvent: r.from_event, toEvent: r.to_event, startNs: r.start_text, endNs: r.end_text, durationNs: num(r.duration_ns), errorBoundNs: num(r.error_bound_ns),
  events: num(r.events), attrs: Object.fromEntries(r.attr_names.map((n, i) => [n, r.attr_values[i] ?? ''])),
});

/**
 * Spans with more than one row in a hop window that are listed by key (an IN list in the query
 * text, ~20 bytes each, well inside ClickHouse's 256 KiB query size); beyond it every span of
 * the window is de-duplicated.
 */
export const MAX_LISTED_DUPLICATES = 2000;

/** Every history question the API answers, as SQL through `SqlRows`. */
export class QueryStore {
  private readonly layoutCache = new Map<string, StoredLayout[]>();

  constructor(private readonly sql: SqlRows, private readonly db: string, private readonly maxListedDuplicates = MAX_LISTED_DUPLICATES) {}

  /** Which spans of a hop window have more than one row (see hopSource): usually none, found by one cheap count. */
  private async hopDuplicates(deployment: string, w: NsRange, hop?: string): Promise<HopDuplicates> {
    const [c] = await this.sql.rows<{ rows: Num; spans: Num; version_text: string }>(hopRowsSql(this.db, deployment, w, hop));
    const maxVersion = BigInt(c?.version_text ?? '0');
    if (!c || num(c.rows) === num(c.spans)) return { keys: [], maxVersion };
    const keys = (await this.sql.rows<{ k: string }>(hopDuplicatesSql(this.db, deployment, w, this.maxListedDuplicates, hop))).map((r) => r.k);
    return keys.length > this.maxListedDuplicates ? 'all' : { keys, maxVersion };
  }

  /** Count, percentiles, max, histogram, per-minute series and heatmap of each name in the source. */
  private async latencyStats(src: DurationSource): Promise<LatencyStats[]> {
    const rows = await this.sql.rows<StatsRow>(latencyStatsSql(src));
    return rows.map((s) => {
      const heatmap = s.minutes.flatMap((m, i) => bucketPairs(s.buckets[i]!).map(([bucket, count]) => ({ minuteMs: num(m), bucket, count }))).sort((a, b) => a.minuteMs - b.minuteMs || a.bucket - b.bucket);
      const histogram = new Map<number, number>();
      for (const c of heatmap) histogram.set(c.bucket, (histogram.get(c.bucket) ?? 0) + c.count);
      return {
        name: s.name, ...summaryOf(s)!, errorBoundMaxNs: num(s.eb),
        histogram: [...histogram].sort(([a], [b]) => a - b).map(([bucket, count]) => ({ bucket, count })),
        // The per-minute quantiles are the same four levels; the series shows p50 and p99.
        series: s.minutes.map((m, i) => ({ minuteMs: num(m), count: num(s.counts[i]!), p50: num(s.mq[i]![0]!), p99: num(s.mq[i]![2]!), max: num(s.maxes[i]!) })).sort((a, b) => a.minuteMs - b.minuteMs),
        heatmap,
      };
    });
  }

  async hops(q: HopsQuery): Promise<HopsResponse> {
    const w = { from: q.from, to: q.to };
    const duplicates = await this.hopDuplicates(q.deployment, w, q.hop);
    return { deployment: q.deployment, fromNs: String(q.from), toNs: String(q.to), hops: await this.latencyStats(hopSource(this.db, q.deployment, w, duplicates, q.hop)) };
  }

  async latency(q: LatencyQuery): Promise<LatencyResponse> {
    const w = { from: q.from, to: q.to };
    const [stats, rows] = await Promise.all([
      this.latencyStats(eventLatencySource(this.db, q.deployment, q.event, w, q.host)),
      this.sql.rows<{ rows: Num }>(eventRowsSql(this.db, q.deployment, q.event, w, q.host)),
    ]);
    const empty: LatencyStats = { name: q.event, count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, errorBoundMaxNs: 0, histogram: [], series: [], heatmap: [] };
    return { deployment: q.deployment, event: q.event, fromNs: String(q.from), toNs: String(q.to), storedRows: num(rows[0]?.rows ?? 0), stats: stats[0] ?? empty };
  }

  private async layouts(rows: Promise<{ bundle: string; event: string; fields: string }[]>): Promise<Map<string, StoredLayout>> {
    const byKey = new Map<string, StoredLayout>();
    for (const r of await rows) byKey.set(`${r.bundle}\0${r.event}`, parseLayoutRow(r));
    return byKey;
  }

  private async eventViews(rows: EventRow[]): Promise<EventView[]> {
    const missing = [...new Set(rows.map((r) => r.bundle))].filter((b) => !this.layoutCache.has(b));
    if (missing.length) {
      const read = await this.sql.rows<{ bundle: string; event: string; fields: string }>(layoutsByBundleSql(this.db, missing));
      if (this.layoutCache.size + missing.length > LAYOUT_CACHE_BUNDLES) this.layoutCache.clear();
      // A bundle without stored layouts (ingest has not written them yet) is asked again next time.
      for (const b of missing) if (read.some((r) => r.bundle === b)) this.layoutCache.set(b, read.filter((r) => r.bundle === b).map(parseLayoutRow));
    }
    const layouts = new Map<string, StoredLayout>();
    for (const r of rows) for (const l of this.layoutCache.get(r.bundle) ?? []) layouts.set(`${l.bundle}\0${l.event}`, l);
    return rows.map((r) => ({
      deployment: r.deployment, host: r.host, bootId: r.boot_id, seq: num(r.seq), event: r.event, probe: r.probe, tsNs: r.ts_text,
      correctedNs: String(BigInt(r.ts_text) - BigInt(r.clock_offset_ns)), clockOffsetNs: num(r.clock_offset_ns), clockUncertaintyNs: num(r.clock_uncertainty_ns),
      pid: num(r.pid), tid: num(r.tid), comm: r.comm, txn: r.txn, latencyNs: num(r.latency_ns),
      fields: decodeFields(r, layouts.get(`${r.bundle}\0${r.event}`)),
    }));
  }

  /** Spans (newest versions) and events of a key, one view per trace (a key reused on another day is another trace). */
  async txn(q: TxnQuery): Promise<TxnResponse> {
    // Spans and events in parallel, each from its copy ordered by key (0010): a granule or two each.
    const [spanRows, eventRows] = await Promise.all([
      this.sql.rows<SpanRow>(txnSpansSql(this.db, q.key, q.deployment)).then(newestSpans),
      this.sql.rows<EventRow>(txnEventsSql(this.db, q.key, q.deployment)),
    ]);
    // Stored in host-clock order; shown in corrected order, which is the order things happened.
    const events = (await this.eventViews(eventRows)).sort((a, b) => (BigInt(a.correctedNs) < BigInt(b.correctedNs) ? -1 : BigInt(a.correctedNs) > BigInt(b.correctedNs) ? 1 : a.host.localeCompare(b.host)));
    const traces = new Map<string, SpanRow[]>();
    for (const s of spanRows) traces.set(s.trace_id, [...(traces.get(s.trace_id) ?? []), s]);
    const views: TxnView[] = [...traces.values()].map((spans) => {
      const root = spans.find((s) => s.kind === 'txn') ?? spans[0]!;
      const start = spans.reduce((m, s) => (BigInt(s.start_text) < m ? BigInt(s.start_text) : m), BigInt(root.start_text));
      const end = spans.reduce((m, s) => (BigInt(s.end_text) > m ? BigInt(s.end_text) : m), BigInt(root.end_text));
      const hosts = [...new Set(spans.flatMap((s) => [s.host, s.from_host, s.to_host]).filter(Boolean))].sort();
      return { deployment: root.deployment, txn: root.txn, traceId: root.trace_id, startNs: String(start), endNs: String(end), durationNs: Number(end - start), hosts, spans: spans.map(spanView), events: [] };
    });
    // Events join the trace of their deployment that starts nearest before them (keys recur across days).
    for (const e of events) {
      const candidates = views.filter((v) => v.deployment === e.deployment);
      const at = BigInt(e.correctedNs);
      const best = candidates.filter((v) => BigInt(v.startNs) <= at + 1_000_000_000n).sort((a, b) => (BigInt(b.startNs) > BigInt(a.startNs) ? 1 : -1))[0] ?? candidates[0];
      if (best) best.events.push(e);
    }
    if (!views.length && events.length) {
      // Events stored but no spans yet (the assembler has not closed the transaction): show the events.
      for (const d of new Set(events.map((e) => e.deployment))) {
        const mine = events.filter((e) => e.deployment === d);
        const first = mine.reduce((m, e) => (BigInt(e.correctedNs) < m ? BigInt(e.correctedNs) : m), BigInt(mine[0]!.correctedNs));
        const last = mine.reduce((m, e) => (BigInt(e.correctedNs) > m ? BigInt(e.correctedNs) : m), 0n);
        views.push({ deployment: d, txn: q.key, traceId: '', startNs: String(first), endNs: String(last), durationNs: Number(last - first), hosts: [...new Set(mine.map((e) => e.host))].sort(), spans: [], events: mine });
      }
    }
    views.sort((a, b) => (BigInt(b.startNs) > BigInt(a.startNs) ? 1 : -1));
    return { key: q.key, transactions: views.slice(0, 10) };
  }

  async slowest(q: SlowestQuery): Promise<SlowestResponse> {
    const w = { from: q.from, to: q.to };
    const top = await this.sql.rows<{ txn_key: string; trace: string; start_text: string; d: Num; eb: Num; host: string }>(slowestSql(this.db, q.deployment, w, q.n, q.hop));
    const hops = top.length
      ? newestSpans(await this.sql.rows<{ txn: string; trace_id: string; span_id: string; version_text: string; name: string; from_host: string; to_host: string; duration_ns: Num; error_bound_ns: Num }>(
          hopsOfTxnsSql(this.db, q.deployment, w, [...new Set(top.map((t) => t.txn_key))])))
      : [];
    const rows = top.map((t) => {
      const mine = hops.filter((h) => h.trace_id === t.trace);
      return {
        deployment: q.deployment, txn: t.txn_key, startNs: t.start_text, durationNs: num(t.d), errorBoundNs: num(t.eb),
        hosts: [...new Set(mine.flatMap((h) => [h.from_host, h.to_host]).concat(mine.length ? [] : [t.host]).filter(Boolean))].sort(),
        hops: mine.map((h) => ({ name: h.name, durationNs: num(h.duration_ns), errorBoundNs: num(h.error_bound_ns), fromHost: h.from_host, toHost: h.to_host })),
      };
    });
    return { deployment: q.deployment, fromNs: String(q.from), toNs: String(q.to), by: q.hop ?? 'transaction', rows };
  }

  async compare(q: CompareQuery): Promise<CompareResponse> {
    const summaries = async (w: NsRange) => this.sql.rows<SummaryRow>(summarySql(hopSource(this.db, q.deployment, w, await this.hopDuplicates(q.deployment, w, q.hop), q.hop)));
    const [a, b] = await Promise.all([summaries({ from: q.aFrom, to: q.aTo }), summaries({ from: q.bFrom, to: q.bTo })]);
    const names = [...new Set([...a, ...b].map((r) => r.name))].sort();
    return {
      deployment: q.deployment, a: { fromNs: String(q.aFrom), toNs: String(q.aTo) }, b: { fromNs: String(q.bFrom), toNs: String(q.bTo) },
      hops: names.map((name) => ({ name, a: summaryOf(a.find((r) => r.name === name)), b: summaryOf(b.find((r) => r.name === name)) })),
    };
  }

  /** Each hop of the transaction ranked among the spans of the same hop starting in the same minute. */
  async rank(q: RankQuery): Promise<RankResponse> {
    const found = await this.txn({ key: q.key, deployment: q.deployment });
    const hops = (found.transactions[0]?.spans ?? []).filter((s) => s.kind === 'hop');
    if (!hops.length) return { deployment: q.deployment, key: q.key, hops: [] };
    const minuteOf = (ns: string) => (BigInt(ns) / 60_000_000_000n) * 60_000_000_000n;
    // One hop name may occur twice in a transaction (a retry): each round ranks one occurrence per name.
    const rounds: SpanView[][] = [];
    const seen = new Map<string, number>();
    for (const s of hops) {
      const k = seen.get(s.name) ?? 0;
      seen.set(s.name, k + 1);
      (rounds[k] ??= []).push(s);
    }
    const out: RankResponse['hops'] = [];
    for (const group of rounds) {
      const counts = await this.sql.rows<{ name: string; n: Num; le: Num }>(rankSql(this.db, q.deployment, group.map((s) => ({ name: s.name, minuteStartNs: minuteOf(s.startNs), durationNs: BigInt(s.durationNs) }))));
      for (const s of group) {
        const c = counts.find((r) => r.name === s.name);
        const n = c ? num(c.n) : 0;
        out.push({ name: s.name, durationNs: s.durationNs, errorBoundNs: s.errorBoundNs, minuteMs: Number(minuteOf(s.startNs) / 1_000_000n), inMinute: n, percentile: n ? Math.round((1000 * num(c!.le)) / n) / 10 : 0 });
      }
    }
    return { deployment: q.deployment, key: q.key, hops: out };
  }

  async events(q: EventsQuery): Promise<EventsResponse> {
    let fieldCondition: string | undefined;
    if (q.where.length) {
      const layouts = await this.layouts(this.sql.rows(layoutsByEventSql(this.db, q.event!)));
      fieldCondition = fieldFilterCondition([...layouts.values()], q.where);
    }
    const after = q.cursor !== undefined ? decodeCursor(q.cursor) : undefined;
    const rows = await this.sql.rows<EventRow>(eventsPageSql(this.db, {
      deployment: q.deployment, w: { from: q.from, to: q.to }, limit: q.limit + 1,
      ...(q.event !== undefined ? { event: q.event } : {}), ...(q.host !== undefined ? { host: q.host } : {}),
      ...(fieldCondition ? { fieldCondition } : {}), ...(after ? { after } : {}),
    }));
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    const more = rows.length > q.limit && last;
    return { rows: await this.eventViews(page), ...(more ? { nextCursor: encodeCursor({ tsNs: BigInt(last.ts_text), host: last.host, bootId: last.boot_id, seq: BigInt(last.seq) }) } : {}) };
  }

  async aggregations(q: AggsQuery): Promise<AggsResponse> {
    const fromMs = Number(q.from / 1_000_000n);
    const toMs = Number(q.to / 1_000_000n);
    // About 300 points over the window unless asked otherwise, whole seconds.
    const stepMs = (q.stepS ?? Math.max(1, Math.ceil((toMs - fromMs) / 300_000))) * 1000;
    const rows = await this.sql.rows<{ map: string; key: string[]; t: Num; value: Num }>(aggsSql(this.db, q.deployment, fromMs, toMs, stepMs, q.map));
    const series = new Map<string, AggsResponse['series'][number]>();
    for (const r of rows) {
      const id = JSON.stringify([r.map, r.key]);
      const s = series.get(id) ?? { map: r.map, key: r.key, points: [] };
      s.points.push([num(r.t), num(r.value)]);
      series.set(id, s);
    }
    return { deployment: q.deployment, stepMs, series: [...series.values()] };
  }
}
