/**
 * The SQL text of every query the query service issues, as pure functions, so the chDB
 * compatibility test runs the very same statements on the current engine as the service
 * runs on 18.16. Every value from a request enters through the literal functions of
 * `@tapfleet/schemas` (sql-literal.ts); column names come from fixed lists, never from input.
 */
import { sqlString as str, sqlStringList as strList, sqlUInt as uint, utcDay } from '@tapfleet/schemas';

const NS_PER_DAY = 86_400_000_000_000n;
const PERCENTILES = 'quantilesExact(0.5, 0.9, 0.99, 0.999)';
/** Minute of a wall ns, as epoch ms (what charts and JSON carry). */
const minuteMs = (col: string) => `intDiv(${col}, 60000000000) * 60000`;
/** log2 bucket of a duration: [2^b, 2^(b+1)); -1 for durations <= 0 (cross-host, inside the bound). */
const log2Bucket = (col: string) => `if(${col} <= 0, -1, toInt32(floor(log2(${col}))))`;

/** A wall-ns window, end exclusive. */
export interface NsRange {
  from: bigint;
  to: bigint;
}

/**
 * Partitions that can hold spans starting in the window: a span's `date` is its transaction's
 * first day, which for a transaction running across midnight is the day before its later hops.
 */
const spanDays = (w: NsRange) => `date >= toDate(${str(utcDay(w.from > NS_PER_DAY ? w.from - NS_PER_DAY : 0n))}) AND date <= toDate(${str(utcDay(w.to))})`;
const eventDays = (w: NsRange) => `date >= toDate(${str(utcDay(w.from))}) AND date <= toDate(${str(utcDay(w.to))})`;

/** What a latency summary reads: `name`, duration `d` (Int64 ns), error bound `eb`, corrected start `t`. */
export interface DurationSource {
  sql: string;
}

const hopWindow = (deployment: string, w: NsRange, hop?: string) =>
  `deployment = ${str(deployment)} AND kind = 'hop'${hop !== undefined ? ` AND name = ${str(hop)}` : ''}
        AND ${spanDays(w)} AND start_ns >= ${uint(w.from)} AND start_ns < ${uint(w.to)}`;

/**
 * Rows and distinct spans of the hop window, and its newest version: equal counts mean no span
 * has two rows there (the usual case: a span is re-emitted only when its transaction re-opens,
 * and ReplacingMergeTree merges same-key versions away), so the rows need no de-duplication.
 * uniqExact is a hash set of one UInt64, several times cheaper than grouping every span.
 */
export const hopRowsSql = (db: string, deployment: string, w: NsRange, hop?: string) =>
  `SELECT count() AS rows, uniqExact(span_key) AS spans, toString(max(version)) AS version_text FROM ${db}.txn_span_times WHERE ${hopWindow(deployment, w, hop)}`;

/** The spans of the hop window that have more than one row, at most `limit` + 1 of them (the caller sees the list overflow). */
export const hopDuplicatesSql = (db: string, deployment: string, w: NsRange, limit: number, hop?: string) =>
  `SELECT toString(span_key) AS k FROM ${db}.txn_span_times WHERE ${hopWindow(deployment, w, hop)} GROUP BY span_key HAVING count() > 1 LIMIT ${uint(limit + 1)}`;

/** What hopRowsSql and hopDuplicatesSql found: which spans of the window need their newest version picked. */
export type HopDuplicates =
  /** The spans with more than one row (span_key as decimal text), possibly none; rows newer than `maxVersion` are left out. */
  | { keys: readonly string[]; maxVersion: bigint }
  /** Too many to list: every span is de-duplicated. */
  | 'all';

/**
 * Hop spans of a deployment starting in the window, from the time-ordered copy (0010), the newest
 * version of each span: a re-opened transaction's re-emitted spans must not count twice while
 * ReplacingMergeTree has not merged them away. Only the spans listed as duplicates go through
 * argMax per span_key; the others have one row in the window and are read as they are (grouping
 * 400,000 spans of an hour by key cost most of the hop query's time, for the few that need it).
 * Rows newer than the version the duplicates were listed at are left out, so a span re-emitted
 * between the two reads is counted once, at its listed version. Exact whatever the parts, but
 * for a batch re-sent (same versions) between the two reads, counted twice in that one answer.
 */
export function hopSource(db: string, deployment: string, w: NsRange, duplicates: HopDuplicates, hop?: string): DurationSource {
  const newest = (where: string) =>
    `SELECT name, argMax(duration_ns, version) AS d, argMax(error_bound_ns, version) AS eb, argMax(start_ns, version) AS t FROM ${db}.txn_span_times
      WHERE ${hopWindow(deployment, w, hop)}${where}
      GROUP BY name, span_key`;
  if (duplicates === 'all') return { sql: newest('') };
  const asOf = ` AND version <= ${uint(duplicates.maxVersion)}`;
  const single = `SELECT name, duration_ns AS d, error_bound_ns AS eb, start_ns AS t FROM ${db}.txn_span_times WHERE ${hopWindow(deployment, w, hop)}${asOf}`;
  if (!duplicates.keys.length) return { sql: single };
  const keys = duplicates.keys.map((k) => uint(BigInt(k))).join(', ');
  return { sql: `${single} AND span_key NOT IN (${keys})\n      UNION ALL ${newest(`${asOf} AND span_key IN (${keys})`)}` };
}

/**
 * Events of one name that carry a latency, each (host, boot, seq) once: a batch stored twice
 * (re-sent beyond JetStream's duplicate window) stays twice in probe_events until a merge,
 * and the latency rollup (0006) counts it twice for good, so these stats read the raw rows.
 */
export function eventLatencySource(db: string, deployment: string, event: string, w: NsRange, host?: string): DurationSource {
  return {
    sql: `SELECT event AS name, toInt64(latency_ns) AS d, toUInt64(0) AS eb, toUInt64(ts_ns - clock_offset_ns) AS t FROM ${db}.probe_events
      WHERE ${eventFilter(deployment, event, w, host)} AND latency_ns > 0
      LIMIT 1 BY host, boot_id, seq`,
  };
}

const eventFilter = (deployment: string, event: string, w: NsRange, host?: string) =>
  `deployment = ${str(deployment)} AND event = ${str(event)}${host !== undefined ? ` AND host = ${str(host)}` : ''} AND ${eventDays(w)} AND ts_ns >= ${uint(w.from)} AND ts_ns < ${uint(w.to)}`;

/** Rows stored for those events, duplicates included (shown next to the de-duplicated count). */
export const eventRowsSql = (db: string, deployment: string, event: string, w: NsRange, host?: string) =>
  `SELECT count() AS rows FROM ${db}.probe_events WHERE ${eventFilter(deployment, event, w, host)} AND latency_ns > 0`;

export const summarySql = (src: DurationSource) =>
  `SELECT name, count() AS count, ${PERCENTILES}(d) AS q, max(d) AS max, max(eb) AS eb FROM (${src.sql}) GROUP BY name ORDER BY name`;

/**
 * Everything a latency view shows, from one read of the source (its de-duplication is the costly
 * part, so it runs once): per name the count, exact percentiles and max over the window (merged
 * from per-minute states), and per minute its count, percentiles, max and count per log2 bucket
 * (the heatmap's column; summed over minutes, the histogram), as parallel arrays.
 */
export const latencyStatsSql = (src: DurationSource) =>
  `SELECT name, sum(c) AS count, ${PERCENTILES.replace('quantilesExact', 'quantilesExactMerge')}(st) AS q, max(mx) AS max, max(e) AS eb,
     groupArray(minute_ms) AS minutes, groupArray(c) AS counts, groupArray(finalizeAggregation(st)) AS mq, groupArray(mx) AS maxes, groupArray(b) AS buckets
   FROM (
     SELECT name, ${minuteMs('t')} AS minute_ms, count() AS c, ${PERCENTILES.replace('quantilesExact', 'quantilesExactState')}(d) AS st, max(d) AS mx, max(eb) AS e,
       sumMap([${log2Bucket('d')}], [toUInt64(1)]) AS b
     FROM (${src.sql}) GROUP BY name, minute_ms ORDER BY name, minute_ms)
   GROUP BY name ORDER BY name`;

// Wall ns exceed 2^53: read as text, so neither JSON nor a newer server's unquoted 64-bit numbers round them.
const SPAN_COLUMNS = `deployment, txn, trace_id, span_id, parent_span_id, kind, name, host, from_host, to_host, from_event, to_event,
  toString(start_ns) AS start_text, toString(end_ns) AS end_text, duration_ns, error_bound_ns, events, attr_names, attr_values, toString(version) AS version_text`;

/** A transaction's spans by key (0010), every stored version (the caller keeps the newest of each). */
export const txnSpansSql = (db: string, key: string, deployment?: string) =>
  `SELECT ${SPAN_COLUMNS} FROM ${db}.txn_spans_by_key
   WHERE txn = ${str(key)}${deployment !== undefined ? ` AND deployment = ${str(deployment)}` : ''}
   ORDER BY deployment, start_ns, span_id LIMIT 5000`;

const EVENT_COLUMNS = `deployment, host, boot_id, seq, bundle, event, probe, toString(ts_ns) AS ts_text, clock_offset_ns, clock_uncertainty_ns, pid, tid, comm, txn, latency_ns,
  toString(n0) AS n0_text, toString(n1) AS n1_text, toString(n2) AS n2_text, toString(n3) AS n3_text, toString(n4) AS n4_text, toString(n5) AS n5_text, toString(n6) AS n6_text, toString(n7) AS n7_text,
  s0, s1, s2, s3, extra_names, extra_values`;

/** A transaction's events by key (0010), each (host, boot, seq) once. */
export const txnEventsSql = (db: string, key: string, deployment?: string) =>
  `SELECT ${EVENT_COLUMNS} FROM ${db}.txn_events
   WHERE txn = ${str(key)}${deployment !== undefined ? ` AND deployment = ${str(deployment)}` : ''}
   ORDER BY ts_ns, host, boot_id, seq LIMIT 1 BY host, boot_id, seq LIMIT 10000`;

/** Layouts of the bundles (slot -> field name), newest row of each. */
export const layoutsByBundleSql = (db: string, bundles: readonly string[]) =>
  `SELECT bundle, event, fields FROM ${db}.event_layouts FINAL WHERE bundle IN ${strList(bundles)}`;

export const layoutsByEventSql = (db: string, event: string) =>
  `SELECT bundle, event, fields FROM ${db}.event_layouts FINAL WHERE event = ${str(event)}`;

const windowOf = (deployment: string, w: NsRange, hop?: string) =>
  `deployment = ${str(deployment)} AND ${hop !== undefined ? `kind = 'hop' AND name = ${str(hop)}` : `kind = 'txn'`}
     AND ${spanDays(w)} AND start_ns >= ${uint(w.from)} AND start_ns < ${uint(w.to)}`;

/**
 * The slowest transactions (root spans) or the slowest spans of one hop in a window, each span's
 * newest version: the top span_keys by their newest duration first, then their other columns.
 */
export const slowestSql = (db: string, deployment: string, w: NsRange, n: number, hop?: string) =>
  `SELECT argMax(txn, version) AS txn_key, argMax(trace_id, version) AS trace, toString(argMax(start_ns, version)) AS start_text,
     argMax(duration_ns, version) AS d, argMax(error_bound_ns, version) AS eb, argMax(to_host, version) AS host
   FROM ${db}.txn_span_times
   WHERE ${windowOf(deployment, w, hop)}
     AND span_key IN (SELECT span_key FROM ${db}.txn_span_times WHERE ${windowOf(deployment, w, hop)} GROUP BY span_key ORDER BY argMax(duration_ns, version) DESC LIMIT ${uint(n)})
   GROUP BY span_key ORDER BY d DESC, txn_key LIMIT ${uint(n)}`;

/** Hop spans of the given transactions (the slowest list's breakdown), by key (0010). */
export const hopsOfTxnsSql = (db: string, deployment: string, w: NsRange, txns: readonly string[]) =>
  `SELECT txn, trace_id, span_id, name, from_host, to_host, toString(start_ns) AS start_text, duration_ns, error_bound_ns, toString(version) AS version_text FROM ${db}.txn_spans_by_key
   WHERE txn IN ${strList(txns)} AND deployment = ${str(deployment)} AND kind = 'hop' AND ${spanDays({ from: w.from, to: w.to + NS_PER_DAY })}
   ORDER BY txn, start_ns, name`;

/** One hop span of a transaction, and the minute whose spans it is ranked among. */
export interface RankTarget {
  name: string;
  minuteStartNs: bigint;
  durationNs: bigint;
}

/** Per hop: spans starting in the target's minute, and how many of them were no slower than the target. */
export function rankSql(db: string, deployment: string, targets: readonly RankTarget[]): string {
  const inMinute = targets.map((t) => `(name = ${str(t.name)} AND start_ns >= ${uint(t.minuteStartNs)} AND start_ns < ${uint(t.minuteStartNs + 60_000_000_000n)})`).join(' OR ');
  const threshold = `multiIf(${targets.map((t) => `name = ${str(t.name)}, ${t.durationNs}`).join(', ')}, 0)`;
  const from = targets.reduce((m, t) => (t.minuteStartNs < m ? t.minuteStartNs : m), targets[0]!.minuteStartNs);
  const to = targets.reduce((m, t) => (t.minuteStartNs > m ? t.minuteStartNs : m), 0n) + 60_000_000_000n;
  return `SELECT name, count() AS n, countIf(d <= ${threshold}) AS le FROM (
     SELECT name, argMax(duration_ns, version) AS d FROM ${db}.txn_span_times
     WHERE deployment = ${str(deployment)} AND kind = 'hop' AND ${spanDays({ from, to })} AND (${inMinute})
     GROUP BY name, span_key)
   GROUP BY name ORDER BY name`;
}

/** Where the previous page ended, in the page order (time, host, boot, seq). */
export interface EventsCursor {
  tsNs: bigint;
  host: string;
  bootId: string;
  seq: bigint;
}

/** A page of raw events, each (host, boot, seq) once; `fieldCondition` is built by field-filters.ts. */
export function eventsPageSql(db: string, q: { deployment: string; w: NsRange; event?: string; host?: string; fieldCondition?: string; after?: EventsCursor; limit: number }): string {
  const c = q.after;
  const after = c ? ` AND (ts_ns > ${uint(c.tsNs)} OR (ts_ns = ${uint(c.tsNs)} AND (host > ${str(c.host)} OR (host = ${str(c.host)} AND (boot_id > ${str(c.bootId)} OR (boot_id = ${str(c.bootId)} AND seq > ${uint(c.seq)}))))))` : '';
  return `SELECT ${EVENT_COLUMNS} FROM ${db}.probe_events
   WHERE deployment = ${str(q.deployment)}${q.event !== undefined ? ` AND event = ${str(q.event)}` : ''}${q.host !== undefined ? ` AND host = ${str(q.host)}` : ''}
     AND ${eventDays(q.w)} AND ts_ns >= ${uint(q.w.from)} AND ts_ns < ${uint(q.w.to)}${q.fieldCondition ? ` AND (${q.fieldCondition})` : ''}${after}
   ORDER BY ts_ns, host, boot_id, seq LIMIT 1 BY host, boot_id, seq LIMIT ${uint(q.limit)}`;
}

/**
 * A deployment's map values over time: per step, each host's last snapshot in the step, summed
 * over hosts (snapshots are each host's whole map, so the last one of a step is its value then).
 */
export const aggsSql = (db: string, deployment: string, fromMs: number, toMs: number, stepMs: number, map?: string) =>
  `SELECT map, key, t, sum(v) AS value FROM (
     SELECT map, key, host, intDiv(taken_at_ms, ${uint(stepMs)}) * ${uint(stepMs)} AS t, argMax(value, taken_at_ms) AS v FROM ${db}.aggregation_snapshots
     WHERE deployment = ${str(deployment)}${map !== undefined ? ` AND map = ${str(map)}` : ''}
       AND date >= toDate(${str(utcDay(BigInt(fromMs) * 1_000_000n))}) AND date <= toDate(${str(utcDay(BigInt(toMs) * 1_000_000n))})
       AND taken_at_ms >= ${uint(fromMs)} AND taken_at_ms < ${uint(toMs)}
     GROUP BY map, key, host, t)
   GROUP BY map, key, t ORDER BY map, key, t LIMIT 50000`;
