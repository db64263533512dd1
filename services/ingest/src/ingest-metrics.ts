import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { createMetricsRegistry, promMetrics } from '@tapfleet/runtime';

export interface IngestMetrics {
  registry: Registry;
  rowsInserted: Counter;
  eventsDecoded: Counter;
  insertSeconds: Histogram;
  insertErrors: Counter;
  deadLettered: Counter;
  misfitRecords: Counter<'consumer'>;
  duplicatesSkipped: Counter;
  clickhouseUp: Gauge;
  lag: Gauge<'consumer'>;
  otherRows: Counter<'table'>;
  mirrored: Counter;
}

export function createIngestMetrics(): IngestMetrics {
  const { Counter, Gauge, Histogram } = promMetrics();
  const registry = createMetricsRegistry('tapfleet_ingest_process_');
  const r = [registry];
  return {
    registry,
    rowsInserted: new Counter({ name: 'tapfleet_ingest_event_rows_inserted_total', help: 'probe_events rows ClickHouse confirmed (rate = rows/s)', registers: r }),
    eventsDecoded: new Counter({ name: 'tapfleet_ingest_events_decoded_total', help: 'Events decoded from batches', registers: r }),
    insertSeconds: new Histogram({ name: 'tapfleet_ingest_insert_seconds', help: 'Latency of one ClickHouse insert (one fetch of batches)', buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10], registers: r }),
    insertErrors: new Counter({ name: 'tapfleet_ingest_insert_errors_total', help: 'Inserts that failed (their batches stay in the stream)', registers: r }),
    deadLettered: new Counter({ name: 'tapfleet_ingest_dead_lettered_total', help: 'Malformed messages sent to the dead-letter subject', registers: r }),
    misfitRecords: new Counter({ name: 'tapfleet_ingest_misfit_records_total', help: 'Event records that fit no layout of their bundle, by consumer: left out (not stored, not mirrored) and dead-lettered', labelNames: ['consumer'], registers: r }),
    duplicatesSkipped: new Counter({ name: 'tapfleet_ingest_duplicate_rows_skipped_total', help: 'Rows of redelivered batches that were already stored', registers: r }),
    clickhouseUp: new Gauge({ name: 'tapfleet_ingest_clickhouse_up', help: '0 while inserts fail and ingest backs off', registers: r }),
    lag: new Gauge({ name: 'tapfleet_ingest_consumer_lag_messages', help: 'Messages not yet delivered to the consumer (JetStream num_pending)', labelNames: ['consumer'], registers: r }),
    otherRows: new Counter({ name: 'tapfleet_ingest_rows_inserted_total', help: 'Rows inserted into the other tables', labelNames: ['table'], registers: r }),
    mirrored: new Counter({ name: 'tapfleet_ingest_kafka_mirrored_total', help: 'Events produced to Kafka by the mirror', registers: r }),
  };
}
