import { randomBytes } from 'node:crypto';
import { SpanKind, SpanStatusCode, TraceFlags, type Attributes, type HrTime } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

/**
 * Test-side OTLP sending: spans built field by field (ids, times, resource chosen by the test)
 * and exported over OTLP/HTTP protobuf with the OpenTelemetry exporter, the way tapfleet's
 * assembler exports its own.
 */

/** Nanoseconds since the epoch as OpenTelemetry's [seconds, nanoseconds], with no float in between. */
export function hrTimeFromNs(ns: bigint): HrTime {
  return [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
}

export const randomTraceId = (): string => randomBytes(16).toString('hex');
export const randomSpanId = (): string => randomBytes(8).toString('hex');

// host.id / host.name, as the semantic conventions spell them (incubating there, hence literal).
export const ATTR_HOST_ID = 'host.id';
export const ATTR_HOST_NAME = 'host.name';

/** One resource per host, as the assembler makes them. */
export function hostResource(hostId: string, hostName: string): Resource {
  return resourceFromAttributes({ [ATTR_SERVICE_NAME]: 'tapfleet', [ATTR_HOST_ID]: hostId, [ATTR_HOST_NAME]: hostName });
}

export interface SpanSpec {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: SpanKind;
  startNs: bigint;
  endNs: bigint;
  attributes?: Attributes;
  resource: Resource;
}

/** A finished span as the SDK hands it to an exporter. */
export function readableSpan(spec: SpanSpec): ReadableSpan {
  const flags = TraceFlags.SAMPLED;
  const context = { traceId: spec.traceId, spanId: spec.spanId, traceFlags: flags };
  return {
    name: spec.name,
    kind: spec.kind ?? SpanKind.INTERNAL,
    spanContext: () => context,
    parentSpanContext: spec.parentSpanId === undefined ? undefined : { traceId: spec.traceId, spanId: spec.parentSpanId, traceFlags: flags },
    startTime: hrTimeFromNs(spec.startNs),
    endTime: hrTimeFromNs(spec.endNs),
    duration: hrTimeFromNs(spec.endNs - spec.startNs),
    status: { code: SpanStatusCode.UNSET },
    attributes: spec.attributes ?? {},
    links: [],
    events: [],
    ended: true,
    resource: spec.resource,
    instrumentationScope: { name: 'tapfleet-test' },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

/** Exports one request's worth of spans and resolves once the receiver has accepted them. */
export async function exportSpans(url: string, spans: ReadableSpan[]): Promise<void> {
  const exporter = new OTLPTraceExporter({ url });
  try {
    await new Promise<void>((resolve, reject) =>
      exporter.export(spans, (r) => (r.code === ExportResultCode.SUCCESS ? resolve() : reject(r.error ?? new Error(`OTLP export to ${url} failed`)))),
    );
  } finally {
    await exporter.shutdown();
  }
}
