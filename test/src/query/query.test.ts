import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { connectNats, createClickHouse, PROJECT_ROOT, type NatsConnection } from '@tapfleet/runtime';
import {
  AggsResponse, ApiError, batchMsgId, CompareResponse, EventBatchBuilder, eventsSubject, EventsResponse, HopsResponse, LatencyResponse, RankResponse, sqlString, SlowestResponse, TxnResponse,
  type Bundle, type EventBatchHeader,
} from '@tapfleet/schemas';
import type { z } from 'zod/v3';
import { clickHouseRows, HistoryStoreError } from '@tapfleet/query';
import { eventually, FleetStack } from '../fleet/fleet-harness.js';
import { BOOT, orderBundle, storeBundle } from '../ingest/ingest-harness.js';
import { DEP, fixtureTokens, HOSTILE_KEY, insertFixture, MINUTE, queryConfigFile, RISK_BOUND, RISK_OFFSET, T0, WINDOW_A, WINDOW_B, type FixtureTokens } from './query-fixture.js';

const PORT = 40020;
const BASE = `http://127.0.0.1:${PORT}`;
const ms = (ns: bigint) => String(ns / 1_000_000n);
/** quantileExact's definition: the value at rank floor(q * n) of the sorted values. */
const exact = (values: number[], q: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))]!;

describe('query service: history API and CLI on real ClickHouse 18.16, Redis tokens, real ingest', () => {
  const stack = new FleetStack(40000, 40010);
  let tokens: FixtureTokens;
  let configFile: string;
  let nc: NatsConnection;
  let bundle: Bundle;

  const get = async <S extends z.ZodType>(path: string, params: Record<string, string | string[]>, schema: S, token = tokens.viewer): Promise<z.output<S>> => {
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) for (const one of Array.isArray(v) ? v : [v]) search.append(k, one);
    const res = await fetch(`${BASE}${path}?${search}`, { headers: { authorization: `Bearer ${token}` } });
    const text = await res.text();
    assert.equal(res.status, 200, `${path}: ${text}`);
    return schema.parse(JSON.parse(text));
  };
  const status = async (path: string, token?: string) => {
    const res = await fetch(`${BASE}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    return { status: res.status, body: ApiError.safeParse(await res.json()).data };
  };
  const cli = (args: string[]) => {
    const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'tapfleet.js'), ...args, '--config', configFile], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TAPFLEET_LOG_LEVEL: 'warn' }, timeout: 60_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  before(async () => {
    await stack.up(['nats', 'clickhouse', 'redis']);
    stack.spawnTapfleet(['ingest'], { ingest: { metricsPort: 40021, fetchWaitMs: 200 } }, 'ingest');
    await eventually('ingest /healthz (migrations applied)', async () => (await fetch('http://127.0.0.1:40021/healthz')).ok, 60_000);
    await insertFixture(stack.config);
    tokens = await fixtureTokens(stack.config);
    configFile = queryConfigFile(stack.config, PORT);
    stack.spawnTapfleet(['query-server'], { query: { host: '127.0.0.1', port: PORT, url: BASE } }, 'query-server');
    await eventually('query-server /healthz', async () => (await fetch(`${BASE}/healthz`)).ok, 30_000);
    bundle = await orderBundle();
    await storeBundle(stack.config, bundle);
    nc = await connectNats(stack.config, { name: 'query-test-publisher' });
  });

  after(async () => {
    await nc?.close();
    await stack.cleanup();
  });

  test('the literal escaper: hostile strings read back exactly from ClickHouse 18.16 (which has no bound parameters)', async () => {
    const ch = createClickHouse(stack.config);
    try {
      const hostile = ["'", "\\", "\\'", "'; DROP TABLE x; --", "a\\'); SELECT 1; --", '\0', '\n\r\t', '/* */', '{x:String}', 'é中文🙂', "''''", '\\\\\'', String.raw`\x41\0`];
      for (const h of hostile) {
        const [row] = await (await ch.query({ query: `SELECT ${sqlString(h)} AS v`, format: 'JSONEachRow' })).json<{ v: string }>();
        assert.equal(row!.v, h, JSON.stringify(h));
      }
      const server = await (await ch.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' })).json<{ v: string }>();
      assert.match(server[0]!.v, /^18\.16\./);
    } finally {
      await ch.close();
    }
  });

  test('transaction by key: spans (the newest version), events with corrected times, the error bound on each cross-host hop', async () => {
    const r = await get('/v1/txn', { key: 'o-7' }, TxnResponse);
    assert.equal(r.transactions.length, 1);
    const t = r.transactions[0]!;
    assert.equal(t.deployment, DEP);
    assert.deepEqual(t.hosts, ['gw', 'risk', 'venue']);
    const risk = t.spans.find((s) => s.name === 'risk')!;
    assert.equal(risk.durationNs, 7000, 'FINAL keeps the re-emitted span, not the stale 999999 ns one');
    assert.equal(t.spans.length, 4);
    assert.equal(risk.errorBoundNs, RISK_BOUND);
    assert.equal(t.spans.find((s) => s.name === 'book')!.errorBoundNs, 0);
    assert.deepEqual(t.events.map((e) => e.event), ['gateway_out', 'risk_in', 'risk_out', 'venue_in', 'book_out']);
    const riskIn = t.events.find((e) => e.event === 'risk_in')!;
    assert.equal(BigInt(riskIn.tsNs) - BigInt(riskIn.correctedNs), BigInt(RISK_OFFSET), 'the risk host\'s 3 ms are taken off');
    assert.equal(riskIn.correctedNs, risk.endNs);
    assert.deepEqual(riskIn.fields, { order_id: 12, venue: 'XNYS' });

    const hostile = await get('/v1/txn', { key: HOSTILE_KEY }, TxnResponse);
    assert.equal(hostile.transactions[0]?.txn, HOSTILE_KEY, 'a key full of quotes, backslashes and NUL finds its own transaction');
    assert.equal(hostile.transactions[0]!.spans.find((s) => s.name === 'risk')!.durationNs, 7000);
    assert.deepEqual((await get('/v1/txn', { key: "o-7' OR '1'='1" }, TxnResponse)).transactions, []);
  });

  test('hop latency for a window: exact percentiles, max, log2 histogram, per-minute series and heatmap', async () => {
    const r = await get('/v1/hops', { deployment: DEP, from: ms(T0), to: ms(T0 + MINUTE) }, HopsResponse);
    assert.deepEqual(r.hops.map((h) => h.name), ['book', 'risk', 'venue']);
    const risk = r.hops.find((h) => h.name === 'risk')!;
    const values = WINDOW_A.map((t) => t.risk);
    assert.deepEqual([risk.count, risk.p50, risk.p90, risk.p99, risk.p999, risk.max], [100, exact(values, 0.5), exact(values, 0.9), exact(values, 0.99), exact(values, 0.999), 100_000]);
    assert.equal(risk.errorBoundMaxNs, RISK_BOUND);
    const buckets = new Map<number, number>();
    for (const v of values) buckets.set(Math.floor(Math.log2(v)), (buckets.get(Math.floor(Math.log2(v))) ?? 0) + 1);
    assert.deepEqual(risk.histogram, [...buckets].sort(([a], [b]) => a - b).map(([bucket, count]) => ({ bucket, count })));
    assert.deepEqual(risk.series.map((p) => [p.minuteMs, p.count, p.max]), [[Number(T0 / 1_000_000n), 100, 100_000]]);
    assert.equal(risk.heatmap.reduce((s, c) => s + c.count, 0), 100);

    const one = await get('/v1/hops', { deployment: DEP, from: new Date(Number(T0 / 1_000_000n)).toISOString(), to: ms(T0 + 10n * MINUTE), hop: 'risk' }, HopsResponse);
    assert.deepEqual(one.hops.map((h) => [h.name, h.count, h.series.length]), [['risk', 110, 2]]);
    assert.deepEqual((await get('/v1/hops', { deployment: DEP, from: ms(T0), to: ms(T0 + MINUTE), hop: "risk' OR 1=1 --" }, HopsResponse)).hops, []);
  });

  test('slowest N with hop breakdown; compare two windows hop by hop; a transaction\'s rank within its minute', async () => {
    const slow = await get('/v1/slowest', { deployment: DEP, from: ms(T0), to: ms(T0 + MINUTE), n: '3' }, SlowestResponse);
    assert.deepEqual(slow.rows.map((r) => r.txn), ['o-100', 'o-99', 'o-98']);
    assert.deepEqual(slow.rows[0]!.hops.map((h) => [h.name, h.durationNs, h.errorBoundNs]), [['risk', 100_000, RISK_BOUND], ['venue', 51_000, 250_000], ['book', 2000, 0]]);
    const byHop = await get('/v1/slowest', { deployment: DEP, from: ms(T0), to: ms(T0 + MINUTE), n: '2', hop: 'risk' }, SlowestResponse);
    assert.deepEqual(byHop.rows.map((r) => [r.txn, r.durationNs]), [['o-100', 100_000], ['o-99', 99_000]]);

    const cmp = await get('/v1/compare', { deployment: DEP, aFrom: ms(T0), aTo: ms(T0 + MINUTE), bFrom: ms(T0 + 5n * MINUTE), bTo: ms(T0 + 6n * MINUTE) }, CompareResponse);
    const risk = cmp.hops.find((h) => h.name === 'risk')!;
    assert.deepEqual([risk.a!.count, risk.a!.p50, risk.b!.count, risk.b!.p50, risk.b!.max], [100, exact(WINDOW_A.map((t) => t.risk), 0.5), 10, exact(WINDOW_B.map((t) => t.risk), 0.5), 200_000]);

    const rank = await get('/v1/rank', { deployment: DEP, key: 'o-97' }, RankResponse);
    const riskRank = rank.hops.find((h) => h.name === 'risk')!;
    assert.deepEqual([riskRank.durationNs, riskRank.inMinute, riskRank.percentile], [97_000, 100, 97]);
  });

  test('raw events: filtered by event, host and a field by name through event_layouts, paged by cursor', async () => {
    const w = { deployment: DEP, from: ms(T0), to: ms(T0 + MINUTE) };
    const all = await get('/v1/events', { ...w, event: 'risk_in', where: ['order_id>=180', 'venue=XNYS'], limit: '4' }, EventsResponse);
    assert.deepEqual(all.rows.map((r) => r.fields.order_id), [180, 182, 184, 186]);
    assert.ok(all.nextCursor);
    const next = await get('/v1/events', { ...w, event: 'risk_in', where: ['order_id>=180'], limit: '4', cursor: all.nextCursor! }, EventsResponse);
    assert.deepEqual(next.rows.map((r) => r.fields.order_id), [188, 190, 192, 194]);
    const last = await get('/v1/events', { ...w, event: 'risk_in', where: ['order_id>=180'], limit: '4', cursor: next.nextCursor! }, EventsResponse);
    assert.deepEqual([last.rows.map((r) => r.fields.order_id), last.nextCursor], [[196, 198], undefined]);
    const byHost = await get('/v1/events', { ...w, host: 'venue', limit: '1000' }, EventsResponse);
    assert.equal(byHost.rows.length, 200);
    assert.ok(byHost.rows.every((r) => r.host === 'venue'));
    assert.deepEqual((await get('/v1/events', { ...w, event: 'risk_in', where: ["venue=XNYS' OR '1'='1"] }, EventsResponse)).rows, []);
  });

  test('aggregation snapshots over time: per step, each host\'s last value, summed over hosts', async () => {
    const r = await get('/v1/aggregations', { deployment: DEP, from: ms(T0), to: ms(T0 + MINUTE), stepS: '10' }, AggsResponse);
    assert.equal(r.stepMs, 10_000);
    assert.deepEqual(r.series.map((s) => [s.map, s.key]), [['@calls', ['read']]]);
    // Step k ends with second 10k+9: gw 10(10k+9)+1, risk 10(10k+9)+2.
    assert.deepEqual(r.series[0]!.points.map(([, v]) => v), [0, 1, 2, 3, 4, 5].map((k) => 2 * 10 * (10 * k + 9) + 3));
  });

  test('a batch stored twice (re-sent beyond the duplicate window) through the real ingest path: counts and percentiles count it once', async () => {
    const dep = 'd-querydup01';
    const layout = bundle.manifest.events[0]!;
    const record = new Uint8Array(layout.size);
    const view = new DataView(record.buffer);
    const builder = new EventBatchBuilder(1 << 20);
    const base = BigInt(Date.now()) * 1_000_000n;
    const n = 500;
    for (let i = 0; i < n; i++) {
      view.setUint32(0, layout.id, true);
      for (const f of layout.fields) {
        if (f.type === 'str') record.set(new TextEncoder().encode('XNYS'), f.offset);
        else view.setBigInt64(f.offset, BigInt(f.name === 'latency' ? 1000 + i : i), true);
      }
      const wall = base + BigInt(i) * 1000n;
      builder.add(record, Number(wall & 0xffffffffn), Number(wall >> 32n));
    }
    const header: EventBatchHeader = { v: 1, hostId: 'q-dup', bootId: BOOT, deploymentId: dep, bundleId: bundle.manifest.bundleId, kernelBuildId: bundle.manifest.kernel.buildId, firstSeq: 0, count: n, clock: { offsetNs: 0, uncertaintyNs: 100 } };
    const body = builder.finish(header);
    const js = jetstream(nc);
    // The same batch twice; the second under another message id, as when it is re-sent after JetStream's duplicate window.
    await js.publish(eventsSubject(dep, 'q-dup'), body, { msgID: batchMsgId(header) });
    await js.publish(eventsSubject(dep, 'q-dup'), body, { msgID: `${batchMsgId(header)}-resent` });
    const w = { deployment: dep, event: layout.name, from: ms(base - MINUTE), to: ms(base + MINUTE) };
    const r = await eventually('both copies stored', async () => {
      const got = await get('/v1/latency', w, LatencyResponse);
      return got.storedRows === 2 * n ? got : undefined;
    }, 60_000, 250);
    const latencies = Array.from({ length: n }, (_, i) => 1000 + i);
    assert.deepEqual([r.stats.count, r.stats.p50, r.stats.p99, r.stats.max], [n, exact(latencies, 0.5), exact(latencies, 0.99), 1000 + n - 1]);
    assert.equal(r.stats.histogram.reduce((s, b) => s + b.count, 0), n);
    const page = await get('/v1/events', { ...w, where: ['qty>=490'], limit: '100' }, EventsResponse);
    assert.deepEqual(page.rows.map((e) => e.seq), [490, 491, 492, 493, 494, 495, 496, 497, 498, 499], 'each (host, boot, seq) once');
    // The lookup by key reads its own copy of the events (0010), stored twice as well: still once.
    // Its copy is written by a materialized view of the same inserts: wait until it shows the key.
    const byKey = await eventually('the key in the lookup copy', async () => {
      const t = await get('/v1/txn', { key: '7', deployment: dep }, TxnResponse);
      return t.transactions.length ? t : undefined;
    }, 30_000, 250);
    assert.deepEqual(byKey.transactions.map((t) => t.events.map((e) => [e.host, e.seq])), [[['q-dup', 7]]]);
  });

  test('parameters are checked (400 naming the field), tokens too (401, 403 for a join token), viewer may read; /metrics and /healthz', async () => {
    const q = (p: string) => `/v1/hops?${p}`;
    const bad = async (path: string, field: string) => {
      const r = await status(path, tokens.viewer);
      assert.equal(r.status, 400, path);
      assert.ok(r.body?.error.issues?.some((i) => i.path === field), `${path}: ${JSON.stringify(r.body)}`);
    };
    await bad(q(`from=${ms(T0)}&to=${ms(T0 + MINUTE)}`), 'deployment');
    await bad(q(`deployment=${DEP}&from=yesterday&to=${ms(T0)}`), 'from');
    await bad(q(`deployment=${DEP}&from=${ms(T0)}&to=${ms(T0 + 25n * 60n * MINUTE)}`), 'to');
    await bad(q(`deployment=${DEP}&from=${ms(T0)}&to=${ms(T0 - MINUTE)}`), 'to');
    await bad(`/v1/slowest?deployment=${DEP}&from=${ms(T0)}&to=${ms(T0 + MINUTE)}&n=0`, 'n');
    await bad(`/v1/events?deployment=${DEP}&from=${ms(T0)}&to=${ms(T0 + MINUTE)}&event=risk_in&where=nosuchfield=1`, 'where');
    await bad(`/v1/events?deployment=${DEP}&from=${ms(T0)}&to=${ms(T0 + MINUTE)}&event=risk_in&where=order_id>=12x`, 'where');
    await bad(`/v1/events?deployment=${DEP}&from=${ms(T0)}&to=${ms(T0 + MINUTE)}&cursor=bm90LWEtY3Vyc29y`, 'cursor');
    // Times beyond what a UInt64/Int64 ns column holds, and before 1970: a 400, not a 500 from the SQL writer.
    await bad(q(`deployment=${DEP}&from=999999999999990&to=999999999999999`), 'from');
    await bad(q(`deployment=${DEP}&from=0001-01-01T00:00:00Z&to=${ms(T0)}`), 'from');
    await bad(`/v1/aggregations?deployment=${DEP}&from=9999-12-31T00:00:00Z&to=9999-12-31T01:00:00Z`, 'from');
    const ok = q(`deployment=${DEP}&from=${ms(T0)}&to=${ms(T0 + MINUTE)}`);
    assert.equal((await status(ok)).status, 401);
    assert.equal((await status(ok, 'tf_nosuchtoken')).status, 401);
    assert.equal((await status(ok, tokens.agent)).status, 403);
    assert.equal((await status(ok, tokens.viewer)).status, 200);
    assert.equal((await status(ok, tokens.admin)).status, 200);
    assert.equal((await fetch(`${BASE}/healthz`)).status, 200);
    const metrics = await (await fetch(`${BASE}/metrics`)).text();
    assert.match(metrics, /tapfleet_query_requests_total\{route="hops",status="400"\} [1-9]/);
    assert.match(metrics, /tapfleet_query_requests_total\{route="hops",status="403"\} 1/);
  });

  test('malformed requests: an unparseable request target, bad percent-encoding, repeated parameters, other methods answer 4xx, never 500', async () => {
    const raw = (head: string) => new Promise<string>((resolve, reject) => {
      const sock = connect(PORT, '127.0.0.1', () => sock.end(`${head}\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
      let text = '';
      sock.on('data', (b) => (text += b.toString('latin1')));
      sock.on('end', () => resolve(text));
      sock.on('error', reject);
    });
    for (const target of ['//[/v1/txn?key=a', 'http://[/v1/txn']) {
      const answer = await raw(`GET ${target} HTTP/1.1`);
      assert.match(answer, /^HTTP\/1\.1 4\d\d /, `${target}: ${answer.split('\r\n')[0]}`);
    }
    const auth = { authorization: `Bearer ${tokens.viewer}` };
    const code = async (path: string, method = 'GET') => (await fetch(`${BASE}${path}`, { method, headers: auth })).status;
    assert.equal(await code(`/v1/txn?key=%zz%&key=%E0%A4%A`), 200);
    assert.equal(await code(`/v1/txn?key=o-1&key=${encodeURIComponent(HOSTILE_KEY)}&deployment=${DEP}&deployment=x`), 200);
    for (const method of ['POST', 'HEAD', 'OPTIONS', 'DELETE']) assert.equal(await code(`/v1/txn?key=o-1`, method), 405, method);
    assert.equal(await code(`/v1/txn?key=${'k'.repeat(300)}`), 400);
    assert.equal((await fetch(`${BASE}/../../etc/passwd`)).status, 404);
    assert.equal((await fetch(`${BASE}/%2e%2e/%2e%2e/etc/passwd`)).status, 404);
  });

  test('a heavy query is stopped by ClickHouse itself (max_execution_time), not left running after the client gives up', async () => {
    const ch = createClickHouse(stack.config);
    try {
      const started = Date.now();
      // Counting 10^12 numbers takes minutes; the server must cut it off at the limit (1 s here).
      await assert.rejects(clickHouseRows(ch, 1).rows('SELECT count() FROM system.numbers WHERE number < 1000000000000'), (e: Error) => {
        assert.ok(e instanceof HistoryStoreError, e.message);
        assert.match(e.message, /TIMEOUT_EXCEEDED|Timeout exceeded/i);
        return true;
      });
      assert.ok(Date.now() - started < 25_000, 'stopped by the server limit, before the client request timeout');
      // The same settings leave ordinary reads working, and writes still refused (readonly).
      assert.deepEqual(await clickHouseRows(ch, 1).rows<{ x: number }>('SELECT 1 AS x'), [{ x: 1 }]);
      await assert.rejects(clickHouseRows(ch, 1).rows(`CREATE TABLE ${stack.config.clickhouse.database}.qreview_probe (x UInt8) ENGINE = Memory`), /readonly|Cannot execute query in readonly mode/i);
    } finally {
      await ch.close();
    }
  });

  test('CLI: query txn prints a waterfall with the bound, hops/slowest/compare/events/rank their tables, --help for each', () => {
    const txn = cli(['query', 'txn', 'o-97', '--rank', '--deployment', DEP]);
    assert.equal(txn.code, 0, txn.stderr);
    assert.match(txn.stdout, /transaction o-97 {2}deployment d-queryfix01/);
    assert.match(txn.stdout, /^ {2}risk +\|#* *\| +\+0ns +97\.0us +±310\.0us +gw -> risk$/m);
    assert.match(txn.stdout, /^ {2}book .* 2\.00us +venue$/m);
    assert.match(txn.stdout, /^risk +97\.0us +±310\.0us +10:00 +p97 of 100$/m);
    const from = ms(T0);
    const hops = cli(['query', 'hops', '-d', DEP, '--from', from, '--to', ms(T0 + MINUTE), '--hop', 'risk']);
    assert.equal(hops.code, 0, hops.stderr);
    assert.match(hops.stdout, /^risk +100 +51\.0us +91\.0us +100\.0us +100\.0us +100\.0us +±310\.0us$/m);
    const slow = cli(['query', 'slowest', '-d', DEP, '--from', from, '--to', ms(T0 + MINUTE), '-n', '2']);
    assert.match(slow.stdout, /^o-100 +10:00:49\.500000 .* risk=100\.0us venue=51\.0us book=2\.00us$/m);
    const cmp = cli(['query', 'compare', '-d', DEP, '--a-from', from, '--a-to', ms(T0 + MINUTE), '--b-from', ms(T0 + 5n * MINUTE), '--b-to', ms(T0 + 6n * MINUTE), '--hop', 'risk']);
    assert.match(cmp.stdout, /^risk +100 +51\.0us +100\.0us +10 +120\.0us +200\.0us +\+69\.0us +\+100\.0us$/m);
    const ev = cli(['query', 'events', '-d', DEP, '--from', from, '--to', ms(T0 + MINUTE), '--event', 'risk_in', '--where', 'order_id>=196']);
    assert.match(ev.stdout, /2026-12-01 10:00:49\.500100 +risk +198 +risk_in +o-100 +order_id=198 venue=XNYS/);
    assert.match(ev.stdout, /2 row\(s\), end/);
    const badWindow = cli(['query', 'hops', '-d', DEP, '--from', 'yesterday']);
    assert.equal(badWindow.code, 1);
    assert.match(badWindow.stderr, /from: expected an ISO 8601 time/);
    for (const c of ['txn', 'rank', 'hops', 'slowest', 'compare', 'events', 'aggs']) assert.match(cli(['query', c, '--help']).stdout, new RegExp(`usage: tapfleet query ${c}`));
    assert.match(cli(['query-server', '--help']).stdout, /usage: tapfleet query-server/);
  });
});
