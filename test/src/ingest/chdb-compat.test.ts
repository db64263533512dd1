import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chdbRunner } from '../chdb-harness.js';
import { applyRetention, migrate, PROBE_EVENT_COLUMNS } from '@tapfleet/ingest';
import { loadMigrations, lossOutagesSql, lossReportedSql, lossStoredSql, partitionsSql, seqsAroundSql, storedInRangesSql, storedSeqsSql, storedTxnEventsSql } from '@tapfleet/schemas';
import { buildSpans } from '@tapfleet/assembler';

/**
 * The current ClickHouse engine (chDB, in-process) runs every migration and every query
 * the product issues, so the schema is not tied to the 18.16 the other tests start.
 */
const chdb = chdbRunner('chdb');
const DB = 'tapfleet';
const insertJson = (table: string, rows: object[]) => chdb.command(`INSERT INTO ${DB}.${table} FORMAT JSONEachRow ${rows.map((r) => JSON.stringify(r)).join('\n')}`);

test('chDB (current ClickHouse): every migration applies, the optional codec statements included; twice is a no-op', async () => {
  const first = await migrate(chdb, DB);
  assert.match(first.serverVersion, /^2[0-9]\./);
  assert.deepEqual(first.applied, loadMigrations(DB).map((m) => m.version));
  assert.deepEqual(first.skipped, [], 'a current server has codecs and TTL');
  const codec = await chdb.rows<{ compression_codec: string }>(`SELECT compression_codec FROM system.columns WHERE database = '${DB}' AND table = 'probe_events' AND name = 'ts_ns'`);
  assert.match(codec[0]!.compression_codec, /Delta/);
  assert.deepEqual((await migrate(chdb, DB)).applied, []);
});

test('chDB: the product\'s inserts and queries run, and the materialized views fill the txn index and latency rollup', async () => {
  const base = { deployment: 'd-chdb000001', host: 'h1', boot_id: 'b1', bundle: 'x', probe: 'tracepoint:syscalls:sys_enter_getpid', event: 'order', pid: 1, tid: 1, cpu: 0, comm: 'c', clock_offset_ns: 0, clock_uncertainty_ns: 5, extra_names: [], extra_values: [] };
  const slots = Object.fromEntries(PROBE_EVENT_COLUMNS.filter((c) => /^[ns][0-9]$/.test(c)).map((c) => [c, c.startsWith('n') ? 0 : '']));
  const rows = [0, 1, 2, 4].map((seq) => ({ ...slots, ...base, date: '2026-11-26', ts_ns: String(1_795_700_000_000_000_000 + seq * 1000), seq, txn: `t${seq % 2}`, latency_ns: 1000 * (seq + 1) }));
  await insertJson('probe_events', rows);
  await insertJson('agent_status', [{ date: '2026-11-26', at_ms: 1, deployment: 'd-chdb000001', host: 'h1', boot_id: 'b1', state: 'running', reason: '', produced_by_kernel: 5, ring_buffer_drops: 0, received: 5, malformed: 0, spooled: 0, spool_drops: 0, published: 5, runner_restarts: 0 }]);
  await insertJson('aggregation_snapshots', [{ date: '2026-11-26', taken_at_ms: 1, deployment: 'd-chdb000001', host: 'h1', boot_id: 'b1', map: '@n', key: ['a'], value: '3', count: '0', buckets: [] }]);
  await insertJson('event_layouts', [{ bundle: 'x', event_id: 0, event: 'order', fields: '[]', first_seen: '2026-11-26 10:00:00' }]);

  const reported = await chdb.rows<{ host: string; published: string }>(lossReportedSql(DB, 'd-chdb000001'));
  assert.deepEqual(reported.map((r) => [r.host, Number(r.published)]), [['h1', 5]]);
  const stored = await chdb.rows<{ stored: string; min_seq: string; max_seq: string }>(lossStoredSql(DB, 'd-chdb000001'));
  assert.deepEqual(stored.map((r) => [Number(r.stored), Number(r.min_seq), Number(r.max_seq)]), [[4, 0, 4]]);
  const seqs = await chdb.rows<{ seq: string }>(storedSeqsSql(DB, 'd-chdb000001', 'h1', 'b1', 0, 3));
  assert.deepEqual(seqs.map((r) => Number(r.seq)).sort(), [0, 1, 2]);

  const txn = await chdb.rows<{ txn: string; events: string; first_ns: string }>(`SELECT txn, countMerge(events) AS events, minMerge(first_ns) AS first_ns FROM ${DB}.txn_index GROUP BY txn ORDER BY txn`);
  assert.deepEqual(txn.map((r) => [r.txn, Number(r.events)]), [['t0', 3], ['t1', 1]]);
  const lat = await chdb.rows<{ q: number[] }>(`SELECT quantilesMerge(0.5, 0.9, 0.99, 0.999)(q) AS q FROM ${DB}.latency_rollup_1m WHERE deployment = 'd-chdb000001'`);
  assert.equal(lat[0]!.q.length, 4);

  const parts = await chdb.rows<{ partition_id: string }>(partitionsSql(DB, 'probe_events'));
  assert.deepEqual(parts.map((p) => p.partition_id), ['20261126']);
});

test('chDB: outages round-trip through agent_status (open, then closed, grouped by start) and bound the sequence gaps around them', async () => {
  const dep = 'd-chdb000002';
  const status = (at: number, outages: [string, number, number, string, string][]) => ({
    date: '2026-11-26', at_ms: at, deployment: dep, host: 'h1', boot_id: 'b1', state: 'running', reason: '', produced_by_kernel: 9, ring_buffer_drops: 0, received: 9, malformed: 0,
    spooled: 0, spool_drops: 0, published: 9, runner_restarts: 1, published_unacked: 2,
    outage_kind: outages.map((o) => o[0]), outage_from_ms: outages.map((o) => o[1]), outage_to_ms: outages.map((o) => o[2]), outage_cause: outages.map((o) => o[3]), outage_resolution: outages.map((o) => o[4]),
  });
  await insertJson('agent_status', [
    status(10, [['runner', 1000, 0, 'SIGKILL', '']]),
    status(20, [['runner', 1000, 1500, 'SIGKILL', 'restarted']]),
    status(30, [['runner', 1000, 1500, 'SIGKILL', 'restarted'], ['agent', 3000, 3900, 'agent died', 'restarted']]),
  ]);
  const outages = await chdb.rows<{ kind: string; from_ms: string; to_ms: string; cause: string; resolution: string }>(lossOutagesSql(DB, dep));
  assert.deepEqual(outages.map((o) => [o.kind, Number(o.from_ms), Number(o.to_ms), o.cause, o.resolution]), [['runner', 1000, 1500, 'SIGKILL', 'restarted'], ['agent', 3000, 3900, 'agent died', 'restarted']]);
  const reported = await chdb.rows<{ published_unacked: string }>(lossReportedSql(DB, dep));
  assert.equal(Number(reported[0]!.published_unacked), 2);

  // Sequences 0..9 one ms apart from 2900 ms, 4..6 lost inside the agent outage (3000..3900 ms).
  const base = { deployment: dep, host: 'h1', boot_id: 'b1', bundle: 'x', probe: 'p', event: 'e', pid: 1, tid: 1, cpu: 0, comm: 'c', clock_offset_ns: 0, clock_uncertainty_ns: 0, extra_names: [], extra_values: [] };
  const at = (seq: number) => seq < 4 ? 2_950 + seq : 3_950 + seq;
  await insertJson('probe_events', [0, 1, 2, 3, 7, 8, 9].map((seq) => ({ ...base, date: '1970-01-01', ts_ns: String(at(seq) * 1_000_000), seq, txn: '', latency_ns: 0 })));
  const around = await chdb.rows<Record<string, string>>(seqsAroundSql(DB, dep, 'h1', 'b1', [{ fromNs: 3_000_000_000n, toNs: 3_900_000_000n }, { fromNs: 3_956_000_000n }]));
  assert.deepEqual([around[0]!.bn0, around[0]!.b0, around[0]!.an0, around[0]!.a0, around[0]!.b1, around[0]!.an1].map(Number), [4, 3, 3, 7, 3, 0]);
  const inside = await chdb.rows<Record<string, string>>(storedInRangesSql(DB, dep, 'h1', 'b1', [[3, 7], [-1, 3]]));
  assert.deepEqual([inside[0]!.s0, inside[0]!.s1].map(Number), [0, 3]);
});

test('chDB: retention drops old days and, on a server with TTL, also sets the table TTL', async () => {
  await insertJson('agent_status', [{ date: '2020-01-01', at_ms: 1, deployment: 'd-old0000000', host: 'h', boot_id: 'b', state: 'x' }]);
  const result = await applyRetention(chdb, DB, { agent_status: 30 }, undefined, new Date('2026-11-26T12:00:00Z'));
  assert.deepEqual(result, [{ table: 'agent_status', dropped: ['20200101'] }]);
  const ddl = await chdb.rows<{ create_table_query: string }>(`SELECT create_table_query FROM system.tables WHERE database = '${DB}' AND name = 'agent_status'`);
  assert.match(ddl[0]!.create_table_query, /TTL date \+ toIntervalDay\(30\)/);
});

test('chDB: txn_spans takes the assembler\'s rows; a re-emitted version replaces the old under FINAL; the stored-events read runs', async () => {
  const ev = (event: string, host: string, ns: bigint, seq: number) => ({
    deployment: 'd-chdb000003', txn: 'o-1', event, host, bootId: 'b1', seq, wallNs: ns, correctedNs: ns, offsetNs: 0n, uncertaintyNs: 100n, latencyNs: 0n, pid: 1, tid: 1,
    shape: { hops: [{ name: 'wire', from: 'a_out', to: 'b_in' }], final: ['b_in'] }, link: undefined,
  });
  const t0 = 1_795_700_000_000_000_000n;
  const first = buildSpans({ deployment: 'd-chdb000003', txn: 'o-1', events: [ev('b_in', 'h2', t0 + 500n, 1)] }, 1n);
  const second = buildSpans({ deployment: 'd-chdb000003', txn: 'o-1', events: [ev('a_out', 'h1', t0, 7), ev('b_in', 'h2', t0 + 500n, 1)] }, 2n);
  await insertJson('txn_spans', first);
  await insertJson('txn_spans', second);
  const rows = await chdb.rows<{ kind: string; events: string; duration_ns: string; error_bound_ns: string }>(`SELECT kind, events, duration_ns, error_bound_ns FROM ${DB}.txn_spans FINAL WHERE txn = 'o-1' ORDER BY kind`);
  assert.deepEqual(rows.map((r) => [r.kind, Number(r.events), Number(r.duration_ns), Number(r.error_bound_ns)]), [['hop', 2, 500, 200], ['txn', 2, 500, 200]]);
  const stored = await chdb.rows<{ txn: string }>(storedTxnEventsSql(DB, '2026-11-25', '2026-11-27', [{ deployment: 'd-chdb000001', txn: "t0' OR 1=1 --" }, { deployment: 'd-chdb000001', txn: 't0' }]));
  assert.deepEqual([...new Set(stored.map((r) => r.txn))], ['t0'], 'the hostile key matches nothing and breaks nothing');
});
