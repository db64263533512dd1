import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { jetstream } from '@nats-io/jetstream';
import { connectNats, type NatsConnection } from '@tapfleet/runtime';
import { aggsSubject, DEAD_LETTER_REASON_HEADER, deadLetterSubject, encodeEventBatch, eventsSubject, MAX_EPOCH_MS, statusSubject, type AgentDeploymentStatus, type AggregationSnapshot, type Bundle, type EventBatchHeader } from '@tapfleet/schemas';
import { eventually, FleetStack, sleep } from '../fleet/fleet-harness.js';
import { BOOT, createClickHouse, orderBundle, publishSynthetic, storeBundle, storedCount } from './ingest-harness.js';

/** Batches an agent would never publish, through real NATS, ClickHouse and `tapfleet ingest`: none may block the good ones. */
describe('ingest: hostile batches on real servers', () => {
  const stack = new FleetStack(27000, 27010);
  const db = stack.config.clickhouse.database;
  let bundle: Bundle;
  let nc: NatsConnection;
  const NS_PER_DAY = 86_400n * 1_000_000_000n;

  before(async () => {
    await stack.up(['nats', 'clickhouse', 'redis']);
    bundle = await orderBundle();
    await storeBundle(stack.config, bundle);
    nc = await connectNats(stack.config, { name: 'ingest-hostile-publisher' });
    stack.spawnTapfleet(['ingest'], { ingest: { metricsPort: 27020, fetchWaitMs: 200 } }, 'ingest');
    await eventually('ingest /healthz', async () => (await fetch('http://127.0.0.1:27020/healthz')).ok, 30_000);
  });

  after(async () => {
    await nc?.close();
    await stack.cleanup();
  });

  const header = (deploymentId: string, hostId: string, firstSeq: number, count: number): EventBatchHeader => ({ v: 1, hostId, bootId: BOOT, deploymentId, bundleId: bundle.manifest.bundleId, kernelBuildId: bundle.manifest.kernel.buildId, firstSeq, count, clock: { offsetNs: 0, uncertaintyNs: 1 } });

  test('a batch whose records span 150 days (more partitions than one INSERT may make): the good batches after it are still stored', async () => {
    const js = jetstream(nc);
    const size = bundle.manifest.events[0]!.size;
    const record = new Uint8Array(size);
    new DataView(record.buffer).setUint32(0, bundle.manifest.events[0]!.id, true);
    const now = BigInt(Date.now()) * 1_000_000n;
    const records = Array.from({ length: 150 }, (_, i) => ({ wallNs: now - BigInt(i) * NS_PER_DAY, data: record }));
    await js.publish(eventsSubject('d-hostile001', 'syn-days'), encodeEventBatch(header('d-hostile001', 'syn-days', 0, records.length), records));
    await publishSynthetic(js, bundle, { deploymentId: 'd-hostile001', hostId: 'syn-good', events: 1000, batchSize: 100 });
    const client = createClickHouse(stack.config);
    try {
      const s = await eventually('the good batches stored', async () => {
        const c = await storedCount(client, db, 'd-hostile001', 'syn-good');
        return c.distinct >= 1000 ? c : undefined;
      }, 60_000, 250);
      await sleep(500);
      assert.deepEqual(await storedCount(client, db, 'd-hostile001', 'syn-good'), { rows: 1000, distinct: 1000, minSeq: 0, maxSeq: 999 }, JSON.stringify(s));
    } finally {
      await client.close();
    }
  });

  test('records at the edges: wall ns at 2^64-1 and 0, a string field with no NUL, invalid UTF-8, an empty batch; good batches after them stored', async () => {
    const js = jetstream(nc);
    const ev = bundle.manifest.events[0]!;
    const mk = (fill: (v: DataView, b: Uint8Array) => void) => {
      const b = new Uint8Array(ev.size).fill(0xff);
      const v = new DataView(b.buffer);
      v.setUint32(0, ev.id, true);
      fill(v, b);
      return b;
    };
    const edge = [
      { wallNs: (1n << 64n) - 1n, data: mk(() => {}) },
      { wallNs: 0n, data: mk(() => {}) },
      { wallNs: 1n << 63n, data: mk((v, b) => b.set([0xc3, 0x28, 0xa0, 0xa1, 0xf0, 0x28, 0x8c, 0xbc], 24)) },
    ];
    await js.publish(eventsSubject('d-hostile002', 'syn-edge'), encodeEventBatch(header('d-hostile002', 'syn-edge', 0, edge.length), edge));
    await js.publish(eventsSubject('d-hostile002', 'syn-edge'), encodeEventBatch(header('d-hostile002', 'syn-edge', 100, 0), []));
    await publishSynthetic(js, bundle, { deploymentId: 'd-hostile002', hostId: 'syn-good2', events: 1000, batchSize: 100 });
    const client = createClickHouse(stack.config);
    try {
      await eventually('the good batches stored', async () => ((await storedCount(client, db, 'd-hostile002', 'syn-good2')).distinct >= 1000 ? true : undefined), 60_000, 250);
      await sleep(1000);
      assert.deepEqual(await storedCount(client, db, 'd-hostile002', 'syn-good2'), { rows: 1000, distinct: 1000, minSeq: 0, maxSeq: 999 });
      // Each edge record stored as given: the u64 wall ns and txn key whole, the bytes of a string without NUL up to its size.
      const rs = await client.query({ query: `SELECT toString(seq) AS seq, toString(ts_ns) AS ts, txn, length(s0) AS venue_bytes, length(comm) AS comm_bytes FROM ${db}.probe_events WHERE deployment = 'd-hostile002' AND host = 'syn-edge' ORDER BY seq`, format: 'JSONEachRow' });
      assert.deepEqual(await rs.json(), [
        { seq: '0', ts: '18446744073709551615', txn: '18446744073709551615', venue_bytes: '16', comm_bytes: '16' },
        { seq: '1', ts: '0', txn: '18446744073709551615', venue_bytes: '16', comm_bytes: '16' },
        { seq: '2', ts: '9223372036854775808', txn: '18446744073709551615', venue_bytes: '16', comm_bytes: '16' },
      ]);
    } finally {
      await client.close();
    }
    const m = await (await fetch('http://127.0.0.1:27020/metrics')).text();
    const value = (name: string) => Number(m.split('\n').find((l) => l.startsWith(`${name} `))?.split(' ')[1] ?? NaN);
    assert.equal(value('tapfleet_ingest_insert_errors_total'), 0, 'no insert failed');
    assert.equal(value('tapfleet_ingest_dead_lettered_total'), 0, 'every record fit its layout');
  });

  // ClickHouse 18.16 gives a day past 2106 1970-01-01's partition id with another value: with the
  // day-0 row above stored, an insert holding one failed on every retry and held every batch
  // behind it (code 246). The day is clamped to 2105-12-31; ts_ns and at_ms keep the exact time.
  test('wall times past ClickHouse\'s last date (2120, 2149, 2200) beside a stored 1970 row, and a status sent in year 275760: all stored, nothing blocked', async () => {
    const js = jetstream(nc);
    const ev = bundle.manifest.events[0]!;
    const data = new Uint8Array(ev.size);
    new DataView(data.buffer).setUint32(0, ev.id, true);
    const nsAt = (iso: string) => BigInt(Date.parse(iso)) * 1_000_000n;
    const late = [nsAt('2120-01-01T00:00:00Z'), nsAt('2149-06-06T12:00:00Z'), nsAt('2200-07-01T00:00:00Z'), 0n].map((wallNs) => ({ wallNs, data }));
    await js.publish(eventsSubject('d-hostile003', 'syn-late'), encodeEventBatch(header('d-hostile003', 'syn-late', 0, late.length), late));
    const status: AgentDeploymentStatus = { hostId: 'syn-late', bootId: BOOT, agentVersion: 'hostile', sentAtMs: MAX_EPOCH_MS, deploymentId: 'd-hostile003', bundleId: bundle.manifest.bundleId, state: 'running', probes: [], runnerRestarts: 0 };
    await js.publish(statusSubject('syn-late'), JSON.stringify(status));
    await publishSynthetic(js, bundle, { deploymentId: 'd-hostile003', hostId: 'syn-good3', events: 1000, batchSize: 100 });
    const client = createClickHouse(stack.config);
    try {
      await eventually('the good batches stored', async () => ((await storedCount(client, db, 'd-hostile003', 'syn-good3')).distinct >= 1000 ? true : undefined), 60_000, 250);
      const rows = async (query: string) => (await client.query({ query, format: 'JSONEachRow' })).json();
      assert.deepEqual(await rows(`SELECT toString(seq) AS seq, toString(date) AS date, toString(ts_ns) AS ts FROM ${db}.probe_events WHERE deployment = 'd-hostile003' AND host = 'syn-late' ORDER BY seq`), [
        { seq: '0', date: '2105-12-31', ts: String(late[0]!.wallNs) },
        { seq: '1', date: '2105-12-31', ts: String(late[1]!.wallNs) },
        { seq: '2', date: '2105-12-31', ts: String(late[2]!.wallNs) },
        { seq: '3', date: '0000-00-00', ts: '0' },
      ]);
      const st = await eventually('the status stored', async () => {
        const r = await rows(`SELECT toString(date) AS date, toString(at_ms) AS at FROM ${db}.agent_status WHERE deployment = 'd-hostile003'`);
        return r.length ? r : undefined;
      }, 30_000, 250);
      assert.deepEqual(st, [{ date: '2105-12-31', at: String(MAX_EPOCH_MS) }]);
    } finally {
      await client.close();
    }
    const m = await (await fetch('http://127.0.0.1:27020/metrics')).text();
    assert.equal(Number(m.split('\n').find((l) => l.startsWith('tapfleet_ingest_insert_errors_total '))?.split(' ')[1] ?? NaN), 0, 'no insert failed');
  });
  // Valid to their schemas, refused by ClickHouse on every retry: JSON.stringify writes a lone
  // UTF-16 surrogate as `\ud800`, which ClickHouse's JSON reader refuses (code 25), and a UInt64
  // column refuses `-5` (code 72). Each insert of a fetch holding one failed and nak'ed the whole
  // fetch: every host's statuses (and snapshots) stayed out of ClickHouse for good.
  test('a status and snapshots ClickHouse refuses (a lone UTF-16 surrogate in a reason, a cause and a map key; a negative count): dead-lettered with ClickHouse\'s error, every good one stored', async () => {
    const js = jetstream(nc);
    const letters: { subject: string; reason: string }[] = [];
    const sub = nc.subscribe('tapfleet.dlq.>');
    void (async () => {
      for await (const m of sub) letters.push({ subject: m.subject, reason: m.headers?.get(DEAD_LETTER_REASON_HEADER) ?? '' });
    })();
    const now = Date.now();
    const status = (hostId: string, extra: Partial<AgentDeploymentStatus>): AgentDeploymentStatus => ({ hostId, bootId: BOOT, agentVersion: 'hostile', sentAtMs: now, deploymentId: 'd-hostile004', bundleId: bundle.manifest.bundleId, state: 'running', probes: [], runnerRestarts: 0, ...extra });
    const snapshot = (hostId: string, entry: AggregationSnapshot['maps'][number]['entries'][number]): AggregationSnapshot => ({ hostId, bootId: BOOT, agentVersion: 'hostile', sentAtMs: now, deploymentId: 'd-hostile004', bundleId: bundle.manifest.bundleId, maps: [{ name: '@lat', entries: [entry] }] });
    await js.publish(statusSubject('syn-badst'), JSON.stringify(status('syn-badst', { state: 'failed', reason: 'bad \ud800', outages: [{ kind: 'runner', fromMs: now - 1000, toMs: now, cause: '\udbff', resolution: 'restarted' }] })));
    await js.publish(aggsSubject('d-hostile004', 'syn-badag1'), JSON.stringify(snapshot('syn-badag1', { key: ['\ud83d'], value: '1' })));
    await js.publish(aggsSubject('d-hostile004', 'syn-badag2'), JSON.stringify(snapshot('syn-badag2', { key: ['k'], value: '1', count: '-5', buckets: ['-1'] })));
    for (const h of ['syn-okst1', 'syn-okst2']) await js.publish(statusSubject(h), JSON.stringify(status(h, { reason: 'fine ± µs 漢字 \ud83d\ude00' })));
    await js.publish(aggsSubject('d-hostile004', 'syn-okag'), JSON.stringify(snapshot('syn-okag', { key: ['fine 漢字'], value: '7', count: '2' })));
    const client = createClickHouse(stack.config);
    try {
      const rows = async (query: string) => (await client.query({ query, format: 'JSONEachRow' })).json();
      const st = await eventually('the good statuses stored', async () => {
        const r = await rows(`SELECT host, reason FROM ${db}.agent_status WHERE deployment = 'd-hostile004' ORDER BY host`);
        return r.length >= 2 ? r : undefined;
      }, 30_000, 250);
      assert.deepEqual(st, [{ host: 'syn-okst1', reason: 'fine ± µs 漢字 \ud83d\ude00' }, { host: 'syn-okst2', reason: 'fine ± µs 漢字 \ud83d\ude00' }]);
      const ag = await eventually('the good snapshot stored', async () => {
        const r = await rows(`SELECT host, key, value, count FROM ${db}.aggregation_snapshots WHERE deployment = 'd-hostile004' ORDER BY host`);
        return r.length ? r : undefined;
      }, 30_000, 250);
      assert.deepEqual(ag, [{ host: 'syn-okag', key: ['fine 漢字'], value: '7', count: '2' }]);
      const refused = await eventually('the refused ones dead-lettered', async () => (letters.length >= 3 ? letters : undefined), 30_000, 250);
      assert.deepEqual(refused.map((l) => l.subject).sort(), [deadLetterSubject('aggs'), deadLetterSubject('aggs'), deadLetterSubject('status')]);
      for (const l of refused) assert.match(l.reason, /^ClickHouse refused this message's rows: .*(surrogate|Unsigned type must not contain)/, l.reason);
    } finally {
      sub.unsubscribe();
      await client.close();
    }
    const m = await (await fetch('http://127.0.0.1:27020/metrics')).text();
    assert.equal(Number(m.split('\n').find((l) => l.startsWith('tapfleet_ingest_dead_lettered_total '))?.split(' ')[1] ?? NaN), 3);
  });
});
