import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ChildProcess } from 'node:child_process';
import { jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { connectJetStream, createClickHouse, type ClickHouseClient, type NatsConnection } from '@tapfleet/runtime';
import { EVENTS_STREAM, type Bundle } from '@tapfleet/schemas';
import { eventually, FleetStack, sleep } from '../fleet/fleet-harness.js';
import { storeBundle } from '../ingest/ingest-harness.js';
import { orderPathBundle, publishEvents, spanCounts, truthOf, type HostClock } from './txn-harness.js';

const BASE = 42200;
const INGEST_METRICS = BASE + 20;
const ASSEMBLER_METRICS = [BASE + 21, BASE + 22, BASE + 23];
const GW: HostClock = { hostId: 'gw-1', offsetNs: 0n, uncertaintyNs: 150_000 };
const RISK: HostClock = { hostId: 'risk-1', offsetNs: 3_000_000n, uncertaintyNs: 120_000 };

describe('assembler rebalancing: one replica, then two, on real NATS JetStream, ClickHouse and ingest', () => {
  const stack = new FleetStack(BASE, BASE + 8);
  let bundle: Bundle;
  let js: JetStreamClient;
  let nc: NatsConnection;
  let ch: ClickHouseClient;
  const db = () => stack.config.clickhouse.database;
  const seqs = new Map<string, number>();

  const startAssembler = async (partition: number, partitions: number, port: number): Promise<ChildProcess> => {
    const child = stack.spawnTapfleet(['assembler'], { assembler: { metricsPort: port, quietMs: 300, lingerMs: 3000, partition, partitions } }, `assembler-${partition}-of-${partitions}`);
    await eventually(`assembler ${partition} of ${partitions} /healthz`, async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, 30_000);
    return child;
  };
  const publishOrders = async (dep: string, from: number, to: number, base: bigint, hosts: ('gw' | 'risk')[] = ['gw', 'risk']) => {
    const gw = [];
    const risk = [];
    for (let i = from; i < to; i++) {
      const t = truthOf(base, i);
      if (hosts.includes('gw')) gw.push({ event: 'gw_out', txn: i, trueNs: t.gwOut });
      if (hosts.includes('risk')) risk.push({ event: 'risk_in', txn: i, trueNs: t.riskIn }, { event: 'risk_out', txn: i, trueNs: t.riskOut });
    }
    for (const [host, events] of [[GW, gw], [RISK, risk]] as const) {
      const key = `${dep}/${host.hostId}`;
      seqs.set(key, await publishEvents(js, bundle, dep, host, events, seqs.get(key) ?? 0, 100));
    }
  };

  before(async () => {
    await stack.up(['nats', 'clickhouse']);
    bundle = await orderPathBundle();
    await storeBundle(stack.config, bundle);
    const c = await connectJetStream(stack.config, { name: 'rebalance-test' });
    js = c.js;
    nc = c.nc;
    ch = createClickHouse(stack.config);
    stack.spawnTapfleet(['ingest'], { ingest: { metricsPort: INGEST_METRICS, fetchWaitMs: 200 } }, 'ingest');
    await eventually('ingest /healthz', async () => (await fetch(`http://127.0.0.1:${INGEST_METRICS}/healthz`)).ok, 30_000);
  });

  after(async () => {
    await ch?.close();
    await nc?.close();
    await stack.cleanup();
  });

  test('restarted as 2 replicas mid-stream: every transaction once and complete, the old consumer gone', async () => {
    const dep = 'd-5eba1a01';
    const base = BigInt(Date.now()) * 1_000_000n;
    const total = 3000;
    const one = await startAssembler(0, 1, ASSEMBLER_METRICS[0]!);
    await publishOrders(dep, 0, 1000, base);
    // Half of the next orders have only their gateway event when the single replica stops:
    // open transactions whose batches it leaves unacked.
    await publishOrders(dep, 1000, 1500, base, ['gw']);
    await eventually('some transactions stored by the single replica', async () => (await spanCounts(ch, db(), dep)).roots > 200, 30_000, 50);
    await stack.stopChild(one);
    const jsm = await jetstreamManager(nc);
    const before = await jsm.consumers.info(EVENTS_STREAM, 'assembler-p0');
    assert.match(before.config.description ?? '', /partition 0 of 1;/);
    await publishOrders(dep, 1000, 1500, base, ['risk']);
    await publishOrders(dep, 1500, 2000, base);
    const p0 = await startAssembler(0, 2, ASSEMBLER_METRICS[1]!);
    const p1 = await startAssembler(1, 2, ASSEMBLER_METRICS[2]!);
    await publishOrders(dep, 2000, total, base);
    const c = await eventually(`${total} complete transactions`, async () => {
      const c = await spanCounts(ch, db(), dep);
      return c.complete === total ? c : undefined;
    }, 90_000, 500);
    assert.equal(c.roots, total);
    assert.deepEqual(c.hops, { wire: total, risk: total });
    const [r] = await (await ch.query({ query: `SELECT countIf(kind = 'txn' AND events != 3) AS partial, uniqExact(txn) AS txns FROM ${db()}.txn_spans FINAL WHERE deployment = '${dep}'`, format: 'JSONEachRow' })).json<{ partial: string; txns: string }>();
    assert.deepEqual(r, { partial: '0', txns: String(total) });
    // Both new replicas took a share; the consumer made for one partition is gone.
    const names: string[] = [];
    for await (const ci of jsm.consumers.list(EVENTS_STREAM)) if (ci.name.startsWith('assembler-')) names.push(`${ci.name}: ${ci.config.description}`);
    assert.deepEqual(names.sort().map((n) => n.replace(/; catch-up to \d+$/, '')), ['assembler-p0: tapfleet assembler partition 0 of 2', 'assembler-p1: tapfleet assembler partition 1 of 2']);
    for (const port of ASSEMBLER_METRICS.slice(1)) {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const taken = Number(/^tapfleet_assembler_events_total (\d+)/m.exec(text)?.[1] ?? 0);
      assert.ok(taken > 0, `replica on ${port} took events`);
    }
    await stack.stopChild(p0);
    await stack.stopChild(p1);
    await sleep(100);
  });

  test('a replica whose consumer is deleted under it (a new replica started at the same time, or by hand) makes it again and goes on', async () => {
    const dep = 'd-5eba1a02';
    const base = BigInt(Date.now()) * 1_000_000n;
    const total = 1500;
    const p0 = await startAssembler(0, 2, ASSEMBLER_METRICS[1]!);
    const p1 = await startAssembler(1, 2, ASSEMBLER_METRICS[2]!);
    await publishOrders(dep, 0, 500, base);
    await eventually('the first 500 complete', async () => (await spanCounts(ch, db(), dep)).complete === 500 || undefined, 60_000, 200);
    const jsm = await jetstreamManager(nc);
    await jsm.consumers.delete(EVENTS_STREAM, 'assembler-p0');
    await publishOrders(dep, 500, total, base);
    const c = await eventually(`${total} complete transactions`, async () => {
      const c = await spanCounts(ch, db(), dep);
      return c.complete === total ? c : undefined;
    }, 60_000, 500);
    assert.equal(c.roots, total);
    assert.equal(c.rootRows, total, 'each once');
    const info = await jsm.consumers.info(EVENTS_STREAM, 'assembler-p0');
    assert.match(info.config.description ?? '', /partition 0 of 2;/);
    const text = await (await fetch(`http://127.0.0.1:${ASSEMBLER_METRICS[1]}/metrics`)).text();
    assert.match(text, /^tapfleet_assembler_consumer_recreated_total 1$/m);
    await stack.stopChild(p0);
    await stack.stopChild(p1);
  });
});
