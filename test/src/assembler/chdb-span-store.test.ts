import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Session } from 'chdb';
import { spanInsertGroups } from '@tapfleet/assembler';
import { migrate, type SqlRunner } from '@tapfleet/ingest';
import { txnSpanId, txnTraceId, utcDay, type TxnSpanRow } from '@tapfleet/schemas';

/**
 * The current ClickHouse engine (chDB) refuses an insert into more than 100 partitions
 * (max_partitions_per_insert_block; 18.16, which the other tests start, does not have the
 * limit). txn_spans is partitioned by day: the assembler's inserts must stay under it, or one
 * flush of spans from many days fails on every retry and holds the assembler.
 */
const dir = mkdtempSync(join(tmpdir(), 'tapfleet-chdb-spans-'));
const session = new Session(dir);
after(() => {
  session.cleanup();
  rmSync(dir, { recursive: true, force: true });
});
const chdb: SqlRunner = {
  async command(sql) {
    session.query(sql);
  },
  async rows<T>(sql: string) {
    return session.query(sql, 'JSONEachRow').split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);
  },
};
const DB = 'tapfleet';
const DAY_NS = 86_400_000_000_000n;

function root(deployment: string, txn: string, startNs: bigint): TxnSpanRow {
  const date = utcDay(startNs);
  const traceId = txnTraceId(deployment, txn, date);
  return {
    date, deployment, txn, trace_id: traceId, span_id: txnSpanId(traceId, 'root'), parent_span_id: '', kind: 'txn', name: 'transaction',
    host: 'h1', from_host: 'h1', to_host: 'h1', from_event: 'a_in', to_event: 'a_in', start_ns: startNs.toString(), end_ns: startNs.toString(),
    duration_ns: '0', error_bound_ns: '0', events: 1, attr_names: [], attr_values: [], version: '1',
  };
}

test('chDB (current ClickHouse): one flush of spans from 150 days goes in inserts it accepts', async () => {
  await migrate(chdb, DB);
  const t0 = 1_764_000_000_000_000_000n;
  const rows = Array.from({ length: 150 }, (_, i) => root('d-5a0e5703', String(i), t0 - BigInt(i) * DAY_NS));
  const groups = spanInsertGroups(rows);
  assert.ok(groups.length > 1);
  for (const g of groups) await chdb.command(`INSERT INTO ${DB}.txn_spans FORMAT JSONEachRow ${g.map((r) => JSON.stringify(r)).join('\n')}`);
  const [r] = await chdb.rows<{ n: string; days: string }>(`SELECT count() AS n, uniqExact(date) AS days FROM ${DB}.txn_spans FINAL`);
  assert.deepEqual({ n: Number(r!.n), days: Number(r!.days) }, { n: 150, days: 150 });
  assert.deepEqual(groups.flat().map((x) => x.txn).sort(), rows.map((x) => x.txn).sort(), 'every row once');
});
