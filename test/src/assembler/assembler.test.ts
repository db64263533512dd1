import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ChildProcess } from 'node:child_process';
import type { JetStreamClient } from '@nats-io/jetstream';
import { connectJetStream, createClickHouse, type ClickHouseClient } from '@tapfleet/runtime';
import type { Bundle } from '@tapfleet/schemas';
import { eventually, FleetStack, sleep } from '../fleet/fleet-harness.js';
import { storeBundle } from '../ingest/ingest-harness.js';
import { orderPathBundle, publishEvents, spanCounts, truthOf, type HostClock } from './txn-harness.js';
import { jaegerOtlpTracesUrl, jaegerQueryFor, type JaegerSpan } from '../jaeger/jaeger-query.js';
import { jaegerShowsStored } from './pipeline-harness.js';

const BASE = 46000;
const INGEST_METRICS = BASE + 20;
const ASSEMBLER_METRICS = BASE + 21;
const GW: HostClock = { hostId: 'gw-1', offsetNs: 0n, uncertaintyNs: 150_000 };
/** The risk host's clock runs 3 ms ahead: uncorrected, every wire hop would read 3 ms long. */
const RISK: HostClock = { hostId: 'risk-1', offsetNs: 3_000_000n, uncertaintyNs: 120_000 };

describe('assembler: real NATS JetStream, ClickHouse, ingest and assembler processes', () => {
  const stack = new FleetStack(BASE, BASE + 8);
  let bundle: Bundle;
  let js: JetStreamClient;
  let close: () => Promise<void>;
  let ch: ClickHouseClient;
  let assembler: ChildProcess;
  const db = () => stack.config.clickhouse.database;
  const jaeger = jaegerQueryFor(stack.config);
  const jaegerMatches = (dep: string, txn: string): Promise<JaegerSpan[]> => jaegerShowsStored(ch, db(), jaeger, dep, txn);
  const seqs = new Map<string, number>();

  const startAssembler = async () => {
    assembler = stack.spawnTapfleet(['assembler'], { assembler: { metricsPort: ASSEMBLER_METRICS, quietMs: 300, lingerMs: 3000, otlp: { url: jaegerOtlpTracesUrl(stack.config) } } }, 'assembler');
    await eventually('assembler /healthz', async () => (await fetch(`http://127.0.0.1:${ASSEMBLER_METRICS}/healthz`)).ok, 30_000);
  };
  const metric = async (name: string) => {
    const text = await (await fetch(`http://127.0.0.1:${ASSEMBLER_METRICS}/metrics`)).text();
    return text.split('\n').filter((l) => l.startsWith(name)).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
  };
  /** Publishes the events of orders [from, to) from both hosts, in the order hosts would. */
  const publishOrders = async (deployment: string, from: number, to: number, base: bigint, which: ('gw_out' | 'risk_in' | 'risk_out')[] = ['gw_out', 'risk_in', 'risk_out']) => {
    const gw = [];
    const risk = [];
    for (let i = from; i < to; i++) {
      const t = truthOf(base, i);
      if (which.includes('gw_out')) gw.push({ event: 'gw_out', txn: i, trueNs: t.gwOut });
      if (which.includes('risk_in')) risk.push({ event: 'risk_in', txn: i, trueNs: t.riskIn });
      if (which.includes('risk_out')) risk.push({ event: 'risk_out', txn: i, trueNs: t.riskOut });
    }
    for (const [host, events] of [[GW, gw], [RISK, risk]] as const) {
      const key = `${deployment}/${host.hostId}`;
      seqs.set(key, await publishEvents(js, bundle, deployment, host, events, seqs.get(key) ?? 0));
    }
  };

  before(async () => {
    await stack.up(['nats', 'clickhouse', 'jaeger']);
    bundle = await orderPathBundle();
    await storeBundle(stack.config, bundle);
    const c = await connectJetStream(stack.config, { name: 'assembler-test' });
    js = c.js;
    close = () => c.nc.close();
    ch = createClickHouse(stack.config);
    stack.spawnTapfleet(['ingest'], { ingest: { metricsPort: INGEST_METRICS, fetchWaitMs: 200 } }, 'ingest');
    await eventually('ingest /healthz', async () => (await fetch(`http://127.0.0.1:${INGEST_METRICS}/healthz`)).ok, 30_000);
    await startAssembler();
  });

  after(async () => {
    await ch?.close();
    await close?.();
    await stack.cleanup();
  });

  test('every order becomes one transaction with both hops; corrected hop times equal the truth, each within its stated bound', async () => {
    const dep = 'd-a5e0b001';
    const base = BigInt(Date.now()) * 1_000_000n;
    await publishOrders(dep, 0, 2000, base);
    const counts = await eventually('2,000 complete transactions in txn_spans', async () => {
      const c = await spanCounts(ch, db(), dep);
      return c.roots === 2000 && c.complete === 2000 ? c : undefined;
    }, 60_000, 250);
    assert.deepEqual(counts.hops, { wire: 2000, risk: 2000 });
    const rows = await (await ch.query({ query: `SELECT txn, name, duration_ns, error_bound_ns, from_host, to_host, start_ns FROM ${db()}.txn_spans FINAL WHERE deployment = '${dep}' AND kind = 'hop'`, format: 'JSONEachRow' })).json<{ txn: string; name: string; duration_ns: string; error_bound_ns: string; from_host: string; to_host: string; start_ns: string }>();
    for (const r of rows) {
      const t = truthOf(base, Number(r.txn));
      if (r.name === 'wire') {
        assert.equal(BigInt(r.duration_ns), t.riskIn - t.gwOut, `wire hop of ${r.txn}`);
        assert.equal(r.error_bound_ns, String(GW.uncertaintyNs + RISK.uncertaintyNs));
        assert.deepEqual([r.from_host, r.to_host], [GW.hostId, RISK.hostId]);
        // Uncorrected, the risk host's stamps would put this hop 3 ms off the truth.
        assert.equal(BigInt(r.start_ns), t.gwOut);
      } else {
        assert.equal(BigInt(r.duration_ns), 50_000n);
        assert.equal(r.error_bound_ns, '0', 'both ends on one host: no clock error');
      }
    }
    const lat = await (await ch.query({ query: `SELECT count() AS n, min(duration_ns) AS lo, max(duration_ns) AS hi FROM ${db()}.txn_spans FINAL WHERE deployment = '${dep}' AND kind = 'latency'`, format: 'JSONEachRow' })).json<{ n: string; lo: string; hi: string }>();
    assert.deepEqual(lat[0], { n: '2000', lo: '5000', hi: '5000' });
    assert.ok((await metric('tapfleet_assembler_transactions_closed_total{reason="final"}')) >= 2000);
    for (const txn of ['0', '1', '777', '1999']) {
      const spans = await jaegerMatches(dep, txn);
      assert.deepEqual(spans.map((s) => s.name).sort(), ['risk', 'risk_out', 'transaction', 'wire']);
      const wire = spans.find((s) => s.name === 'wire')!;
      assert.equal(wire.kind, 'consumer', 'a hop between hosts: received by the risk host');
      assert.equal(wire.attributes['tapfleet.error_bound_ns'], BigInt(GW.uncertaintyNs + RISK.uncertaintyNs));
    }
  });

  test('a late event re-opens its transaction; the re-emitted spans replace the old ones under the same ids', async () => {
    const dep = 'd-a5e0b002';
    const base = BigInt(Date.now()) * 1_000_000n;
    await publishOrders(dep, 0, 10, base, ['risk_in', 'risk_out']);
    const before = await eventually('10 incomplete transactions (the wire hop is missing)', async () => {
      const c = await spanCounts(ch, db(), dep);
      return c.roots === 10 && c.complete === 0 ? c : undefined;
    }, 30_000, 200);
    assert.deepEqual(before.hops, { risk: 10 });
    const rootsBefore = await (await ch.query({ query: `SELECT span_id FROM ${db()}.txn_spans FINAL WHERE deployment = '${dep}' AND kind = 'txn' ORDER BY span_id`, format: 'JSONEachRow' })).json<{ span_id: string }>();
    await sleep(500);
    await publishOrders(dep, 0, 10, base, ['gw_out']);
    const after = await eventually('the 10 transactions re-emitted complete', async () => {
      const c = await spanCounts(ch, db(), dep);
      return c.complete === 10 ? c : undefined;
    }, 30_000, 200);
    assert.equal(after.roots, 10, 'the same 10 roots, not 10 more');
    assert.deepEqual(after.hops, { risk: 10, wire: 10 });
    const rootsAfter = await (await ch.query({ query: `SELECT span_id FROM ${db()}.txn_spans FINAL WHERE deployment = '${dep}' AND kind = 'txn' ORDER BY span_id`, format: 'JSONEachRow' })).json<{ span_id: string }>();
    assert.deepEqual(rootsAfter, rootsBefore);
    assert.ok((await metric('tapfleet_assembler_transactions_reopened_total')) >= 10);
  });

  test('assembler kill -9 mid-stream: afterwards every transaction is there once, complete', async () => {
    const dep = 'd-a5e0b003';
    const base = BigInt(Date.now()) * 1_000_000n;
    const total = 6000;
    const publishing = (async () => {
      for (let i = 0; i < total; i += 200) {
        await publishOrders(dep, i, i + 200, base);
        await sleep(40);
      }
    })();
    await eventually('some transactions stored', async () => (await spanCounts(ch, db(), dep)).roots > 500, 30_000, 50);
    assembler.kill('SIGKILL');
    await new Promise((r) => assembler.once('exit', r));
    await sleep(300);
    await startAssembler();
    await publishing;
    const c = await eventually(`${total} complete transactions after the restart`, async () => {
      const c = await spanCounts(ch, db(), dep);
      return c.roots === total && c.complete === total ? c : undefined;
    }, 90_000, 500);
    assert.deepEqual(c.hops, { wire: total, risk: total });
    assert.equal(c.rootRows, total, 'one root per transaction: none under a second id');
    assert.ok((await metric('tapfleet_assembler_history_merges_total')) > 0, 'the restarted assembler merged redelivered transactions with their stored events');
    const [r] = await (await ch.query({ query: `SELECT countIf(kind = 'txn' AND events != 3) AS partial, countIf(kind = 'hop') AS hops FROM ${db()}.txn_spans FINAL WHERE deployment = '${dep}'`, format: 'JSONEachRow' })).json<{ partial: string; hops: string }>();
    assert.equal(r!.partial, '0', 'no transaction left with a partial set of events');
    assert.equal(r!.hops, String(2 * total), 'no hop span under a second id');
    // Transactions re-assembled after the restart were exported again: identical spans, which
    // Jaeger shows once.
    for (const txn of ['0', '2999', '5999']) await jaegerMatches(dep, txn);
  });

  test('Jaeger down for 10 s: spans queue, are retried, and arrive after it is back', async () => {
    const dep = 'd-a5e0b004';
    const base = BigInt(Date.now()) * 1_000_000n;
    const failuresBefore = await metric('tapfleet_assembler_otlp_export_failures_total');
    await stack.down(['jaeger']);
    await publishOrders(dep, 0, 300, base);
    await eventually('300 transactions stored while Jaeger is down', async () => (await spanCounts(ch, db(), dep)).complete === 300 || undefined, 30_000, 200);
    await sleep(10_000);
    assert.ok((await metric('tapfleet_assembler_otlp_export_failures_total')) > failuresBefore, 'exports failed while Jaeger was down');
    assert.ok((await metric('tapfleet_assembler_otlp_queue_spans')) > 0, 'and the spans wait in the queue');
    await stack.up(['jaeger']);
    for (const txn of ['0', '150', '299']) await jaegerMatches(dep, txn);
    await eventually('the export queue drained', async () => (await metric('tapfleet_assembler_otlp_queue_spans')) === 0 || undefined, 30_000, 200);
    assert.equal(await metric('tapfleet_assembler_otlp_dropped_spans_total'), 0, 'nothing dropped');
  });
});
