import { z } from 'zod/v3';
import { DeploymentId, HostId } from './common.js';

/**
 * The query service's HTTP API (`services/query`): what each endpoint accepts (query-string
 * parameters, checked with these schemas, a 400 naming the field otherwise) and answers
 * (read back by `tapfleet query ...` and the web page with the same schemas).
 */

/** The widest window one request may cover: a day of per-minute series stays a few thousand points. */
export const MAX_QUERY_WINDOW_MS = 24 * 3600 * 1000;
/** Rows one page of raw events may hold; more through the cursor. */
export const MAX_EVENTS_PAGE = 1000;
export const MAX_SLOWEST = 1000;
export const MAX_FIELD_FILTERS = 8;

const NS_PER_MS = 1_000_000n;
/** The last millisecond whose wall ns fit an Int64 (2262-04-11). */
const MAX_TIME_MS = Number((1n << 63n) / NS_PER_MS) - 1;

/**
 * A point in time: ISO 8601 (`2026-12-02T14:00:00Z`) or epoch milliseconds; read as wall ns.
 * Its issues are fatal: zod 3 runs an object's superRefine after a field's non-fatal issue, and
 * the window checks must never see a time that is not one.
 */
export const TimeParam = z.string().max(40).transform((s, ctx) => {
  const ms = /^\d{1,15}$/.test(s) ? Number(s) : /^\d{4}-\d\d-\d\d/.test(s) ? Date.parse(s) : NaN;
  if (!Number.isFinite(ms)) {
    ctx.addIssue({ code: 'custom', message: 'expected an ISO 8601 time (2026-12-02T14:00:00Z) or epoch milliseconds', fatal: true });
    return z.NEVER;
  }
  // Wall ns are Int64 in ClickHouse: a time before 1970 or after 2262 fits no column (and failed as a 500).
  if (ms < 0 || ms > MAX_TIME_MS) {
    ctx.addIssue({ code: 'custom', message: 'time out of range (1970 to 2262)', fatal: true });
    return z.NEVER;
  }
  return BigInt(ms) * NS_PER_MS;
});

/** A hop or span name as the assembler writes it: a declared hop name or `a -> b`. */
export const HopName = z.string().min(1).max(140);
export const EventName = z.string().regex(/^[a-z_][a-z0-9_]*$/, 'expected an event name');
export const TxnKey = z.string().min(1).max(256);

function windowChecked<T extends { from: bigint; to: bigint }>(w: T, ctx: z.RefinementCtx, path = 'to'): void {
  if (w.to <= w.from) ctx.addIssue({ code: 'custom', path: [path], message: 'must be after from' });
  else if (w.to - w.from > BigInt(MAX_QUERY_WINDOW_MS) * NS_PER_MS) ctx.addIssue({ code: 'custom', path: [path], message: `window longer than ${MAX_QUERY_WINDOW_MS / 3600_000} h` });
}

const count = (max: number, dflt: number) => z.coerce.number().int().safe().min(1).max(max).default(dflt);

export const TxnQuery = z.object({ key: TxnKey, deployment: DeploymentId.optional() });
export type TxnQuery = z.infer<typeof TxnQuery>;

export const HopsQuery = z.object({ deployment: DeploymentId, from: TimeParam, to: TimeParam, hop: HopName.optional() }).superRefine((w, ctx) => windowChecked(w, ctx));
export type HopsQuery = z.infer<typeof HopsQuery>;

export const LatencyQuery = z.object({ deployment: DeploymentId, event: EventName, from: TimeParam, to: TimeParam, host: HostId.optional() }).superRefine((w, ctx) => windowChecked(w, ctx));
export type LatencyQuery = z.infer<typeof LatencyQuery>;

export const SlowestQuery = z.object({ deployment: DeploymentId, from: TimeParam, to: TimeParam, n: count(MAX_SLOWEST, 10), hop: HopName.optional() }).superRefine((w, ctx) => windowChecked(w, ctx));
export type SlowestQuery = z.infer<typeof SlowestQuery>;

export const CompareQuery = z.object({ deployment: DeploymentId, aFrom: TimeParam, aTo: TimeParam, bFrom: TimeParam, bTo: TimeParam, hop: HopName.optional() }).superRefine((q, ctx) => {
  windowChecked({ from: q.aFrom, to: q.aTo }, ctx, 'aTo');
  windowChecked({ from: q.bFrom, to: q.bTo }, ctx, 'bTo');
});
export type CompareQuery = z.infer<typeof CompareQuery>;

export const RankQuery = z.object({ deployment: DeploymentId, key: TxnKey });
export type RankQuery = z.infer<typeof RankQuery>;

/** `field=value`, `field!=value`, `field>=n`, `field<=n`, `field>n`, `field<n` on an emitted field. */
export const FieldFilter = z.string().max(300).transform((s, ctx) => {
  const m = /^([a-z_][a-z0-9_]*)(!=|>=|<=|=|>|<)(.*)$/s.exec(s);
  if (!m) {
    ctx.addIssue({ code: 'custom', message: 'expected FIELD=VALUE (or !=, >=, <=, >, <) with FIELD an emitted field name', fatal: true });
    return z.NEVER;
  }
  return { field: m[1]!, op: m[2] as FilterOp, value: m[3]! };
});
export type FilterOp = '=' | '!=' | '>=' | '<=' | '>' | '<';
export type FieldFilter = z.infer<typeof FieldFilter>;

export const EventsQuery = z.object({
  deployment: DeploymentId,
  from: TimeParam,
  to: TimeParam,
  event: EventName.optional(),
  host: HostId.optional(),
  where: z.array(FieldFilter).max(MAX_FIELD_FILTERS).default([]),
  limit: count(MAX_EVENTS_PAGE, 100),
  cursor: z.string().max(600).optional(),
}).superRefine((q, ctx) => {
  windowChecked(q, ctx);
  if (q.where.length && !q.event) ctx.addIssue({ code: 'custom', path: ['event'], message: 'field filters need the event whose layout names the fields' });
});
export type EventsQuery = z.infer<typeof EventsQuery>;

export const AggsQuery = z.object({ deployment: DeploymentId, from: TimeParam, to: TimeParam, map: z.string().min(1).max(64).optional(), stepS: z.coerce.number().int().safe().min(1).max(3600).optional() })
  .superRefine((w, ctx) => windowChecked(w, ctx));
export type AggsQuery = z.infer<typeof AggsQuery>;

const NsText = z.string().regex(/^-?\d+$/);

/** Latency summary of a set of durations (ns). Percentiles are exact: the value at rank floor(q*count). */
export const LatencySummary = z.object({
  count: z.number().int().safe().nonnegative(),
  p50: z.number().finite(), p90: z.number().finite(), p99: z.number().finite(), p999: z.number().finite(), max: z.number().finite(),
});
export type LatencySummary = z.infer<typeof LatencySummary>;

/** Count of durations in [2^bucket, 2^(bucket+1)) ns; bucket -1 holds durations <= 0 (cross-host, within the bound). */
export const Log2Bucket = z.object({ bucket: z.number().int().safe().min(-1).max(64), count: z.number().int().safe().nonnegative() });

export const MinutePoint = z.object({ minuteMs: z.number().finite(), count: z.number().int().safe(), p50: z.number().finite(), p99: z.number().finite(), max: z.number().finite() });
export const HeatCell = z.object({ minuteMs: z.number().finite(), bucket: z.number().int().safe(), count: z.number().int().safe() });

export const LatencyStats = LatencySummary.extend({
  name: z.string(),
  /** The widest clock error bound among the spans (0 within one host). */
  errorBoundMaxNs: z.number().finite(),
  histogram: z.array(Log2Bucket),
  series: z.array(MinutePoint),
  heatmap: z.array(HeatCell),
});
export type LatencyStats = z.infer<typeof LatencyStats>;

export const HopsResponse = z.object({ deployment: z.string(), fromNs: NsText, toNs: NsText, hops: z.array(LatencyStats) });
export type HopsResponse = z.infer<typeof HopsResponse>;

export const LatencyResponse = z.object({
  deployment: z.string(), event: z.string(), fromNs: NsText, toNs: NsText,
  /** Rows read, a row stored twice (not yet merged away) counted twice; the stats count each (host, boot, seq) once. */
  storedRows: z.number().int().safe(),
  stats: LatencyStats,
});
export type LatencyResponse = z.infer<typeof LatencyResponse>;

export const SpanView = z.object({
  spanId: z.string(), parentSpanId: z.string(), kind: z.string(), name: z.string(),
  host: z.string(), fromHost: z.string(), toHost: z.string(), fromEvent: z.string(), toEvent: z.string(),
  startNs: NsText, endNs: NsText, durationNs: z.number().finite(), errorBoundNs: z.number().finite(), events: z.number().int().safe(),
  attrs: z.record(z.string(), z.string()),
});
export type SpanView = z.infer<typeof SpanView>;

export const EventView = z.object({
  deployment: z.string(), host: z.string(), bootId: z.string(), seq: z.number().int().safe(), event: z.string(), probe: z.string(),
  /** The host's wall clock as recorded. */
  tsNs: NsText,
  /** Corrected to the reference clock: tsNs - clockOffsetNs, good to +-clockUncertaintyNs. */
  correctedNs: NsText,
  clockOffsetNs: z.number().finite(), clockUncertaintyNs: z.number().finite(),
  pid: z.number().int().safe(), tid: z.number().int().safe(), comm: z.string(), txn: z.string(), latencyNs: z.number().finite(),
  fields: z.record(z.string(), z.union([z.string(), z.number().finite()])),
});
export type EventView = z.infer<typeof EventView>;

export const TxnView = z.object({
  deployment: z.string(), txn: z.string(), traceId: z.string(), startNs: NsText, endNs: NsText, durationNs: z.number().finite(), hosts: z.array(z.string()),
  spans: z.array(SpanView), events: z.array(EventView),
});
export type TxnView = z.infer<typeof TxnView>;

export const TxnResponse = z.object({ key: z.string(), transactions: z.array(TxnView) });
export type TxnResponse = z.infer<typeof TxnResponse>;

export const SlowestRow = z.object({
  deployment: z.string(), txn: z.string(), startNs: NsText, durationNs: z.number().finite(), errorBoundNs: z.number().finite(), hosts: z.array(z.string()),
  hops: z.array(z.object({ name: z.string(), durationNs: z.number().finite(), errorBoundNs: z.number().finite(), fromHost: z.string(), toHost: z.string() })),
});
export type SlowestRow = z.infer<typeof SlowestRow>;
export const SlowestResponse = z.object({ deployment: z.string(), fromNs: NsText, toNs: NsText, by: z.string(), rows: z.array(SlowestRow) });
export type SlowestResponse = z.infer<typeof SlowestResponse>;

export const CompareRow = z.object({ name: z.string(), a: LatencySummary.nullable(), b: LatencySummary.nullable() });
export const CompareResponse = z.object({
  deployment: z.string(), a: z.object({ fromNs: NsText, toNs: NsText }), b: z.object({ fromNs: NsText, toNs: NsText }), hops: z.array(CompareRow),
});
export type CompareResponse = z.infer<typeof CompareResponse>;

export const RankRow = z.object({
  name: z.string(), durationNs: z.number().finite(), errorBoundNs: z.number().finite(), minuteMs: z.number().finite(),
  /** Spans of this hop starting in the same minute, this one included. */
  inMinute: z.number().int().safe(),
  /** Share of them (percent) no slower than this one: 97 reads "p97 of its minute". */
  percentile: z.number().finite(),
});
export const RankResponse = z.object({ deployment: z.string(), key: z.string(), hops: z.array(RankRow) });
export type RankResponse = z.infer<typeof RankResponse>;

export const EventsResponse = z.object({ rows: z.array(EventView), nextCursor: z.string().optional() });
export type EventsResponse = z.infer<typeof EventsResponse>;

export const AggSeries = z.object({ map: z.string(), key: z.array(z.string()), points: z.array(z.tuple([z.number().finite(), z.number().finite()])) });
export const AggsResponse = z.object({ deployment: z.string(), stepMs: z.number().finite(), series: z.array(AggSeries) });
export type AggsResponse = z.infer<typeof AggsResponse>;
