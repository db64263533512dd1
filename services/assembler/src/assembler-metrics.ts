import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { createMetricsRegistry, promMetrics } from '@tapfleet/runtime';
import type { CloseReason } from './transaction-table.js';

export interface AssemblerMetrics {
  registry: Registry;
  events: Counter;
  foreignEvents: Counter;
  unplaceableEvents: Counter;
  overLimitEvents: Counter;
  consumerRecreated: Counter;
  closed: Counter<'reason'>;
  evicted: Counter;
  reopened: Counter;
  historyMerged: Counter;
  historyErrors: Counter;
  spansStored: Counter;
  storeErrors: Counter;
  storeSeconds: Histogram;
  openTransactions: Gauge;
  lingeringTransactions: Gauge;
  heldMessages: Gauge;
  deadLettered: Counter;
  misfitRecords: Counter;
  exported: Counter;
  exportDropped: Counter;
  exportFailures: Counter;
  exportQueue: Gauge;
  mirrored: Counter;
}

export function createAssemblerMetrics(): AssemblerMetrics {
  const { Counter, Gauge, Histogram } = promMetrics();
  const registry = createMetricsRegistry('tapfleet_assembler_process_');
  const r = [registry];
  const closed = new Counter({ name: 'tapfleet_assembler_transactions_closed_total', help: 'Transactions closed and emitted, by why (final, quiet, max-age, max-events, evicted)', labelNames: ['reason'], registers: r });
  return {
    registry,
    events: new Counter({ name: 'tapfleet_assembler_events_total', help: 'Events with a transaction key taken by this replica', registers: r }),
    foreignEvents: new Counter({ name: 'tapfleet_assembler_events_other_partitions_total', help: 'Events with a transaction key that belong to other replicas', registers: r }),
    unplaceableEvents: new Counter({ name: 'tapfleet_assembler_events_unplaceable_total', help: 'Events skipped because their corrected time is before 1970 or past what txn_spans can hold (a broken host clock or offset)', registers: r }),
    overLimitEvents: new Counter({ name: 'tapfleet_assembler_events_over_limit_total', help: 'Events dropped because their transaction had maxEventsPerTransaction events already (a runaway key; they are in probe_events)', registers: r }),
    consumerRecreated: new Counter({ name: 'tapfleet_assembler_consumer_recreated_total', help: 'Times this replica found its partition consumer deleted under it and made it again', registers: r }),
    closed,
    evicted: new Counter({ name: 'tapfleet_assembler_transactions_evicted_total', help: 'Open transactions closed early because maxOpenTransactions was reached (oldest first)', registers: r }),
    reopened: new Counter({ name: 'tapfleet_assembler_transactions_reopened_total', help: 'Closed transactions re-opened by a late event (their spans re-emitted with the same ids)', registers: r }),
    historyMerged: new Counter({ name: 'tapfleet_assembler_history_merges_total', help: 'Transactions merged with their stored events (after a restart or a very late event)', registers: r }),
    historyErrors: new Counter({ name: 'tapfleet_assembler_history_errors_total', help: 'Failed reads of stored events (retried)', registers: r }),
    spansStored: new Counter({ name: 'tapfleet_assembler_spans_stored_total', help: 'Span rows ClickHouse confirmed in txn_spans', registers: r }),
    storeErrors: new Counter({ name: 'tapfleet_assembler_store_errors_total', help: 'Failed txn_spans inserts (retried; their messages stay unacked)', registers: r }),
    storeSeconds: new Histogram({ name: 'tapfleet_assembler_store_seconds', help: 'Latency of one txn_spans insert', buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 5], registers: r }),
    openTransactions: new Gauge({ name: 'tapfleet_assembler_open_transactions', help: 'Transactions open in memory', registers: r }),
    lingeringTransactions: new Gauge({ name: 'tapfleet_assembler_lingering_transactions', help: 'Closed transactions kept for late events', registers: r }),
    heldMessages: new Gauge({ name: 'tapfleet_assembler_held_messages', help: 'Event batches not yet acked (their transactions are open)', registers: r }),
    misfitRecords: new Counter({ name: 'tapfleet_assembler_misfit_records_total', help: 'Event records that fit no layout of their bundle: left out and dead-lettered', registers: r }),
    deadLettered: new Counter({ name: 'tapfleet_assembler_dead_lettered_total', help: 'Malformed batches sent to the dead-letter subject', registers: r }),
    exported: new Counter({ name: 'tapfleet_assembler_otlp_exported_spans_total', help: 'Spans the OTLP collector accepted', registers: r }),
    exportDropped: new Counter({ name: 'tapfleet_assembler_otlp_dropped_spans_total', help: 'Spans dropped because the export queue was full (they are still in ClickHouse)', registers: r }),
    exportFailures: new Counter({ name: 'tapfleet_assembler_otlp_export_failures_total', help: 'OTLP export requests that failed (retried)', registers: r }),
    exportQueue: new Gauge({ name: 'tapfleet_assembler_otlp_queue_spans', help: 'Spans waiting for the OTLP collector', registers: r }),
    mirrored: new Counter({ name: 'tapfleet_assembler_kafka_mirrored_spans_total', help: 'Spans produced to Kafka', registers: r }),
  };
}

export const CLOSE_REASONS: readonly CloseReason[] = ['final', 'quiet', 'max-age', 'max-events', 'evicted'];
