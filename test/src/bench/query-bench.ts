/**
 * Query benchmark: the query service's answers at 10M and 50M stored events, through its HTTP
 * API (auth, ClickHouse, JSON) and its web page in chromium. History is bulk-inserted by
 * ClickHouse itself (INSERT ... SELECT FROM numbers(), through the materialized views) in the
 * shape the assembler and ingest write: 5 events per transaction on 3 hosts, 3 hops + the root
 * span per transaction, spread evenly over one day. Prints and writes bench/results/query.md.
 * Not a test: nothing here asserts.
 *
 *   node test/dist/bench/query-bench.js [--sizes 10000000,50000000] [--lookups 200]
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { writeFigures, type Figure } from './figures.js';
import { chromium } from 'playwright-core';
import { createClickHouse, PROJECT_ROOT, type ClickHouseClient } from '@tapfleet/runtime';
import { HopsResponse } from '@tapfleet/schemas';
import { JAEGER_MAX_TRACES, JAEGER_VERSION } from '@tapfleet/stack';
import { eventually, FleetStack } from '../fleet/fleet-harness.js';
import { testLogger } from '../stack-harness.js';
import { exportSample, timedJaegerTrace } from './jaeger-side.js';
import { fixtureTokens } from '../query/query-fixture.js';

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '10000000,50000000' }, lookups: { type: 'string', default: '200' }, runs: { type: 'string', default: '20' }, sample: { type: 'string', default: '10000' } } });
const figures: Figure[] = [];
const SIZES = values.sizes.split(',').map(Number);
const LOOKUPS = Number(values.lookups);
const RUNS = Number(values.runs);
/** Transactions per size exported to Jaeger (the looked-up ones among them). */
const SAMPLE = Number(values.sample);
const DEP = 'd-benchquery1';
/** 2026-11-30T00:00:00Z: the day the generated history covers. */
const DAY0_NS = BigInt(Date.UTC(2026, 10, 30)) * 1_000_000n;
const DAY_NS = 86_400_000_000_000n;
const PORT = 40220;
const BASE = `http://127.0.0.1:${PORT}`;

const progress = (s: string) => process.stderr.write(`bench: ${s}\n`);
/** The machine's 1-minute load average after each size's measurements: other work shares these 2 cores. */
const loads: string[] = [];
const lines: string[] = [];
const say = (l = '') => {
  lines.push(l);
  process.stdout.write(`${l}\n`);
};
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const f1 = (x: number) => x.toFixed(1);

/**
 * Transactions [first, first+count) of a day holding `total`: start = day + t * step; risk hop
 * 20-100 us (one in a thousand +2 ms), venue 50-70 us, book 2-4 us; the risk host's clock 3 ms ahead.
 */
function txnColumns(total: number): string {
  const step = DAY_NS / BigInt(total);
  return `t, concat('o-', toString(t)) AS txn, toUInt64(${DAY0_NS} + t * ${step}) AS start,
    toUInt64(20000 + cityHash64(t) % 80000 + if(cityHash64(t, 7) % 1000 = 0, 2000000, 0)) AS risk,
    toUInt64(50000 + cityHash64(t, 1) % 20000) AS venue, toUInt64(2000 + cityHash64(t, 2) % 2000) AS book,
    start + risk AS risk_end, risk_end + 5000 AS venue_start, venue_start + venue AS venue_end, venue_end + 1000 AS book_start, book_start + book AS book_end`;
}

export function eventsInsertSql(db: string, firstTxn: number, txns: number, total: number): string {
  return `INSERT INTO ${db}.probe_events (date, ts_ns, deployment, host, boot_id, seq, bundle, probe, event, pid, tid, cpu, comm, txn, latency_ns, clock_offset_ns, clock_uncertainty_ns, n0, s0)
    SELECT toDate(toDateTime(intDiv(corrected, 1000000000))), corrected + offset, '${DEP}', host, concat('boot-', host), seq, 'b-bench', '', event, 1, 1, 0, 'bench', txn, 0, offset, if(offset = 0, 100000, 210000), toInt64(t), 'XNYS'
    FROM (
      SELECT ${txnColumns(total)}, arrayJoin([0, 1, 2, 3, 4]) AS k,
        [start, risk_end, venue_start, venue_end, book_end][k + 1] AS corrected,
        ['gw', 'risk', 'risk', 'venue', 'venue'][k + 1] AS host,
        ['gateway_out', 'risk_in', 'risk_out', 'venue_in', 'book_out'][k + 1] AS event,
        if(host = 'risk', toInt64(3000000), toInt64(0)) AS offset,
        if(host = 'gw', t, 2 * t + (k % 2)) AS seq
      FROM (SELECT number AS t FROM numbers(${firstTxn}, ${txns})))`;
}

export function spansInsertSql(db: string, firstTxn: number, txns: number, total: number): string {
  return `INSERT INTO ${db}.txn_spans (date, deployment, txn, trace_id, span_id, parent_span_id, kind, name, host, from_host, to_host, from_event, to_event, start_ns, end_ns, duration_ns, error_bound_ns, events, attr_names, attr_values, version)
    SELECT toDate(toDateTime(intDiv(start, 1000000000))), '${DEP}', txn, trace, substring(lower(hex(MD5(concat(trace, toString(k))))), 1, 16),
      if(k = 0, '', substring(lower(hex(MD5(concat(trace, '0')))), 1, 16)), if(k = 0, 'txn', 'hop'), ['order', 'risk', 'venue', 'book'][k + 1],
      ['venue', 'risk', 'venue', 'venue'][k + 1], ['gw', 'gw', 'risk', 'venue'][k + 1], ['venue', 'risk', 'venue', 'venue'][k + 1],
      ['gateway_out', 'gateway_out', 'risk_out', 'venue_in'][k + 1], ['book_out', 'risk_in', 'venue_in', 'book_out'][k + 1],
      s, e, toInt64(e) - toInt64(s), [560000, 310000, 250000, 0][k + 1], if(k = 0, 5, 2), ['venue'], ['XNYS'], 1
    FROM (
      SELECT ${txnColumns(total)}, lower(hex(MD5(concat('${DEP}', txn)))) AS trace, arrayJoin([0, 1, 2, 3]) AS k,
        [start, start, venue_start, book_start][k + 1] AS s, [book_end, risk_end, venue_end, book_end][k + 1] AS e
      FROM (SELECT number AS t FROM numbers(${firstTxn}, ${txns})))`;
}

async function fill(ch: ClickHouseClient, db: string, fromEvents: number, toEvents: number, total: number): Promise<number> {
  const t0 = performance.now();
  const chunk = 500_000; // transactions per INSERT (2.5M events): bounded memory on the server
  for (let first = fromEvents / 5; first < toEvents / 5; first += chunk) {
    const n = Math.min(chunk, toEvents / 5 - first);
    await ch.command({ query: eventsInsertSql(db, first, n, total / 5) });
    await ch.command({ query: spansInsertSql(db, first, n, total / 5) });
    progress(`  ${(first + n) * 5} events stored`);
  }
  return (performance.now() - t0) / 1000;
}

/**
 * Re-emits one risk span in 500 of an hour (not within 1 ms of its edges, so none crosses one) as
 * a transaction re-opened by a late event would: same ids, start 1 us earlier, a higher version;
 * 10 ms longer, so the hour's max shows the new version was read.
 * The moved start keys the new version apart in txn_span_times, so no merge removes the old one.
 */
async function reemitRisk(ch: ClickHouseClient, db: string, hourStartNs: bigint): Promise<void> {
  const cols = 'date, deployment, txn, trace_id, span_id, parent_span_id, kind, name, host, from_host, to_host, from_event, to_event, start_ns, end_ns, duration_ns, error_bound_ns, events, attr_names, attr_values, version';
  await ch.command({
    query: `INSERT INTO ${db}.txn_spans (${cols})
      SELECT date, deployment, txn, trace_id, span_id, parent_span_id, kind, name, host, from_host, to_host, from_event, to_event, start_ns - 1000, end_ns + 9999000, duration_ns + 10000000, error_bound_ns, events, attr_names, attr_values, version + 1
      FROM ${db}.txn_spans WHERE deployment = '${DEP}' AND kind = 'hop' AND name = 'risk' AND date = toDate('2026-11-30')
        AND start_ns >= ${hourStartNs + 1_000_000n} AND start_ns < ${hourStartNs + 3_599_000_000_000n} AND cityHash64(span_id) % 500 = 0`,
  });
}

async function hopsOf(url: string, token: string): Promise<HopsResponse> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return HopsResponse.parse(await res.json());
}

async function timed(url: string, token: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  const body = await res.text();
  if (!res.ok) throw new Error(`${url}: ${res.status} ${body.slice(0, 300)}`);
  return performance.now() - t0;
}

/** What Jaeger holds across sizes: transaction keys already exported, and their trace ids. */
const inJaeger = new Map<string, string>();
const jaegerNotes: string[] = [];
const reemitNotes: string[] = [];

async function measure(size: number, token: string, storedTxns: number, hours: number, reemitHour: number, jaeger: { ch: ClickHouseClient; db: string; otlpUrl: string; queryBase: string }): Promise<void> {
  const hourMs = (h: number) => Number((DAY0_NS / 1_000_000n)) + h * 3_600_000;
  const keyAt = (i: number) => `o-${Math.floor((i * 2_654_435_761) % storedTxns)}`;
  // Jaeger gets a sample of this size's transactions, the looked-up ones first, as the assembler would export them.
  const sample = Array.from({ length: Math.max(SAMPLE, LOOKUPS) }, (_, i) => keyAt(i + 10)).filter((k) => !inJaeger.has(k));
  progress(`exporting ${sample.length} transactions to Jaeger`);
  const exported = await exportSample(jaeger.ch, jaeger.db, DEP, sample, jaeger.otlpUrl, testLogger('bench-export'));
  for (const [k, t] of exported.traceOf) inJaeger.set(k, t);
  jaegerNotes.push(`${size.toLocaleString('en-US')}: ${exported.traces.toLocaleString('en-US')} traces (${exported.spans.toLocaleString('en-US')} spans) exported in ${f1(exported.seconds)} s, Jaeger holding ${inJaeger.size.toLocaleString('en-US')} traces (${(inJaeger.size * 4).toLocaleString('en-US')} spans) while ClickHouse held ${(storedTxns * 4).toLocaleString('en-US')} spans (txn_spans_by_key) and ${size.toLocaleString('en-US')} events`);
  const traceOf = (k: string) => inJaeger.get(k) ?? '';
  for (let i = 0; i < 5; i++) {
    await timed(`${BASE}/v1/txn?key=${keyAt(i)}`, token); // warm-up: connections, page cache
    await timedJaegerTrace(jaeger.queryBase, traceOf(keyAt(i + 10)), 4);
  }
  // The same transactions, each looked up in the query service and then in Jaeger, interleaved so both see the same load.
  const lookups: number[] = [];
  const jaegerLookups: number[] = [];
  for (let i = 0; i < LOOKUPS; i++) {
    lookups.push(await timed(`${BASE}/v1/txn?key=${keyAt(i + 10)}&deployment=${DEP}`, token));
    jaegerLookups.push(await timedJaegerTrace(jaeger.queryBase, traceOf(keyAt(i + 10)), 4));
  }
  const lookupsNoDep: number[] = [];
  for (let i = 0; i < Math.min(50, LOOKUPS); i++) lookupsNoDep.push(await timed(`${BASE}/v1/txn?key=${keyAt(i + 1000)}`, token));
  const hopOne: number[] = [];
  const hopAll: number[] = [];
  const slowest: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const h = r % hours;
    const w = `deployment=${DEP}&from=${hourMs(h)}&to=${hourMs(h + 1)}`;
    hopOne.push(await timed(`${BASE}/v1/hops?${w}&hop=risk`, token));
    hopAll.push(await timed(`${BASE}/v1/hops?${w}`, token));
    slowest.push(await timed(`${BASE}/v1/slowest?${w}&n=100`, token));
  }
  // The same query over an hour where 1 risk span in 500 was re-emitted (a newer version stored next to the old one):
  // the listed-duplicates path. The count must not change: each span still counted once.
  const reHour = reemitHour;
  const reUrl = `${BASE}/v1/hops?deployment=${DEP}&from=${hourMs(reHour)}&to=${hourMs(reHour + 1)}&hop=risk`;
  const before = (await hopsOf(reUrl, token)).hops[0]!;
  await reemitRisk(jaeger.ch, jaeger.db, DAY0_NS + BigInt(reHour) * 3_600_000_000_000n);
  const after = (await hopsOf(reUrl, token)).hops[0]!;
  if (after.count !== before.count || after.max <= before.max) throw new Error(`re-emitted spans: count ${before.count} -> ${after.count}, max ${before.max} -> ${after.max}`);
  const hopReemitted: number[] = [];
  for (let r = 0; r < RUNS; r++) hopReemitted.push(await timed(reUrl, token));
  reemitNotes.push(`${size.toLocaleString('en-US')}: hour ${reHour}, count ${after.count.toLocaleString('en-US')} before and after`);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  const renders: Record<string, number[]> = { waterfall: [], hops: [] };
  try {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    await context.addInitScript(`localStorage.setItem('tapfleet-token', ${JSON.stringify(token)})`);
    for (let r = 0; r < 10; r++) {
      for (const [view, hash] of [['waterfall', `#/txn?key=${keyAt(r + 5000)}&deployment=${DEP}`], ['hops', `#/hops?deployment=${DEP}&from=${hourMs(r % hours)}&to=${hourMs((r % hours) + 1)}&hop=risk`]] as const) {
        const page = await context.newPage(); // a fresh page each time: the script and ECharts load again (from the browser cache after the first)
        await page.goto(`${BASE}/${hash}`);
        await page.waitForSelector('main[data-state="ready"]', { timeout: 60_000 });
        renders[view]!.push(await page.evaluate<number>('window.__tapfleetRenderedAt'));
        await page.close();
      }
    }
  } finally {
    await browser.close();
  }
  loads.push(`${size.toLocaleString('en-US')}: ${loadavg()[0]!.toFixed(1)}`);
  const row = (what: string, xs: number[], goal = '') => say(`| ${size.toLocaleString('en-US')} | ${what} | ${xs.length} | ${f1(pct(xs, 50))} | ${f1(pct(xs, 99))} | ${f1(Math.max(...xs))} | ${goal} |`);
  row('transaction by key (`/v1/txn`, with deployment): spans + events', lookups, 'p50 < 20 ms at 50M');
  row('same transactions in Jaeger (`/api/v3/traces/{traceId}`, memory storage): spans only', jaegerLookups);
  say(`| ${size.toLocaleString('en-US')} | ratio query service / Jaeger, same transactions | ${lookups.length} | ${(pct(lookups, 50) / pct(jaegerLookups, 50)).toFixed(2)} | ${(pct(lookups, 99) / pct(jaegerLookups, 99)).toFixed(2)} | ${(Math.max(...lookups) / Math.max(...jaegerLookups)).toFixed(2)} |  |`);
  row('transaction by key, no deployment given', lookupsNoDep);
  row('one-hour percentiles of one hop (`/v1/hops?hop=risk`): count, p50..p99.9, max, histogram, per-minute series, heatmap', hopOne, '< 200 ms');
  row('same, an hour where 1 risk span in 500 was re-emitted (newer version next to the old)', hopReemitted, '< 200 ms');
  row('one-hour percentiles of all 3 hops (`/v1/hops`)', hopAll);
  row('slowest 100 in an hour with hop breakdown (`/v1/slowest?n=100`)', slowest);
  row('page: waterfall, navigation to rendered (chromium)', renders.waterfall!);
  row('page: hop histogram + heatmap for an hour, navigation to rendered', renders.hops!);
  const at = `at ${size.toLocaleString('en-US')} stored events`;
  const judged = size >= 50_000_000;
  figures.push(
    {
      what: `transaction by key (\`/v1/txn\`, spans + events), p50 ${at}`, value: Number(f1(pct(lookups, 50))), unit: 'ms',
      baseline: { what: 'the same transactions from Jaeger (memory storage, spans only), alternating', value: Number(f1(pct(jaegerLookups, 50))) }, ratio: pct(lookups, 50) / pct(jaegerLookups, 50), ratioMeans: 'query service / Jaeger',
      goal: 'p50 < 20 ms at 50M', ...(judged ? { met: pct(lookups, 50) < 20 } : {}), note: `p99 ${f1(pct(lookups, 99))} ms`,
    },
    { what: `one-hour percentiles of one hop (\`/v1/hops?hop=risk\`), p50 ${at}`, value: Number(f1(pct(hopOne, 50))), unit: 'ms', goal: '< 200 ms (p50)', met: pct(hopOne, 50) < 200, note: `p99 ${f1(pct(hopOne, 99))} ms` },
    { what: `same hour with re-emitted spans, p50 ${at}`, value: Number(f1(pct(hopReemitted, 50))), unit: 'ms', goal: '< 200 ms (p50)', met: pct(hopReemitted, 50) < 200, note: `p99 ${f1(pct(hopReemitted, 99))} ms` },
    { what: `page: waterfall, navigation to rendered, p50 ${at}`, value: Number(f1(pct(renders.waterfall!, 50))), unit: 'ms' },
  );
}

async function main(): Promise<void> {
  const stack = new FleetStack(40200, 40210);
  const db = stack.config.clickhouse.database;
  try {
    await stack.up(['nats', 'clickhouse', 'redis', 'jaeger']);
    stack.spawnTapfleet(['ingest'], { ingest: { metricsPort: 40221 } }, 'ingest');
    await eventually('ingest healthy (migrations applied)', async () => (await fetch('http://127.0.0.1:40221/healthz')).ok, 60_000);
    const tokens = await fixtureTokens(stack.config);
    stack.spawnTapfleet(['query-server'], { query: { host: '127.0.0.1', port: PORT, url: BASE } }, 'query-server');
    await eventually('query-server healthy', async () => (await fetch(`${BASE}/healthz`)).ok, 30_000);
    const ch = createClickHouse(stack.config, { requestTimeoutMs: 1_800_000 });
    const [version] = await (await ch.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' })).json<{ v: string }>();
    say('# Query benchmark');
    say();
    say(`Run ${new Date().toISOString()}: ClickHouse ${version!.v}, 2 vCPU shared with other work; the query service (\`tapfleet query-server\`) and chromium on the same machine.`);
    say('Times are per request through the HTTP API (bearer token checked in Redis, ClickHouse, JSON), client-side, sequential, in ms.');
    say();
    const inserts: string[] = [];
    let stored = 0;
    const maxSize = Math.max(...SIZES);
    const header = () => {
      say('| stored events | query | runs | p50 ms | p99 ms | max ms | goal |');
      say('|---|---|---|---|---|---|---|');
    };
    let printedHeader = false;
    for (const size of SIZES) {
      progress(`filling to ${size} events`);
      // Transaction numbers are laid over one day sized for the largest run, so the 10M history is the first fifth of the 50M one.
      const s = await fill(ch, db, stored, size, maxSize);
      inserts.push(`${(size - stored).toLocaleString('en-US')} events + ${(((size - stored) / 5) * 4).toLocaleString('en-US')} spans in ${f1(s)} s`);
      stored = size;
      const [parts] = await (await ch.query({ query: `SELECT countIf(table = 'probe_events') AS pe, countIf(table = 'txn_spans') AS sp FROM system.parts WHERE database = '${db}' AND active`, format: 'JSONEachRow' })).json<{ pe: string; sp: string }>();
      progress(`measuring at ${size} (${parts!.pe} probe_events parts, ${parts!.sp} txn_spans parts)`);
      if (!printedHeader) header();
      printedHeader = true;
      // Hours fully covered by what is stored: each holds the same number of transactions at every size.
      // The re-emission hour: the last stored one, outside the 20 runs' hours at 50M (hours 0-19); the 10M run's (hour 3) is among them there.
      const hours = Math.max(1, Math.floor((24 * size) / maxSize));
      await measure(size, tokens.viewer, size / 5, hours, hours - 1, { ch, db, otlpUrl: `http://127.0.0.1:${stack.config.jaeger.otlpHttpPort}/v1/traces`, queryBase: `http://127.0.0.1:${stack.config.jaeger.queryPort}` });
    }
    say();
    say(`History bulk-inserted by ClickHouse (INSERT ... SELECT FROM numbers(); every materialized view attached: txn_index, latency_rollup_1m and the query service's txn_events, txn_spans_by_key, txn_span_times): ${inserts.join('; ')}.`);
    say(`One deployment, 3 hosts, 5 events and 4 spans (root + 3 hops) per transaction, spread evenly over one day (2026-11-30), the risk host's clock 3 ms ahead. Every hour holds the same number of transactions (1/24 of the largest run's); the smaller run stores the first hours of that day, and its hour windows are taken among those.`);
    say(`Load average (1 min, 2 vCPU) at the end of each size's measurements: ${loads.join(', ')}; times scale with it.`);
    say("Reads see parts as inserted, no OPTIMIZE: each span's newest version (a re-emitted span must not count twice): hop percentiles argMax(..., version) only the spans with more than one row in the window (found after a uniqExact count), slowest-100 every span; events each (host, boot, seq) once.");
    say(`Re-emitted spans: ${reemitNotes.join('; ')} (each span counted once; the max shows the new, 10 ms longer, versions were read).`);
    say(`Jaeger side by side (Jaeger ${JAEGER_VERSION} all-in-one, \`stack up --with jaeger\`'s memory storage, max ${JAEGER_MAX_TRACES.toLocaleString('en-US')} traces, in the same run and on the same machine): each size's sample of transactions (the looked-up ones included) read back from txn_spans_by_key as TxnSpanRow and exported by the assembler's own SpanExporter (OTLP/HTTP protobuf, its OTLP conversion); the lookups alternate, one transaction in the query service then the same one in Jaeger. ${jaegerNotes.join('; ')}. Jaeger answers spans only, from memory; the query service answers spans and events, from ClickHouse on disk (page cache), after a bearer-token check in Redis. A ratio above 1 means the query service is slower.`);
    writeFileSync(join(PROJECT_ROOT, 'bench', 'results', 'query.md'), `${lines.join('\n')}\n`);
    writeFigures({ bench: 'query', title: 'Query benchmark', ranAt: new Date().toISOString(), command: `bash bench/query.sh ${process.argv.slice(2).join(' ')}`.trim(), figures });
    await ch.close();
  } finally {
    await stack.cleanup();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((e) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  });
}
