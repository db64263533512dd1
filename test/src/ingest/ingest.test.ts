import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { jetstream, jetstreamManager, DeliverPolicy } from '@nats-io/jetstream';
import { lossReport } from '@tapfleet/control-plane';
import { migrate, clickHouseRunner, applyRetention } from '@tapfleet/ingest';
import { connectNats, DEAD_LETTER_ORIGIN_HEADER, type NatsConnection } from '@tapfleet/runtime';
import { DEAD_LETTER_REASON_HEADER, DEAD_LETTER_STREAM, deadLetterSubject, decodeEventBatch, encodeEventBatch, EVENTS_DEAD_LETTER_ORIGIN, eventsSubject, statusSubject, type AgentDeploymentStatus, type Bundle, type EventBatchHeader } from '@tapfleet/schemas';
import { eventually, FleetStack, sleep } from '../fleet/fleet-harness.js';
import { BOOT, createClickHouse, eventDeadLetters, orderBundle, publishSynthetic, storeBundle, storedCount } from './ingest-harness.js';

describe('ingest: JetStream -> ClickHouse, exactly once, on real servers', () => {
  const stack = new FleetStack(27000, 27010);
  const db = stack.config.clickhouse.database;
  let bundle: Bundle;
  let nc: NatsConnection;
  let ingest: ChildProcess;
  const ch = () => createClickHouse(stack.config);
  const startIngest = () => stack.spawnTapfleet(['ingest'], { ingest: { metricsPort: 27020, fetchWaitMs: 200 } }, 'ingest');
  const metric = async (name: string, port = 27020) => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return Number(text.split('\n').find((l) => l.startsWith(`${name} `))?.split(' ')[1] ?? NaN);
  };
  const exactlyOnce = async (deploymentId: string, hostId: string, n: number, timeoutMs = 120_000) => {
    const client = ch();
    try {
      const c = await eventually(`${n} events of ${deploymentId}/${hostId} stored`, async () => {
        const s = await storedCount(client, db, deploymentId, hostId);
        return s.distinct >= n ? s : undefined;
      }, timeoutMs, 250);
      await sleep(500); // anything duplicated would have landed by now
      const settled = await storedCount(client, db, deploymentId, hostId);
      assert.deepEqual(settled, { rows: n, distinct: n, minSeq: 0, maxSeq: n - 1 }, `stored exactly once: ${JSON.stringify(c)}`);
    } finally {
      await client.close();
    }
  };

  before(async () => {
    await stack.up(['nats', 'clickhouse', 'redis']);
    bundle = await orderBundle();
    await storeBundle(stack.config, bundle);
    nc = await connectNats(stack.config, { name: 'ingest-test-publisher' });
    ingest = startIngest();
    await eventually('ingest /healthz', async () => (await fetch('http://127.0.0.1:27020/healthz')).ok, 30_000);
  });

  after(async () => {
    await nc?.close();
    await stack.cleanup();
  });

  test('migrations: applied on start; running them again is a no-op; retention drops only old days', async () => {
    const admin = createClickHouse(stack.config, { database: 'default' });
    try {
      const again = await migrate(clickHouseRunner(admin), db);
      assert.deepEqual(again.applied, []);
      assert.match(again.serverVersion, /^18\.16\./);
      const sql = clickHouseRunner(admin);
      await sql.command(`INSERT INTO ${db}.agent_status (date, at_ms, deployment, host, boot_id, state) VALUES ('2020-01-01', 1, 'd-old0000000', 'h', 'b', 'running'), (today(), 2, 'd-new0000000', 'h', 'b', 'running')`);
      const dropped = await applyRetention(sql, db, { agent_status: 30 });
      assert.deepEqual(dropped, [{ table: 'agent_status', dropped: ['20200101'] }]);
      const left = await sql.rows<{ deployment: string }>(`SELECT deployment FROM ${db}.agent_status WHERE deployment IN ('d-old0000000', 'd-new0000000')`);
      assert.deepEqual(left.map((r) => r.deployment), ['d-new0000000']);
    } finally {
      await admin.close();
    }
  });

  test('1,000,000 events from a synthetic publisher arrive exactly once (count and per-host sequence ranges)', async () => {
    const js = jetstream(nc);
    await Promise.all([
      publishSynthetic(js, bundle, { deploymentId: 'd-million001', hostId: 'syn-a', events: 500_000 }),
      publishSynthetic(js, bundle, { deploymentId: 'd-million001', hostId: 'syn-b', events: 500_000 }),
    ]);
    await exactlyOnce('d-million001', 'syn-a', 500_000);
    await exactlyOnce('d-million001', 'syn-b', 500_000);
    const client = ch();
    try {
      const rs = await client.query({ query: `SELECT probe, txn, n0 AS qty, latency_ns, s0 AS venue FROM ${db}.probe_events WHERE deployment = 'd-million001' AND host = 'syn-a' AND seq = 12345`, format: 'JSONEachRow' });
      const [row] = await rs.json<{ probe: string; txn: string; qty: string; latency_ns: string; venue: string }>();
      assert.deepEqual(row, { probe: 'tracepoint:syscalls:sys_enter_getpid', txn: '12345', qty: '12345', latency_ns: '12345', venue: 'synthetic' }, 'typed fields in their slots, txn and latency extracted');
    } finally {
      await client.close();
    }
  });

  test('the ingest process killed mid-stream and restarted: still exactly once', async () => {
    const js = jetstream(nc);
    const publishing = publishSynthetic(js, bundle, { deploymentId: 'd-killed0001', hostId: 'syn-k', events: 300_000, pauseMs: 2 });
    const before = await metric('tapfleet_ingest_event_rows_inserted_total');
    await eventually('some rows inserted', async () => (await metric('tapfleet_ingest_event_rows_inserted_total')) > before + 20_000, 60_000, 50);
    await stack.stopChild(ingest, 'SIGKILL');
    await sleep(500);
    ingest = startIngest();
    await publishing;
    await exactlyOnce('d-killed0001', 'syn-k', 300_000);
  });

  test('ClickHouse stopped for ten seconds mid-stream and restarted: still exactly once', async () => {
    const js = jetstream(nc);
    const publishing = publishSynthetic(js, bundle, { deploymentId: 'd-chdown0001', hostId: 'syn-c', events: 200_000, batchSize: 1000, pauseMs: 100 });
    await eventually('rows of the stream arriving', async () => (await storedCount(ch(), db, 'd-chdown0001', 'syn-c')).distinct > 5_000, 60_000, 100);
    await stack.down(['clickhouse']);
    try {
      await sleep(10_000);
    } finally {
      await stack.up(['clickhouse']);
    }
    await publishing;
    await exactlyOnce('d-chdown0001', 'syn-c', 200_000);
    assert.ok((await metric('tapfleet_ingest_insert_errors_total')) > 0);
  });

  test('malformed messages land in the dead-letter subject with a reason; good ones around them are stored', async () => {
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const dlqBefore = (await jsm.streams.info(DEAD_LETTER_STREAM)).state.messages;
    const subject = eventsSubject('d-malformed1', 'syn-m');
    const header = (firstSeq: number, extra: Partial<EventBatchHeader> = {}): EventBatchHeader => ({ v: 1, hostId: 'syn-m', bootId: BOOT, deploymentId: 'd-malformed1', bundleId: bundle.manifest.bundleId, kernelBuildId: bundle.manifest.kernel.buildId, firstSeq, count: 1, clock: { offsetNs: 0, uncertaintyNs: 1 }, ...extra });
    await publishSynthetic(js, bundle, { deploymentId: 'd-malformed1', hostId: 'syn-m', events: 1000, batchSize: 500 });
    await js.publish(subject, new TextEncoder().encode('not a batch at all'));
    await js.publish(subject, encodeEventBatch(header(5000, { bundleId: 'ee'.repeat(32) }), [{ wallNs: 1n, data: new Uint8Array(bundle.manifest.events[0]!.size) }]));
    await js.publish(subject, encodeEventBatch(header(6000), [{ wallNs: 1n, data: new Uint8Array(12) }]));
    await js.publish(subject, encodeEventBatch(header(7000), [{ wallNs: 1n, data: new Uint8Array(bundle.manifest.events[0]!.size) }]).subarray(0, 30));
    // A well-formed batch whose header names another host than its subject (injected events under a real host's id).
    await js.publish(subject, encodeEventBatch(header(8000, { hostId: 'syn-other' }), [{ wallNs: 1n, data: new Uint8Array(bundle.manifest.events[0]!.size) }]));
    await js.publish(subject, encodeEventBatch(header(9000, { deploymentId: 'd-elsewhere1' }), [{ wallNs: 1n, data: new Uint8Array(bundle.manifest.events[0]!.size) }]));
    await publishSynthetic(js, bundle, { deploymentId: 'd-malformed1', hostId: 'syn-m', events: 1000, firstSeq: 1000, batchSize: 500 });
    await exactlyOnce('d-malformed1', 'syn-m', 2000);
    const dead = await eventually('6 dead letters', async () => ((await jsm.streams.info(DEAD_LETTER_STREAM)).state.messages - dlqBefore >= 6 ? true : undefined), 20_000);
    assert.ok(dead);
    const consumer = await js.consumers.get(DEAD_LETTER_STREAM, { deliver_policy: DeliverPolicy.All, filter_subjects: deadLetterSubject(EVENTS_DEAD_LETTER_ORIGIN) });
    const reasons: string[] = [];
    for await (const m of await consumer.fetch({ max_messages: 6, expires: 5000 })) {
      assert.equal(m.headers?.get(DEAD_LETTER_ORIGIN_HEADER), subject);
      reasons.push(m.headers?.get(DEAD_LETTER_REASON_HEADER) ?? '');
      if (reasons.length === 6) break;
    }
    assert.equal(reasons.length, 6);
    assert.ok(reasons.some((r) => /TFB1 magic/.test(r)), reasons.join(' | '));
    assert.ok(reasons.some((r) => /is not in the object store/.test(r)));
    assert.ok(reasons.some((r) => /is 12 bytes; event order is \d+/.test(r)));
    assert.ok(reasons.some((r) => /past the end|truncated|runs past/.test(r)));
    assert.ok(reasons.some((r) => /host 'syn-other' in the message differs from the subject's host 'syn-m'/.test(r)), reasons.join(' | '));
    assert.ok(reasons.some((r) => /deployment 'd-elsewhere1' in the message differs/.test(r)), reasons.join(' | '));
    assert.equal(await metric('tapfleet_ingest_dead_lettered_total'), 6);
  });

  test('a batch with records that fit no layout: the rest are stored, the misfits dead-lettered as a batch of their own and counted', async () => {
    const js = jetstream(nc);
    const subject = eventsSubject('d-misfit0001', 'syn-f');
    const deadBefore = await metric('tapfleet_ingest_dead_lettered_total');
    // The 12-byte record of the test before was a misfit too (its batch's only record).
    const misfitsBefore = (await metric('tapfleet_ingest_misfit_records_total{consumer="ingest-events"}')) || 0;
    await publishSynthetic(js, bundle, { deploymentId: 'd-misfit0001', hostId: 'syn-f', events: 10, misfits: [4] });
    const client = ch();
    try {
      await eventually('the 9 records that fit stored', async () => ((await storedCount(client, db, 'd-misfit0001', 'syn-f')).distinct >= 9 ? true : undefined), 30_000, 100);
      await sleep(500); // a late row of the misfit would have landed by now
      assert.deepEqual(await storedCount(client, db, 'd-misfit0001', 'syn-f'), { rows: 9, distinct: 9, minSeq: 0, maxSeq: 9 });
      const rs = await client.query({ query: `SELECT count() AS n FROM ${db}.probe_events WHERE deployment = 'd-misfit0001' AND seq = 4`, format: 'JSONEachRow' });
      assert.deepEqual(await rs.json(), [{ n: '0' }], 'the misfit is not stored');
    } finally {
      await client.close();
    }
    const [letter, ...more] = await eventually('the dead letter', async () => {
      const letters = await eventDeadLetters(nc, subject);
      return letters.length ? letters : undefined;
    });
    assert.equal(more.length, 0);
    assert.match(letter!.reason, /^1 of the batch's 10 records fit no layout of their bundle; .*record 4 \(seq 4\) is 12 bytes; event order is \d+$/);
    const dead = decodeEventBatch(letter!.data);
    assert.deepEqual([dead.header.firstSeq, dead.header.count, dead.header.hostId, dead.records[0]!.data.length], [4, 1, 'syn-f', 12], 'only the misfit, as a batch of its own');
    assert.equal(await metric('tapfleet_ingest_misfit_records_total{consumer="ingest-events"}'), misfitsBefore + 1);
    assert.equal(await metric('tapfleet_ingest_dead_lettered_total'), deadBefore + 1);
  });

  test('loss accounting reconciles what the agent reported with what ClickHouse stores', async () => {
    const js = jetstream(nc);
    const status: AgentDeploymentStatus = {
      hostId: 'syn-a', bootId: BOOT, agentVersion: 'test', sentAtMs: Date.now(), deploymentId: 'd-million001', state: 'stopped', probes: [], runnerRestarts: 0,
      loss: { producedByKernel: 500_010, ringBufferDrops: 10, received: 500_000, malformed: 0, spooled: 1000, spoolDrops: 0, published: 500_000 },
    };
    await js.publish(statusSubject('syn-a'), JSON.stringify(status));
    const client = ch();
    try {
      const report = await eventually('the status row', async () => {
        const r = await lossReport(client, db, 'd-million001');
        return r.rows.find((x) => x.host === 'syn-a' && x.published > 0);
      }, 20_000);
      assert.deepEqual(
        { produced: report.producedByKernel, drops: report.ringBufferDrops, published: report.published, stored: report.stored, notYetStored: report.notYetStored, gaps: report.sequenceGaps, dups: report.duplicates, unaccounted: report.unaccountedInAgent },
        { produced: 500_010, drops: 10, published: 500_000, stored: 500_000, notYetStored: 0, gaps: 0, dups: 0, unaccounted: 0 },
      );
    } finally {
      await client.close();
    }
  });

  test('two ingest replicas share the work through the durable consumer, still exactly once', async () => {
    const second = stack.spawnTapfleet(['ingest'], { ingest: { metricsPort: 27021, fetchWaitMs: 200, fetchMessages: 10 } }, 'ingest-2');
    try {
      await eventually('replica 2 /healthz', async () => (await fetch('http://127.0.0.1:27021/healthz')).ok, 30_000);
      const before = [await metric('tapfleet_ingest_event_rows_inserted_total'), await metric('tapfleet_ingest_event_rows_inserted_total', 27021)];
      await publishSynthetic(jetstream(nc), bundle, { deploymentId: 'd-replicas01', hostId: 'syn-r', events: 200_000, batchSize: 1000, pauseMs: 5 });
      await exactlyOnce('d-replicas01', 'syn-r', 200_000);
      const after = [await metric('tapfleet_ingest_event_rows_inserted_total'), await metric('tapfleet_ingest_event_rows_inserted_total', 27021)];
      assert.ok(after[0]! > before[0]! && after[1]! > before[1]!, `both replicas inserted: ${before} -> ${after}`);
    } finally {
      await stack.stopChild(second);
    }
  });
});
