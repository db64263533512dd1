import { Kafka, logLevel, type Producer } from 'kafkajs';
import type { AssemblerConfig, TxnSpanRow } from '@tapfleet/schemas';
import { kafkaSendChunks } from '@tapfleet/runtime';

/**
 * Spans to Kafka (one JSON record per span, keyed by trace id so a trace stays in one
 * partition, in order). Idempotent producer; a span re-emitted after a late event is a
 * new record with the same ids and a higher version, as in txn_spans.
 */
export class SpanMirror {
  private producer?: Producer;
  constructor(private readonly o: NonNullable<AssemblerConfig['kafka']>) {}

  async start(): Promise<void> {
    const client = new Kafka({ clientId: 'tapfleet-assembler', brokers: this.o.brokers, logLevel: logLevel.NOTHING });
    const admin = client.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: this.o.topic, numPartitions: 8 }], waitForLeaders: true }).catch(() => false);
    await admin.disconnect();
    this.producer = client.producer({ idempotent: true, maxInFlightRequests: 1 });
    await this.producer.connect();
  }

  async send(rows: readonly TxnSpanRow[]): Promise<void> {
    if (!rows.length) return;
    // In bounded sends: one flush can be tens of thousands of spans, more than a broker takes at once.
    for (const messages of kafkaSendChunks(rows.map((r) => ({ key: r.trace_id, value: JSON.stringify(r) })))) await this.producer!.send({ topic: this.o.topic, messages });
  }

  async stop(): Promise<void> {
    await this.producer?.disconnect();
  }
}
