/**
 * The query benchmark's Jaeger side: the benchmark's transactions exported to Jaeger the way the
 * assembler exports them (their stored TxnSpanRow rows through the product's SpanExporter and
 * OTLP conversion, imported, not copied), then the same trace fetched from Jaeger's query API.
 */
// The exporter has its own entry point: the package's main one stays light for every CLI command.
import { SpanExporter } from '@tapfleet/assembler/otlp';
import { type ClickHouseClient, type Logger } from '@tapfleet/runtime';
import { sqlString, sqlStringList, TxnSpanRow } from '@tapfleet/schemas';
import { z } from 'zod/v3';

/** The exporter's queue must hold a whole sample: what does not fit would be dropped (and counted). */
const QUEUE_SPANS = 1_000_000;
/** Keys per ClickHouse read: a bounded IN list. */
const READ_CHUNK = 2_000;

export interface ExportedSample {
  traces: number;
  spans: number;
  seconds: number;
  /** trace id of each exported transaction key. */
  traceOf: Map<string, string>;
}

/**
 * The newest version of each span of the given transactions, as the assembler last built them:
 * 64-bit columns as text so no JSON number rounds them, checked by the shared row schema.
 */
async function storedRows(ch: ClickHouseClient, db: string, deployment: string, keys: readonly string[]): Promise<TxnSpanRow[]> {
  const rows: TxnSpanRow[] = [];
  for (let i = 0; i < keys.length; i += READ_CHUNK) {
    const res = await ch.query({
      query: `SELECT toString(date) AS date, deployment, txn, trace_id, span_id, parent_span_id, kind, name, host, from_host, to_host, from_event, to_event,
          toString(start_ns) AS start_ns, toString(end_ns) AS end_ns, toString(duration_ns) AS duration_ns, toString(error_bound_ns) AS error_bound_ns,
          toUInt32(events) AS events, attr_names, attr_values, toString(version) AS version
        FROM ${db}.txn_spans_by_key WHERE txn IN ${sqlStringList(keys.slice(i, i + READ_CHUNK))} AND deployment = ${sqlString(deployment)}
        ORDER BY txn, span_id, toUInt64(version) DESC LIMIT 1 BY txn, span_id`,
      format: 'JSONEachRow',
    });
    rows.push(...z.array(TxnSpanRow).parse(await res.json()));
  }
  return rows;
}

/**
 * Exports the transactions' spans to the OTLP/HTTP endpoint, one queue group per transaction as
 * the assembler enqueues them, and waits until every group is delivered. Throws if any was
 * dropped: a trace missing from Jaeger would time its 404, not its lookup.
 */
export async function exportSample(ch: ClickHouseClient, db: string, deployment: string, keys: readonly string[], otlpUrl: string, log: Logger): Promise<ExportedSample> {
  const t0 = performance.now();
  const rows = await storedRows(ch, db, deployment, keys);
  const byTxn = new Map<string, TxnSpanRow[]>();
  for (const r of rows) byTxn.set(r.txn, [...(byTxn.get(r.txn) ?? []), r]);
  let dropped = 0;
  const exporter = new SpanExporter(
    { url: otlpUrl, headers: {}, maxBatchSpans: 2048, maxQueueSpans: QUEUE_SPANS, timeoutMs: 30_000 },
    { exported: () => undefined, dropped: (n) => (dropped += n), failed: () => undefined, queued: () => undefined },
    log,
  );
  exporter.start();
  const delivered = [...byTxn.values()].map((group) => new Promise<void>((done) => exporter.enqueue(group, done)));
  await Promise.all(delivered);
  await exporter.stop();
  if (dropped) throw new Error(`${dropped} spans dropped by the exporter`);
  return { traces: byTxn.size, spans: rows.length, seconds: (performance.now() - t0) / 1000, traceOf: new Map([...byTxn].map(([k, g]) => [k, g[0]!.trace_id])) };
}

/** Spans Jaeger returned, counted from its OTLP JSON (a lookup that found nothing must not pass as fast). */
const TraceBody = z.object({ result: z.object({ resourceSpans: z.array(z.object({ scopeSpans: z.array(z.object({ spans: z.array(z.unknown()).default([]) })).default([]) })) }) });

/** One GET /api/v3/traces/{id}, body read and checked; returns ms. */
export async function timedJaegerTrace(queryBase: string, traceId: string, expectSpans: number): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${queryBase}/api/v3/traces/${traceId}`);
  const text = await res.text();
  const ms = performance.now() - t0;
  if (!res.ok) throw new Error(`Jaeger trace ${traceId}: ${res.status} ${text.slice(0, 300)}`);
  const spans = TraceBody.parse(JSON.parse(text)).result.resourceSpans.reduce((n, rs) => n + rs.scopeSpans.reduce((m, ss) => m + ss.spans.length, 0), 0);
  if (spans !== expectSpans) throw new Error(`Jaeger trace ${traceId}: ${spans} spans, expected ${expectSpans}`);
  return ms;
}
