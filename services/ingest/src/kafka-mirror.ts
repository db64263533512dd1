import { type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import type { Redis } from 'ioredis';
import { ensureDurableConsumer, type Logger } from '@tapfleet/runtime';
import { batchMsgId, BatchFormatError, decodeEventBatch, decodeRecord, EVENTS_STREAM, INGEST_CONSUMERS, recordEventId, type IngestConfig } from '@tapfleet/schemas';
import type { BundleManifests } from './bundle-manifests.js';
import type { IngestMetrics } from './ingest-metrics.js';

export const MIRROR_CONSUMER = INGEST_CONSUMERS.kafkaMirror.name;
const MIRRORED_TTL_S = 86_400;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const jsonSafe = (_k: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v);

/**
 * Mirrors events to Kafka, one record per event, keyed by its transaction key (so one
 * order's lifecycle stays in one partition, in order), else by host and sequence.
 * Its own durable consumer, so Kafka being slow or down never holds ClickHouse back.
 * The producer is idempotent (no duplicates from its retries); a batch redelivered
 * after its send succeeded is recognised by its id in Redis and skipped. A NATS
 * message is acked only after Kafka acknowledged all its records.
 */
export class KafkaMirror {
  private producer?: Producer;
  private stopped = false;
  private loop?: Promise<void>;

  constructor(
    private readonly kafka: NonNullable<IngestConfig['kafka']>,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly redis: Redis,
    private readonly manifests: BundleManifests,
    private readonly metrics: IngestMetrics,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    const client = new Kafka({ clientId: 'tapfleet-ingest-mirror', brokers: this.kafka.brokers, logLevel: logLevel.NOTHING });
    const admin = client.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: this.kafka.topic, numPartitions: 8 }], waitForLeaders: true }).catch(() => false);
    await admin.disconnect();
    this.producer = client.producer({ idempotent: true, maxInFlightRequests: 1 });
    await this.producer.connect();
    await ensureDurableConsumer(this.jsm, EVENTS_STREAM, { name: MIRROR_CONSUMER, filterSubject: 'tapfleet.events.>', ackWaitMs: 30_000 });
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const consumer = await this.js.consumers.get(EVENTS_STREAM, MIRROR_CONSUMER);
    while (!this.stopped) {
      const msgs: JsMsg[] = [];
      try {
        for await (const m of await consumer.fetch({ max_messages: 20, expires: 1000 })) msgs.push(m);
      } catch (e) {
        this.log.warn({ err: (e as Error).message }, 'mirror fetch failed; retrying');
        await sleep(500);
        continue;
      }
      for (const m of msgs) {
        try {
          await this.mirror(m);
          m.ack();
        } catch (e) {
          this.log.warn({ err: (e as Error).message }, 'mirror to Kafka failed; the batch comes back');
          m.nak(2000);
        }
      }
    }
  }

  private async mirror(m: JsMsg): Promise<void> {
    let batch;
    try {
      batch = decodeEventBatch(m.data);
    } catch (e) {
      if (e instanceof BatchFormatError) return; // ingest dead-letters it; nothing to mirror
      throw e;
    }
    const id = `tf:mirrored:${batchMsgId(batch.header)}`;
    if (m.info.deliveryCount > 1 && (await this.redis.exists(id))) return;
    const manifest = await this.manifests.get(batch.header.bundleId);
    if (!manifest) return;
    const layouts = new Map(manifest.events.map((e) => [e.id, e]));
    const h = batch.header;
    const messages = batch.records.flatMap((r, i) => {
      const view = new DataView(r.data.buffer, r.data.byteOffset, r.data.byteLength);
      const layout = layouts.get(recordEventId(view, 0));
      if (!layout || r.data.length !== layout.size) return [];
      const fields = decodeRecord(view, 0, layout);
      const seq = h.firstSeq + i;
      const txn = layout.txnField ? String(fields[layout.txnField]) : '';
      return [{
        key: txn || `${h.hostId}:${h.bootId}:${seq}`,
        value: JSON.stringify({ event: layout.name, deployment: h.deploymentId, host: h.hostId, bootId: h.bootId, seq, tsNs: r.wallNs.toString(), txn, fields }, jsonSafe),
        headers: { deployment: h.deploymentId, host: h.hostId, seq: String(seq) },
      }];
    });
    if (messages.length) await this.producer!.send({ topic: this.kafka.topic, acks: -1, messages });
    await this.redis.set(id, '1', 'EX', MIRRORED_TTL_S);
    this.metrics.mirrored.inc(messages.length);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    await this.producer?.disconnect();
  }
}
