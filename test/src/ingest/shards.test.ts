import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { jetstream } from '@nats-io/jetstream';
import { clickHouseRunner, ClusterLayoutError, migrate, migrateShards, retainOnEveryShard } from '@tapfleet/ingest';
import { loadStoredEvents } from '@tapfleet/assembler';
import { QueryStore } from '@tapfleet/query';
import { clickhouseShardUrls, connectNats, type ClickHouseClient, type NatsConnection } from '@tapfleet/runtime';
import { AggsQuery, CompareQuery, EventsQuery, eventShardKey, HopsQuery, RankQuery, shardOfKey, SlowestQuery, TxnQuery, type Bundle, type TapfleetConfig } from '@tapfleet/schemas';
import { eventually, FleetStack, sleep } from '../fleet/fleet-harness.js';
import { testLogger } from '../stack-harness.js';
import { DEP, HOSTILE_KEY, insertFixture, MINUTE, T0 } from '../query/query-fixture.js';
import { createClickHouse, orderBundle, publishSynthetic, storeBundle, storedCount } from './ingest-harness.js';

/** Port base 48400 (see stack-harness.ts for the layout); shard 2 above it. */
const SHARD2 = { url: 'http://127.0.0.1:48417', tcpPort: 48418 };
const INGEST_METRICS = 48420;

describe('ClickHouse shards: two clickhouse-servers behind Distributed tables, ingest exactly once, queries as on one node', () => {
  const stack = new FleetStack(48400, 48421, (c) => ({ ...c, clickhouse: { ...c.clickhouse, shards: [SHARD2] } }));
  const config = stack.config;
  const db = config.clickhouse.database;
  const [url1, url2] = clickhouseShardUrls(config);
  let bundle: Bundle;
  let nc: NatsConnection;
  let ingest: ChildProcess;
  /** Through the Distributed tables (clickhouse.url, the cluster's settings). */
  const ch = () => createClickHouse(config);
  const onShard = (url: string, database = db) => createClickHouse(config, { url, database });
  const count = async (client: ClickHouseClient, sql: string) => {
    const rs = await client.query({ query: sql, format: 'JSONEachRow' });
    const [row] = await rs.json<{ n: string }>();
    return Number(row!.n);
  };
  const localRows = async (url: string, deploymentId: string) => {
    const client = onShard(url!);
    try {
      return await count(client, `SELECT count() AS n FROM ${db}.probe_events_local WHERE deployment = '${deploymentId}'`);
    } finally {
      await client.close();
    }
  };
  const sqlRows = async <T,>(client: ClickHouseClient, sql: string): Promise<T[]> => (await client.query({ query: sql, format: 'JSONEachRow' })).json<T>();
  const metric = async (name: string) => {
    const text = await (await fetch(`http://127.0.0.1:${INGEST_METRICS}/metrics`)).text();
    return Number(text.split('\n').find((l) => l.startsWith(`${name} `))?.split(' ')[1] ?? NaN);
  };
  /** Every event once through the Distributed table, and the rows of both shards' local tables adding up to it. */
  const exactlyOnceOnShards = async (deploymentId: string, hosts: string[], perHost: number) => {
    const client = ch();
    try {
      for (const host of hosts) {
        await eventually(`${perHost} events of ${deploymentId}/${host} stored`, async () => ((await storedCount(client, db, deploymentId, host)).distinct >= perHost ? true : undefined), 180_000, 250);
      }
      await sleep(500); // anything duplicated would have landed by now
      for (const host of hosts) assert.deepEqual(await storedCount(client, db, deploymentId, host), { rows: perHost, distinct: perHost, minSeq: 0, maxSeq: perHost - 1 }, `${host}: stored exactly once`);
      const [one, two] = [await localRows(url1!, deploymentId), await localRows(url2!, deploymentId)];
      assert.ok(one > 0 && two > 0, `rows on both shards (${one}, ${two})`);
      assert.equal(one + two, perHost * hosts.length, 'the shards hold every row once between them');
    } finally {
      await client.close();
    }
  };

  before(async () => {
    await stack.up(['nats', 'clickhouse', 'redis']);
    bundle = await orderBundle();
    await storeBundle(config, bundle);
    nc = await connectNats(config, { name: 'shards-test-publisher' });
    ingest = stack.spawnTapfleet(['ingest'], { ingest: { metricsPort: INGEST_METRICS, fetchWaitMs: 200 } }, 'ingest');
    await eventually('ingest /healthz', async () => (await fetch(`http://127.0.0.1:${INGEST_METRICS}/healthz`)).ok, 60_000);
  });

  after(async () => {
    await nc?.close();
    await stack.cleanup();
  });

  test('migrations: each shard has the local tables, their views, and a Distributed table over them; a second run is a no-op', async () => {
    const admins = [url1!, url2!].map((url) => onShard(url, 'default'));
    try {
      const again = await migrateShards(admins.map(clickHouseRunner), db, config.clickhouse.cluster);
      assert.deepEqual(again.map((r) => r.applied), [[], []]);
      for (const admin of admins) {
        const rs = await admin.query({ query: `SELECT name, engine, engine_full FROM system.tables WHERE database = '${db}' AND name IN ('probe_events', 'probe_events_local', 'txn_events_mv_local', 'txn_spans', 'tapfleet_migrations', 'txn_index', 'txn_index_local')`, format: 'JSONEachRow' });
        const tables = new Map((await rs.json<{ name: string; engine: string; engine_full: string }>()).map((t) => [t.name, t]));
        assert.equal(tables.get('probe_events_local')?.engine, 'ReplacingMergeTree');
        assert.equal(tables.get('txn_events_mv_local')?.engine, 'MaterializedView');
        assert.equal(tables.get('tapfleet_migrations')?.engine, 'MergeTree', 'each shard keeps its own ledger');
        assert.match(tables.get('probe_events')?.engine_full ?? '', /^Distributed\(tapfleet, tapfleet_smoke, probe_events_local, murmurHash2_32\(if\(txn != '', txn, host\)\)\)$/);
        assert.equal(tables.get('txn_spans')?.engine, 'Distributed');
        // txn_index is computed on read (0011): a view on each shard, read through a Distributed table.
        assert.equal(tables.get('txn_index_local')?.engine, 'View');
        assert.equal(tables.get('txn_index')?.engine, 'Distributed');
      }
    } finally {
      await Promise.all(admins.map((a) => a.close()));
    }
  });

  test('retention drops old days from every shard\'s local tables', async () => {
    const client = ch();
    try {
      // Hosts chosen so the old rows land on both shards (placement by host: agent_status has no txn).
      const hosts = Array.from({ length: 8 }, (_, i) => `h-retention-${i}`);
      assert.equal(new Set(hosts.map((h) => shardOfKey(h, 2))).size, 2);
      await client.insert({ table: 'agent_status', values: hosts.flatMap((host) => [{ date: '2020-01-01', at_ms: 1, deployment: 'd-retention1', host, boot_id: 'b', state: 'running' }, { date: new Date().toISOString().slice(0, 10), at_ms: 2, deployment: 'd-retention1', host, boot_id: 'b', state: 'running' }]), format: 'JSONEachRow' });
      await retainOnEveryShard({ ...config, ingest: { ...config.ingest, retentionDays: { agent_status: 30 } } }, testLogger('shards'));
      const days = async () => count(client, `SELECT uniqExact(date) AS n FROM ${db}.agent_status WHERE deployment = 'd-retention1' AND date < '2021-01-01'`);
      assert.equal(await days(), 0, 'the old day is gone from both shards');
      assert.equal(await count(client, `SELECT count() AS n FROM ${db}.agent_status WHERE deployment = 'd-retention1'`), hosts.length, 'today stays');
    } finally {
      await client.close();
    }
  });

  test('a row lands on the same shard whether ingest routes it or the Distributed table does', async () => {
    const client = ch();
    try {
      const keys = Array.from({ length: 24 }, (_, i) => `route-${i}`);
      const row = (txn: string, host: string, seq: number) => ({ date: '2026-12-01', ts_ns: '1', deployment: 'd-routing001', host, boot_id: 'b', seq, bundle: 'x', probe: 'p', event: 'e', pid: 1, tid: 1, cpu: 0, comm: 'c', txn });
      await client.insert({ table: 'probe_events', values: [...keys.map((k, i) => row(k, 'h-routing', i)), row('', 'h-no-txn-a', 100), row('', 'h-no-txn-b', 101)], format: 'JSONEachRow' });
      const placed = new Map<string, number>();
      for (const [i, url] of [url1!, url2!].entries()) {
        const shard = onShard(url);
        const rs = await shard.query({ query: `SELECT txn, host FROM ${db}.probe_events_local WHERE deployment = 'd-routing001'`, format: 'JSONEachRow' });
        for (const r of await rs.json<{ txn: string; host: string }>()) placed.set(eventShardKey(r.txn, r.host), i);
        await shard.close();
      }
      const expected = new Map([...keys, 'h-no-txn-a', 'h-no-txn-b'].map((k) => [k, shardOfKey(k, 2)]));
      assert.deepEqual(placed, expected);
      assert.equal(new Set(expected.values()).size, 2, 'the keys use both shards');
    } finally {
      await client.close();
    }
  });

  test('200,000 events from two hosts stored exactly once across the two shards (rows on both, total == distinct == sent)', async () => {
    const js = jetstream(nc);
    await Promise.all([
      publishSynthetic(js, bundle, { deploymentId: 'd-shards0001', hostId: 'syn-s1', events: 100_000 }),
      publishSynthetic(js, bundle, { deploymentId: 'd-shards0001', hostId: 'syn-s2', events: 100_000 }),
    ]);
    await exactlyOnceOnShards('d-shards0001', ['syn-s1', 'syn-s2'], 100_000);
  });

  test('shard 2 stopped for ten seconds mid-stream and restarted: nothing lost, nothing doubled', async () => {
    const js = jetstream(nc);
    const errorsBefore = await metric('tapfleet_ingest_insert_errors_total');
    const run = { deploymentId: 'd-shardown01', hostId: 'syn-d', batchSize: 1000 };
    const firstHalf = publishSynthetic(js, bundle, { ...run, events: 60_000, pauseMs: 20 });
    await eventually('rows of the stream arriving', async () => {
      const client = ch();
      try {
        return (await storedCount(client, db, 'd-shardown01', 'syn-d')).distinct > 5_000 ? true : undefined;
      } finally {
        await client.close();
      }
    }, 60_000, 100);
    await stack.down(['clickhouse-shard2']);
    const stoppedAt = Date.now();
    try {
      await assert.rejects(fetch(`${SHARD2.url}/ping`), 'shard 2 is down');
      // The rest of the stream arrives while the shard is down.
      await firstHalf;
      await publishSynthetic(js, bundle, { ...run, events: 60_000, firstSeq: 60_000 });
      await sleep(Math.max(0, 10_000 - (Date.now() - stoppedAt)));
    } finally {
      await stack.up(['clickhouse-shard2']);
    }
    await exactlyOnceOnShards('d-shardown01', ['syn-d'], 120_000);
    assert.ok((await metric('tapfleet_ingest_insert_errors_total')) > errorsBefore, 'inserts into the stopped shard failed (and were retried)');
  });

  test('the query service\'s answers over the two shards equal one node\'s for the same data set', async () => {
    // The one-node reference: a plain database (the migrations as they are) on shard 1's server.
    const single: TapfleetConfig = { ...config, clickhouse: { ...config.clickhouse, database: 'tapfleet_one', shards: [] } };
    const admins = [url1!, url2!].map((url) => onShard(url, 'default'));
    await migrate(clickHouseRunner(admins[0]!), 'tapfleet_one');
    // That database is one node's: sharding it as it is would leave its rows out of sight, so it is refused, untouched.
    await assert.rejects(migrateShards(admins.map(clickHouseRunner), 'tapfleet_one', config.clickhouse.cluster), (e: Error) => e instanceof ClusterLayoutError && /tapfleet_one\.\w+ is a \w*MergeTree table, not Distributed/.test(e.message));
    await Promise.all(admins.map((a) => a.close()));
    await insertFixture(single);
    await insertFixture(config);
    // The fixture went through the Distributed tables: its transactions are spread over both shards.
    for (const url of [url1!, url2!]) {
      const shard = onShard(url);
      assert.ok((await count(shard, `SELECT count() AS n FROM ${db}.txn_spans_local WHERE deployment = '${DEP}'`)) > 0, `spans on ${url}`);
      await shard.close();
    }
    const ms = (ns: bigint) => String(ns / 1_000_000n);
    const w = { deployment: DEP, from: ms(T0), to: ms(T0 + MINUTE) };
    const answers = async (c: TapfleetConfig) => {
      const client = createClickHouse(c);
      const store = new QueryStore(clickHouseRunner(client), c.clickhouse.database);
      const everyDuplicate = new QueryStore(clickHouseRunner(client), c.clickhouse.database, 0);
      try {
        const page = await store.events(EventsQuery.parse({ ...w, event: 'risk_in', where: ['order_id>=100'], limit: '7' }));
        return {
          txn: await store.txn(TxnQuery.parse({ key: 'o-7' })),
          hostile: await store.txn(TxnQuery.parse({ key: HOSTILE_KEY })),
          hops: await store.hops(HopsQuery.parse(w)),
          riskAllDeduplicated: await everyDuplicate.hops(HopsQuery.parse({ ...w, hop: 'risk' })),
          slowest: await store.slowest(SlowestQuery.parse({ ...w, n: '5' })),
          slowestRisk: await store.slowest(SlowestQuery.parse({ ...w, n: '5', hop: 'risk' })),
          compare: await store.compare(CompareQuery.parse({ deployment: DEP, aFrom: ms(T0), aTo: ms(T0 + MINUTE), bFrom: ms(T0 + 5n * MINUTE), bTo: ms(T0 + 6n * MINUTE), hop: 'risk' })),
          rank: await store.rank(RankQuery.parse({ deployment: DEP, key: 'o-97' })),
          page,
          nextPage: await store.events(EventsQuery.parse({ ...w, event: 'risk_in', where: ['order_id>=100'], limit: '50', cursor: page.nextCursor })),
          aggs: await store.aggregations(AggsQuery.parse({ ...w, stepS: '10' })),
          // What the assembler reads back to re-assemble transactions (in no particular order).
          assemblerHistory: (await loadStoredEvents({ rows: (sql) => sqlRows(client, sql), ingestAckFloor: async () => Number.MAX_SAFE_INTEGER }, c.clickhouse.database, ['o-7', 'o-50', 'p-3', HOSTILE_KEY].map((txn) => ({ deployment: DEP, txn, events: [{ wallNs: T0 }] })), 0, 1000))
            .sort((a, b) => `${a.txn}/${a.host}/${a.seq}/${a.event}`.localeCompare(`${b.txn}/${b.host}/${b.seq}/${b.event}`)),
        };
      } finally {
        await client.close();
      }
    };
    const [one, sharded] = [await answers(single), await answers(config)];
    assert.equal(one.assemblerHistory.length, 20, 'five events of each of the four transactions');
    assert.equal(one.txn.transactions[0]!.spans.find((s) => s.name === 'risk')!.durationNs, 7000, 'the reference answers as the query tests expect');
    assert.deepEqual(sharded, one);
  });
});
