import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { jetstream } from '@nats-io/jetstream';
import { Kafka, logLevel } from 'kafkajs';
import { connectNats, type NatsConnection } from '@tapfleet/runtime';
import type { Bundle } from '@tapfleet/schemas';
import { eventually, FleetStack } from '../fleet/fleet-harness.js';
import { orderBundle, publishSynthetic, storeBundle } from './ingest-harness.js';

interface Mirrored { event: string; host: string; seq: number; txn: string; fields: Record<string, string | number> }

describe('Kafka mirror: a real Apache Kafka 4 broker (KRaft), fetched from Maven Central', () => {
  const stack = new FleetStack(30000, 30010);
  const topic = 'tapfleet.events.test';
  const brokers = [`127.0.0.1:${stack.config.kafka.port}`];
  let nc: NatsConnection;
  let bundle: Bundle;

  before(async () => {
    await stack.up(['nats', 'clickhouse', 'redis', 'kafka']);
    bundle = await orderBundle();
    await storeBundle(stack.config, bundle);
    nc = await connectNats(stack.config, { name: 'mirror-test' });
    stack.spawnTapfleet(['ingest'], { ingest: { metricsPort: 30020, kafka: { brokers, topic } } }, 'ingest');
    await eventually('ingest healthy', async () => (await fetch('http://127.0.0.1:30020/healthz')).ok, 60_000);
  });

  after(async () => {
    await nc?.close();
    await stack.cleanup();
  });

  test('every stored event is mirrored once, keyed by its transaction key', async () => {
    const js = jetstream(nc);
    const hosts = ['mir-a', 'mir-b'];
    await Promise.all(hosts.map((hostId) => publishSynthetic(js, bundle, { deploymentId: 'd-mirror0001', hostId, events: 10_000, batchSize: 1000 })));
    const consumer = new Kafka({ clientId: 'mirror-test', brokers, logLevel: logLevel.NOTHING }).consumer({ groupId: `mirror-test-${Date.now()}` });
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
});
