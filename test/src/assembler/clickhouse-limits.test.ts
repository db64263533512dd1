import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadStoredEvents, type StoredEventRow } from '@tapfleet/assembler';
import { clickHouseRunner, migrate } from '@tapfleet/ingest';
import { createClickHouse, type ClickHouseClient } from '@tapfleet/runtime';
import { utcDay } from '@tapfleet/schemas';
import { FleetStack } from '../fleet/fleet-harness.js';

const BASE = 42100;

describe('the assembler\'s queries within the real ClickHouse\'s limits', () => {
  const stack = new FleetStack(BASE, BASE + 8);
  let ch: ClickHouseClient;
  const db = () => stack.config.clickhouse.database;

  before(async () => {
    await stack.up(['clickhouse']);
    const admin = createClickHouse(stack.config, { database: 'default' });
    await migrate(clickHouseRunner(admin), db());
    await admin.close();
    ch = createClickHouse(stack.config);
  });

  after(async () => {
    await ch?.close();
    await stack.cleanup();
  });

  test('stored events of 600 transactions whose keys are 256 bytes that are not UTF-8 are read (queries stay inside max_query_size)', async () => {
    const dep = 'd-5a0e5702';
    const t0 = 1_764_000_000_000_000_000n;
    // What ingest and the assembler make of a str txn field of 256 bytes of 0xff: 256 U+FFFD, 768 bytes of UTF-8 each.
    const key = (i: number) => new TextDecoder().decode(new Uint8Array(256).fill(0xff)) + String(i);
    const keys = Array.from({ length: 600 }, (_, i) => ({ deployment: dep, txn: key(i), events: [{ wallNs: t0 + BigInt(i) }] }));
    const rows = keys.map((k, i) => ({
      date: utcDay(t0), ts_ns: (t0 + BigInt(i)).toString(), deployment: dep, host: 'h1', boot_id: 'b1', seq: i, event: 'a_in', txn: k.txn,
      latency_ns: 0, clock_offset_ns: 0, clock_uncertainty_ns: 50, pid: 1, tid: 1,
    }));
    await ch.insert({ table: `${db()}.probe_events`, values: rows, format: 'JSONEachRow' });
    const stored = await loadStoredEvents({
      rows: async (sql) => (await (await ch.query({ query: sql, format: 'JSONEachRow' })).json<StoredEventRow>()),
      ingestAckFloor: async () => Number.MAX_SAFE_INTEGER,
    }, db(), keys, 1, 1000);
    assert.equal(stored.length, 600);
    assert.equal(new Set(stored.map((e) => e.txn)).size, 600);
    assert.ok(stored.every((e) => e.txn.startsWith('\ufffd'.repeat(256))));
  });
});
