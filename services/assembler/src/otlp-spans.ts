import { SpanKind, SpanStatusCode, TraceFlags, type Attributes, type HrTime, type Link } from '@opentelemetry/api';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { ATTR_HOST_ID, ATTR_HOST_NAME } from '@opentelemetry/semantic-conventions/incubating';
import { txnSpanId, txnTraceId, type TxnSpanRow } from '@tapfleet/schemas';
import { ASSEMBLER_SCOPE } from './scope.js';

const NS = 1_000_000_000n;

/** Nanoseconds since 1970 as OpenTelemetry's [seconds, nanoseconds], exactly (never through a float of ms). */
export function hrTime(ns: bigint): HrTime {
  return [Number(ns / NS), Number(ns % NS)];
}

/** One Resource per host: `service.name`, `host.id`, `host.name` (the agent's host id). */
export class HostResources {
  private readonly byHost = new Map<string, Resource>();
  get(host: string): Resource {
    let r = this.byHost.get(host);
    if (!r) {
      r = resourceFromAttributes({ [ATTR_SERVICE_NAME]: host, [ATTR_HOST_ID]: host, [ATTR_HOST_NAME]: host });
      this.byHost.set(host, r);
    }
    return r;
  }
}

function kindOf(row: TxnSpanRow): SpanKind {
  if (row.kind === 'txn') return SpanKind.SERVER;
  // A hop between hosts is a message the `to` host received from the `from` host.
  if (row.kind === 'hop' && row.from_host !== row.to_host) return SpanKind.CONSUMER;
  return SpanKind.INTERNAL;
}

/**
 * A stored span as an OpenTelemetry ReadableSpan for the OTLP exporter. Timestamps are the
 * corrected ns exactly; a span whose corrected end reads before its start (a cross-host hop
 * inside its error bound) is exported with end = start, its true signed duration and the
 * bound in attributes: never shifted to look causal, never a negative span a backend rejects.
 */
export function toReadableSpan(row: TxnSpanRow, resources: HostResources): ReadableSpan {
  const start = BigInt(row.start_ns);
  const end = BigInt(row.end_ns) < start ? start : BigInt(row.end_ns);
  const attributes: Attributes = {
    'tapfleet.txn': row.txn,
    'tapfleet.deployment': row.deployment,
    'tapfleet.span.kind': row.kind,
    'tapfleet.duration_ns': row.duration_ns,
    'tapfleet.error_bound_ns': Number(row.error_bound_ns),
    'tapfleet.from.host': row.from_host,
    'tapfleet.to.host': row.to_host,
    'tapfleet.from.event': row.from_event,
    'tapfleet.to.event': row.to_event,
    'tapfleet.events': row.events,
  };
  row.attr_names.forEach((n, i) => (attributes[n] = row.attr_values[i] ?? ''));
  const links: Link[] = [];
  const linked = row.kind === 'txn' ? row.attr_values[row.attr_names.indexOf('tapfleet.links')] : undefined;
  for (const key of linked ? linked.split(',') : []) {
    const traceId = txnTraceId(row.deployment, key, row.date);
    links.push({ context: { traceId, spanId: txnSpanId(traceId, 'root'), traceFlags: TraceFlags.SAMPLED }, attributes: { 'tapfleet.txn': key } });
  }
  const ctx = { traceId: row.trace_id, spanId: row.span_id, traceFlags: TraceFlags.SAMPLED };
  return {
    name: row.name,
    kind: kindOf(row),
    spanContext: () => ctx,
    ...(row.parent_span_id ? { parentSpanContext: { traceId: row.trace_id, spanId: row.parent_span_id, traceFlags: TraceFlags.SAMPLED } } : {}),
    startTime: hrTime(start),
    endTime: hrTime(end),
    duration: hrTime(end - start),
    status: { code: SpanStatusCode.UNSET },
    attributes,
    links,
    events: [],
    ended: true,
    resource: resources.get(row.host),
    instrumentationScope: ASSEMBLER_SCOPE,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}
