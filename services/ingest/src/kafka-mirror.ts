import { type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import type { Redis } from 'ioredis';
import { ackAfterWork, deadLetterMisfits, ensureDurableConsumer, JetStreamPull, kafkaSendChunks, readBatchMessage, type Logger } from '@tapfleet/runtime';
import { batchMsgId, decodeRecord, EventLayouts, EVENTS_FILTER, EVENTS_STREAM, fitBatch, INGEST_CONSUMERS, jsonSafe, scannedWallNs, type IngestConfig } from '@tapfleet/schemas';
import type { BundleManifests } from './bundle-manifests.js';
import type { IngestMetrics } from './ingest-metrics.js';

export const MIRROR_CONSUMER = INGEST_CONSUMERS.kafkaMirror.name;
const MIRRORED_TTL_S = 86_400;

/**
 * Mirrors events to Kafka, one record per event, keyed by its transaction key (so one
 * order's lifecycle stays in one partition, in order), else by host and sequence.
 * Its own durable consumer, so Kafka being slow or down never holds ClickHouse back.
 * The producer is idempotent (no duplicates from its retries); a batch redelivered
 * after its send succeeded is recognised by its id in Redis and skipped. A NATS
 * message is acked only after Kafka acknowledged all its records. A batch ingest
 * dead-letters (malformed, forged, of an unknown bundle) is not mirrored. Records that fit no
 * layout of their bundle are counted and dead-lettered (as ingest does, under the same
 * message ids: one copy), and the batch's other records mirrored.
 */
export class KafkaMirror {
  private producer?: Producer;
  private pull?: JetStreamPull;
  private readonly layouts = new Map<string, EventLayouts>();

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
    await ensureDurableConsumer(this.jsm, EVENTS_STREAM, { name: MIRROR_CONSUMER, filterSubject: EVENTS_FILTER, ackWaitMs: 30_000 });
    this.pull = new JetStreamPull({
      name: MIRROR_CONSUMER,
      open: () => this.js.consumers.get(EVENTS_STREAM, MIRROR_CONSUMER),
      maxMessages: 20,
      expiresMs: 1000,
      retry: { firstMs: 500, maxMs: 500 },
      read: ackAfterWork((m) => this.mirror(m), 2000, this.log, 'mirror to Kafka'),
      log: this.log,
    });
    this.pull.start();
  }

  private async mirror(m: JsMsg): Promise<void> {
    const read = await readBatchMessage(m.subject, m.data, this.manifests);
    if (read.kind === 'retry') throw new Error('the bundles store did not answer');
    if (read.kind === 'malformed') return; // ingest dead-letters it; nothing to mirror
    const { batch, manifest } = read;
    const id = `tf:mirrored:${batchMsgId(batch.header)}`;
    if (m.info.deliveryCount > 1 && (await this.redis.exists(id))) return;
    const layouts = this.layouts.get(manifest.bundleId) ?? this.layouts.set(manifest.bundleId, EventLayouts.of(manifest)).get(manifest.bundleId)!;
    const fit = fitBatch(batch, layouts);
    if (fit.misfits.length) {
      // Before the send: a send that fails brings the message back, and its dead letters are stored once.
      if (m.info.deliveryCount === 1) this.metrics.misfitRecords.inc({ consumer: MIRROR_CONSUMER }, fit.misfits.length);
      this.log.warn({ subject: m.subject, misfits: fit.misfits.length, first: fit.misfits[0]!.reason }, 'records that fit no layout dead-lettered, not mirrored');
      this.metrics.deadLettered.inc(await deadLetterMisfits(this.js, m.subject, batch, fit.misfits));
    }
    const h = batch.header;
    const messages = fit.layouts.flatMap((layout, i) => {
      if (!layout) return [];
      const fields = decodeRecord(batch.view, batch.at[i]!, layout);
      const seq = h.firstSeq + i;
      const txn = layout.txnField ? String(fields[layout.txnField]) : '';
      return [{
        key: txn || `${h.hostId}:${h.bootId}:${seq}`,
        value: JSON.stringify({ event: layout.name, deployment: h.deploymentId, host: h.hostId, bootId: h.bootId, seq, tsNs: scannedWallNs(batch, i).toString(), txn, fields }, jsonSafe),
        headers: { deployment: h.deploymentId, host: h.hostId, seq: String(seq) },
      }];
    });
    // In bounded sends (a batch's events as JSON can pass a broker's request limit); a failure
    // part-way brings the message back, and a redelivered part is a duplicate Kafka consumers see
    // with the same deployment/host/seq headers.
    for (const chunk of kafkaSendChunks(messages)) await this.producer!.send({ topic: this.kafka.topic, acks: -1, messages: chunk });
    await this.redis.set(id, '1', 'EX', MIRRORED_TTL_S);
    this.metrics.mirrored.inc(messages.length);
  }

  async stop(): Promise<void> {
    await this.pull?.stop();
    await this.producer?.disconnect();
  }
}
