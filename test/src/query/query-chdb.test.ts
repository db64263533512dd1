import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chdbRunner } from '../chdb-harness.js';
import { migrate } from '@tapfleet/ingest';
import { QueryStore } from '@tapfleet/query';
import { AggsQuery, CompareQuery, EventsQuery, HopsQuery, RankQuery, SlowestQuery, sqlString, TxnQuery } from '@tapfleet/schemas';
import { BUNDLE, DEP, eventRows, HOSTILE, HOSTILE_KEY, MINUTE, RISK_BOUND, spanRows, T0, WINDOW_A, WINDOW_B } from './query-fixture.js';

/**
 * The query service's SQL on the current ClickHouse engine (chDB, in-process): the same
 * QueryStore the service runs on 18.16, over the same fixture, so its queries are not tied to 18.16.
 */
const chdb = chdbRunner('query-chdb');
const DB = 'tapfleet';
const insert = (table: string, rows: object[]) => chdb.command(`INSERT INTO ${DB}.${table} FORMAT JSONEachRow ${rows.map((r) => JSON.stringify(r)).join('\n')}`);
const ms = (ns: bigint) => String(ns / 1_000_000n);

test('chDB: the query service\'s queries answer the fixture as on 18.16 (newest span versions, exact percentiles, rank, field filters, cursor)', async () => {
  await migrate(chdb, DB);
  const all = [...WINDOW_A, ...WINDOW_B, HOSTILE];
  await insert('txn_spans', [...all.flatMap((t) => spanRows(t)), ...spanRows(WINDOW_A[6]!, 1n, 999_999)]);
  await insert('probe_events', all.flatMap((t, i) => eventRows(t, i * 2)));
  const layout = [{ name: 'order_id', type: 'u64', offset: 24, size: 8, slot: 'n0' }, { name: 'venue', type: 'str', offset: 32, size: 16, slot: 's0' }];
  await insert('event_layouts', ['gateway_out', 'risk_in'].map((event, id) => ({ bundle: BUNDLE, event_id: id, event, fields: JSON.stringify(layout), first_seen: '2026-12-01 10:00:00' })));
  await insert('aggregation_snapshots', [{ date: '2026-12-01', taken_at_ms: Number(T0 / 1_000_000n), deployment: DEP, host: 'gw', boot_id: 'b', map: '@calls', key: ['read'], value: 5, count: 0, buckets: [] }]);
  const store = new QueryStore(chdb, DB);
  const w = { deployment: DEP, from: ms(T0), to: ms(T0 + MINUTE) };

  const txn = await store.txn(TxnQuery.parse({ key: 'o-7' }));
  assert.equal(txn.transactions[0]!.spans.find((s) => s.name === 'risk')!.durationNs, 7000);
  assert.equal(txn.transactions[0]!.events.length, 5);
  assert.equal((await store.txn(TxnQuery.parse({ key: HOSTILE_KEY }))).transactions[0]!.txn, HOSTILE_KEY);

  const hops = await store.hops(HopsQuery.parse({ ...w, hop: 'risk' }));
  assert.deepEqual(hops.hops.map((h) => [h.count, h.p50, h.p99, h.max, h.errorBoundMaxNs]), [[100, 51_000, 100_000, 100_000, RISK_BOUND]]);
  assert.equal(hops.hops[0]!.histogram.reduce((s, b) => s + b.count, 0), 100);
  // The stale risk span listed as a duplicate (above) and, with no room to list any, every span de-duplicated: the same answer.
  const allDeduplicated = await new QueryStore(chdb, DB, 0).hops(HopsQuery.parse({ ...w, hop: 'risk' }));
  assert.deepEqual(allDeduplicated.hops, hops.hops);
  assert.deepEqual((await store.slowest(SlowestQuery.parse({ ...w, n: '2' }))).rows.map((r) => [r.txn, r.hops.length]), [['o-100', 3], ['o-99', 3]]);
  const cmp = await store.compare(CompareQuery.parse({ deployment: DEP, aFrom: ms(T0), aTo: ms(T0 + MINUTE), bFrom: ms(T0 + 5n * MINUTE), bTo: ms(T0 + 6n * MINUTE), hop: 'risk' }));
  assert.deepEqual(cmp.hops.map((h) => [h.a?.count, h.b?.count]), [[100, 10]]);
  assert.equal((await store.rank(RankQuery.parse({ deployment: DEP, key: 'o-97' }))).hops.find((h) => h.name === 'risk')!.percentile, 97);
  const page = await store.events(EventsQuery.parse({ ...w, event: 'risk_in', where: ['order_id>=196'], limit: '1' }));
  assert.deepEqual(page.rows.map((r) => r.fields.order_id), [196]);
  const rest = await store.events(EventsQuery.parse({ ...w, event: 'risk_in', where: ['order_id>=196'], limit: '5', cursor: page.nextCursor }));
  assert.deepEqual([rest.rows.map((r) => r.fields.order_id), rest.nextCursor], [[198], undefined]);
  assert.deepEqual((await store.aggregations(AggsQuery.parse({ ...w, stepS: '60' }))).series.map((s) => s.points), [[[Number(T0 / 1_000_000n), 5]]]);

  for (const h of ["'", '\\', "\\'", "'; DROP TABLE x; --", '\0', '\n\r\t', 'é中文🙂', '{x:String}']) {
    const [row] = await chdb.rows<{ v: string }>(`SELECT ${sqlString(h)} AS v`);
    assert.equal(row!.v, h, JSON.stringify(h));
  }
});
