import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { jetstream } from '@nats-io/jetstream';
import { compileBundle } from '@tapfleet/compiler';
import { slotFields } from '@tapfleet/ingest';
import { hostKernelProfile } from '@tapfleet/runner';
import { connectNats, type NatsConnection } from '@tapfleet/runtime';
import { batchMsgId, EventBatchBuilder, eventsSubject, type Bundle, type EventBatchHeader, type EventLayout, type LayoutField } from '@tapfleet/schemas';
import { TEST_SIGNING_KEY } from '../compiler/kernel-harness.js';
import { eventually, FleetStack } from '../fleet/fleet-harness.js';
import { BOOT, createClickHouse, storeBundle } from './ingest-harness.js';

const BASE = 48650;
const WALL_NS = 1_795_700_000_123_456_789n;

/** One event with more numbers and strings than probe_events has slots: every column path of the encoder. */
function wideBundle(): Promise<Bundle> {
  const numbers = Array.from({ length: 10 }, (_, i) => `v${i}: ${i + 1} + pid`).join(', ');
  const strings = Array.from({ length: 6 }, (_, i) => `t${i}: comm`).join(', ');
  return compileBundle('wide.tap', `probe tracepoint:syscalls:sys_enter_getpid { emit wide { txn: pid, latency: 1000 + cpu, ${numbers}, ${strings} }; }\n`, {
    signingKey: TEST_SIGNING_KEY,
    profiles: { kernel: hostKernelProfile(['syscalls:sys_enter_getpid']), binaries: [] },
  });
}

/** The value the test writes into a field of record `r`: numbers distinct per field and record, strings named after both. */
const numberOf = (f: LayoutField, r: number) => BigInt(r * 1000 + f.offset);
const textOf = (f: LayoutField, r: number) => `${f.name}-${r}`.slice(0, f.size - 1);

function record(layout: EventLayout, r: number): Uint8Array {
  const rec = new Uint8Array(layout.size);
  const view = new DataView(rec.buffer);
  view.setUint32(0, layout.id, true);
  view.setUint32(8, 4000 + r, true); // pid
  view.setUint32(12, 5000 + r, true); // tid
  rec.set(new TextEncoder().encode('wide-comm'), 24);
  for (const f of layout.fields) {
    if (f.type === 'str') rec.set(new TextEncoder().encode(textOf(f, r)), f.offset);
    else if (f.size === 8) view.setBigUint64(f.offset, numberOf(f, r), true);
    else if (f.size === 4) view.setUint32(f.offset, Number(numberOf(f, r)), true);
    else if (f.size === 2) view.setUint16(f.offset, Number(numberOf(f, r)) & 0xffff, true);
    else view.setUint8(f.offset, Number(numberOf(f, r)) & 0xff);
  }
  return rec;
}

const numericText = (f: LayoutField, r: number) => String(f.size === 8 ? numberOf(f, r) : f.size === 4 ? Number(numberOf(f, r)) : f.size === 2 ? Number(numberOf(f, r)) & 0xffff : Number(numberOf(f, r)) & 0xff);

describe('ingest: every column of a stored event, and the transaction index read from txn_events', () => {
  const stack = new FleetStack(BASE, BASE + 10);
  const db = stack.config.clickhouse.database;
  let bundle: Bundle;
  let nc: NatsConnection;
  let ingest: ChildProcess;

  before(async () => {
    await stack.up(['nats', 'clickhouse', 'redis']);
    bundle = await wideBundle();
    await storeBundle(stack.config, bundle);
    nc = await connectNats(stack.config, { name: 'ingest-rows-test' });
    ingest = stack.spawnTapfleet(['ingest'], { ingest: { metricsPort: BASE + 20 } }, 'ingest');
    await eventually('ingest healthy', async () => (await fetch(`http://127.0.0.1:${BASE + 20}/healthz`)).ok, 60_000);
  });
  after(async () => {
    await nc?.close();
    if (ingest) await stack.stopChild(ingest);
    await stack.cleanup();
  });

  test('numbers fill n0..n7 then extra, strings s0..s3 then extra; txn, latency, prefix, time and clock come through', async () => {
    const layout = bundle.manifest.events[0]!;
    const builder = new EventBatchBuilder();
    for (let r = 0; r < 3; r++) {
      const wall = WALL_NS + BigInt(r);
      builder.add(record(layout, r), Number(wall & 0xffffffffn), Number(wall >> 32n));
    }
    for (const hostId of ['wide-a', 'wide-b']) {
      const header: EventBatchHeader = { v: 1, hostId, bootId: BOOT, deploymentId: 'd-widerows01', bundleId: bundle.manifest.bundleId, kernelBuildId: bundle.manifest.kernel.buildId, firstSeq: 10, count: 3, clock: { offsetNs: -1234, uncertaintyNs: 77 } };
      if (hostId === 'wide-b') for (let r = 0; r < 3; r++) builder.add(record(layout, r), Number((WALL_NS + BigInt(r)) & 0xffffffffn), Number((WALL_NS + BigInt(r)) >> 32n));
      await jetstream(nc).publish(eventsSubject(header.deploymentId, hostId), builder.finish(header), { msgID: batchMsgId(header) });
    }
    const ch = createClickHouse(stack.config);
    try {
      type Row = Record<string, string | number | string[]>;
      const rows = await eventually('6 rows stored', async () => {
        const rs = await ch.query({ query: `SELECT *, toString(ts_ns) AS ts_text, toString(date) AS date_text FROM ${db}.probe_events WHERE deployment = 'd-widerows01' ORDER BY host, seq`, format: 'JSONEachRow' });
        const got = await rs.json<Row>();
        return got.length >= 6 ? got : undefined;
      }, 60_000, 100);
      assert.equal(rows.length, 6);
      const slotted = slotFields(layout);
      const txnField = layout.fields.find((f) => f.name === layout.txnField)!;
      const latency = layout.fields.find((f) => f.name === 'latency')!;
      rows.forEach((row, i) => {
        const r = i % 3;
        const expected: Row = {
          host: i < 3 ? 'wide-a' : 'wide-b', boot_id: BOOT, seq: String(10 + r), bundle: bundle.manifest.bundleId, event: 'wide', probe: 'tracepoint:syscalls:sys_enter_getpid',
          pid: 4000 + r, tid: 5000 + r, comm: 'wide-comm', ts_text: String(WALL_NS + BigInt(r)), date_text: new Date(Number((WALL_NS + BigInt(r)) / 1_000_000n)).toISOString().slice(0, 10),
          clock_offset_ns: '-1234', clock_uncertainty_ns: '77', txn: numericText(txnField, r), latency_ns: numericText(latency, r),
        };
        for (const f of slotted) if (f.slot !== 'extra') expected[f.slot] = f.type === 'str' ? textOf(f, r) : numericText(f, r);
        const extra = slotted.filter((f) => f.slot === 'extra');
        expected.extra_names = extra.map((f) => f.name);
        expected.extra_values = extra.map((f) => (f.type === 'str' ? textOf(f, r) : numericText(f, r)));
        for (const [k, v] of Object.entries(expected)) assert.deepEqual(typeof v === 'number' ? Number(row[k]) : row[k], v, `row ${i} column ${k}`);
      });
      assert.ok(slotted.filter((f) => f.slot === 'extra').length >= 4, 'the event overflows both slot kinds');
    } finally {
      await ch.close();
    }
  });

  test('txn_index answers from txn_events, rows written there by any path included (a back-fill, a shard copy)', async () => {
    const ch = createClickHouse(stack.config);
    try {
      const summary = async (txn: string) => {
        const rs = await ch.query({ query: `SELECT countMerge(events) AS events, arraySort(groupUniqArrayMerge(hosts)) AS hosts, toString(minMerge(first_ns)) AS first FROM ${db}.txn_index WHERE txn = '${txn}' GROUP BY txn`, format: 'JSONEachRow' });
        return (await rs.json<{ events: string; hosts: string[]; first: string }>())[0];
      };
      // Record 1's key from the test above: stored on both hosts by ingest.
      const layout = bundle.manifest.events[0]!;
      const key = numericText(layout.fields.find((f) => f.name === layout.txnField)!, 1);
      const stored = await eventually('the key in txn_index', () => summary(key), 30_000, 100);
      assert.deepEqual(stored, { events: '2', hosts: ['wide-a', 'wide-b'], first: String(WALL_NS + 1n) });
      await ch.command({ query: `INSERT INTO ${db}.txn_events (date, ts_ns, deployment, host, boot_id, seq, event, txn) VALUES (today(), 5, 'd-widerows01', 'wide-c', 'b', 1, 'wide', '${key}')` });
      assert.deepEqual(await summary(key), { events: '3', hosts: ['wide-a', 'wide-b', 'wide-c'], first: '5' });
    } finally {
      await ch.close();
    }
  });
});
