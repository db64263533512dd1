import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { jetstream } from '@nats-io/jetstream';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { connectNats, type NatsConnection } from '@tapfleet/runtime';
import { decodeEventBatch, eventsSubject, TxnSpanRow, type Bundle } from '@tapfleet/schemas';
import { eventually, FleetStack } from '../fleet/fleet-harness.js';
import { eventDeadLetters, orderBundle, publishSynthetic, storeBundle } from './ingest-harness.js';
import { orderPathBundle, publishEvents, truthOf } from '../assembler/txn-harness.js';
import { SpanMirror } from '@tapfleet/assembler';

interface Mirrored { event: string; host: string; seq: number; txn: string; fields: Record<string, string | number> }

describe('Kafka mirror: a real Apache Kafka 4 broker (KRaft), fetched from Maven Central', () => {
  const stack = new FleetStack(30000, 30010);
  const topic = 'tapfleet.events.test';
  const brokers = [`127.0.0.1:${stack.config.kafka.port}`];
  let nc: NatsConnection;
  let bundle: Bundle;
  /** Every Kafka consumer a test made, disconnected at the end even when its test failed (else the file never exits). */
  const kafkaConsumers: Consumer[] = [];
  const kafkaConsumer = (groupPrefix: string): Consumer => {
    const c = new Kafka({ clientId: groupPrefix, brokers, logLevel: logLevel.NOTHING }).consumer({ groupId: `${groupPrefix}-${Date.now()}` });
    kafkaConsumers.push(c);
    return c;
  };

  before(async () => {
    await stack.up(['nats', 'clickhouse', 'redis', 'kafka']);
    bundle = await orderBundle();
    await storeBundle(stack.config, bundle);
    nc = await connectNats(stack.config, { name: 'mirror-test' });
    stack.spawnTapfleet(['ingest'], { ingest: { metricsPort: 30020, kafka: { brokers, topic } } }, 'ingest');
    await eventually('ingest healthy', async () => (await fetch('http://127.0.0.1:30020/healthz')).ok, 60_000);
  });

  after(async () => {
    await Promise.all(kafkaConsumers.map((c) => c.disconnect().catch(() => undefined)));
    await nc?.close();
    await stack.cleanup();
  });

  test('every stored event is mirrored once, keyed by its transaction key', async () => {
    const js = jetstream(nc);
    const hosts = ['mir-a', 'mir-b'];
    await Promise.all(hosts.map((hostId) => publishSynthetic(js, bundle, { deploymentId: 'd-mirror0001', hostId, events: 10_000, batchSize: 1000 })));
    const consumer = kafkaConsumer('mirror-test');
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen = new Map<string, number>();
    const partitionsByKey = new Map<string, Set<number>>();
    let total = 0;
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const m = JSON.parse(message.value!.toString()) as Mirrored;
        total++;
        const id = `${m.host}:${m.seq}`;
        seen.set(id, (seen.get(id) ?? 0) + 1);
        assert.equal(message.key!.toString(), m.txn, 'keyed by the transaction key');
        assert.equal(m.txn, String(m.seq), 'the synthetic txn field is the sequence');
        const key = message.key!.toString();
        const parts = partitionsByKey.get(key) ?? new Set<number>();
        parts.add(partition);
        partitionsByKey.set(key, parts);
      },
    });
    await eventually('20,000 mirrored events', () => total >= 20_000, 90_000, 200);
    await new Promise((r) => setTimeout(r, 1500)); // a duplicate would show up by now
    await consumer.disconnect();
    assert.equal(total, 20_000);
    assert.equal(seen.size, 20_000, 'each (host, seq) once');
    assert.ok([...seen.values()].every((n) => n === 1));
    assert.ok([...partitionsByKey.values()].every((p) => p.size === 1), 'one key, one partition');
    const metrics = await (await fetch('http://127.0.0.1:30020/metrics')).text();
    assert.match(metrics, /tapfleet_ingest_kafka_mirrored_total 20000/);
  });

  test('a batch with a record that fits no layout: the rest are mirrored, the misfit counted and dead-lettered once (ingest finds it too)', async () => {
    const metric = async (name: string) => {
      const text = await (await fetch('http://127.0.0.1:30020/metrics')).text();
      return Number(text.split('\n').find((l) => l.startsWith(`${name} `))?.split(' ')[1] ?? NaN);
    };
    const mirroredBefore = await metric('tapfleet_ingest_kafka_mirrored_total');
    const subject = eventsSubject('d-mirrormis1', 'mir-f');
    await publishSynthetic(jetstream(nc), bundle, { deploymentId: 'd-mirrormis1', hostId: 'mir-f', events: 10, misfits: [4] });
    const consumer = kafkaConsumer('mirror-misfit-test');
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const seqs: number[] = [];
    await consumer.run({
      eachMessage: async ({ message }) => {
        const m = JSON.parse(message.value!.toString()) as Mirrored & { deployment: string };
        if (m.deployment === 'd-mirrormis1') seqs.push(m.seq);
      },
    });
    await eventually('9 mirrored events', () => seqs.length >= 9, 60_000, 200);
    await eventually('the mirror counted the misfit', async () => (await metric('tapfleet_ingest_misfit_records_total{consumer="kafka-mirror"}')) === 1, 20_000);
    await new Promise((r) => setTimeout(r, 1500)); // a duplicate or a garbled misfit would show up by now
    await consumer.disconnect();
    assert.deepEqual(seqs.sort((a, b) => a - b), [0, 1, 2, 3, 5, 6, 7, 8, 9], 'every record but the misfit, once');
    assert.equal(await metric('tapfleet_ingest_kafka_mirrored_total'), mirroredBefore + 9);
    assert.equal(await metric('tapfleet_ingest_misfit_records_total{consumer="ingest-events"}'), 1, 'ingest found it too (and stored the rest)');
    const letters = await eventDeadLetters(nc, subject);
    assert.equal(letters.length, 1, 'one dead letter, though two readers found the misfit');
    assert.match(letters[0]!.reason, /record 4 \(seq 4\) is 12 bytes; event order is \d+$/);
    const dead = decodeEventBatch(letters[0]!.data);
    assert.deepEqual([dead.header.firstSeq, dead.header.count, dead.records[0]!.data.length], [4, 1, 12]);
  });

  test('one flush of spans far larger than a broker takes in one request reaches Kafka whole, in order per trace', async () => {
    const spansTopic = 'tapfleet.spans.bigflush';
    const mirror = new SpanMirror({ brokers, topic: spansTopic });
    await mirror.start();
    const hex = (n: number, bytes: number) => n.toString(16).padStart(bytes * 2, '0');
    // 20,000 spans of ~1 KB: ~20 MB in one send() call, ~2.5 MB a partition (the broker's limit is 1 MiB).
    const rows: TxnSpanRow[] = Array.from({ length: 20_000 }, (_, i) => TxnSpanRow.parse({
      date: '2026-12-02', deployment: 'd-bigflush01', txn: String(i), trace_id: hex(i % 500, 16), span_id: hex(i, 8), parent_span_id: '',
      kind: 'txn', name: 'order', host: 'gw', from_host: 'gw', to_host: 'gw', from_event: 'a', to_event: 'b',
      start_ns: '1', end_ns: '2', duration_ns: '1', error_bound_ns: '0', events: 2, attr_names: ['pad'], attr_values: ['x'.repeat(800)], version: String(i),
    }));
    await mirror.send(rows);
    await mirror.stop();
    const consumer = kafkaConsumer('bigflush');
    await consumer.connect();
    await consumer.subscribe({ topic: spansTopic, fromBeginning: true });
    const lastSpanOfTrace = new Map<string, number>();
    let seen = 0;
    let outOfOrder = 0;
    await consumer.run({
      eachMessage: async ({ message }) => {
        const row = TxnSpanRow.parse(JSON.parse(message.value!.toString()));
        const span = Number.parseInt(row.span_id, 16);
        if ((lastSpanOfTrace.get(row.trace_id) ?? -1) > span) outOfOrder++;
        lastSpanOfTrace.set(row.trace_id, span);
        seen++;
      },
    });
    await eventually('all 20,000 spans in Kafka', () => seen >= 20_000 || undefined, 120_000);
    await consumer.disconnect();
    assert.equal(seen, 20_000);
    assert.equal(outOfOrder, 0, 'a trace\'s spans arrive in the order sent');
  });

  test('the assembler mirrors every span to Kafka when its mirror is on: one record per span, keyed by trace id', async () => {
    const spansTopic = 'tapfleet.spans.test';
    const pathBundle = await orderPathBundle();
    await storeBundle(stack.config, pathBundle);
    stack.spawnTapfleet(['assembler'], { assembler: { metricsPort: 30021, quietMs: 300, kafka: { brokers, topic: spansTopic } } }, 'assembler');
    await eventually('assembler healthy', async () => (await fetch('http://127.0.0.1:30021/healthz')).ok, 60_000);
    const js = jetstream(nc);
    const dep = 'd-spanmir01';
    const base = BigInt(Date.now()) * 1_000_000n;
    const orders = Array.from({ length: 200 }, (_, i) => truthOf(base, i));
    await publishEvents(js, pathBundle, dep, { hostId: 'gw-m', offsetNs: 0n, uncertaintyNs: 100_000 }, orders.map((t, i) => ({ event: 'gw_out', txn: i, trueNs: t.gwOut })), 0);
    await publishEvents(js, pathBundle, dep, { hostId: 'risk-m', offsetNs: 0n, uncertaintyNs: 100_000 }, orders.flatMap((t, i) => [{ event: 'risk_in', txn: i, trueNs: t.riskIn }, { event: 'risk_out', txn: i, trueNs: t.riskOut }]), 0);
    const consumer = kafkaConsumer('span-mirror-test');
    await consumer.connect();
    await consumer.subscribe({ topic: spansTopic, fromBeginning: true });
    const spans = new Map<string, TxnSpanRow>();
    let records = 0;
    await consumer.run({
      eachMessage: async ({ message }) => {
        const row = TxnSpanRow.parse(JSON.parse(message.value!.toString()));
        assert.equal(message.key!.toString(), row.trace_id, 'keyed by trace id');
        // The stream also holds the first test's events (their txn field is set): count this deployment's.
        if (row.deployment !== dep) return;
        records++;
        spans.set(row.span_id, row);
      },
    });
    // Each order: a root, two hops, the latency span of risk_out.
    await eventually('800 spans mirrored', () => spans.size >= 800, 60_000, 200);
    await new Promise((r) => setTimeout(r, 1500));
    await consumer.disconnect();
    assert.equal(spans.size, 800);
    assert.equal(records, 800, 'each span once');
    assert.equal([...spans.values()].filter((r) => r.kind === 'txn' && r.deployment === dep).length, 200);
    const metrics = await (await fetch('http://127.0.0.1:30021/metrics')).text();
    const mirrored = Number(/tapfleet_assembler_kafka_mirrored_spans_total (\d+)/.exec(metrics)?.[1]);
    assert.ok(mirrored >= 800, `the mirror counted ${mirrored} spans`);
  });
});
