import { z } from 'zod/v3';
import type { TapfleetConfig } from '@tapfleet/schemas';

/**
 * A client of Jaeger's HTTP query API for tests and benchmarks: what a trace looks like once
 * Jaeger has stored it. It reads /api/v3/traces/{id} (OTLP JSON), whose times are nanosecond
 * strings; the legacy /api/traces/{id} rounds them down to microseconds, too coarse to check
 * that tapfleet's nanoseconds arrive exact.
 */

/** An OTLP attribute value as JSON carries it; ints come as strings (int64), kept exact as bigint. */
export type AttributeValue = string | boolean | number | bigint | Uint8Array | AttributeValue[] | { [key: string]: AttributeValue };

const AnyValueJson: z.ZodType<AnyValueJson> = z.lazy(() =>
  z.object({
    stringValue: z.string().optional(),
    boolValue: z.boolean().optional(),
    intValue: z.union([z.string().regex(/^-?[0-9]+$/), z.number().int().safe()]).optional(),
    doubleValue: z.union([z.number().finite(), z.enum(['NaN', 'Infinity', '-Infinity'])]).optional(),
    bytesValue: z.string().optional(),
    arrayValue: z.object({ values: z.array(AnyValueJson).optional() }).optional(),
    kvlistValue: z.object({ values: z.array(KeyValueJson).optional() }).optional(),
  }),
);
interface AnyValueJson {
  stringValue?: string | undefined;
  boolValue?: boolean | undefined;
  intValue?: string | number | undefined;
  doubleValue?: number | 'NaN' | 'Infinity' | '-Infinity' | undefined;
  bytesValue?: string | undefined;
  arrayValue?: { values?: AnyValueJson[] | undefined } | undefined;
  kvlistValue?: { values?: KeyValueJson[] | undefined } | undefined;
}
const KeyValueJson = z.object({ key: z.string(), value: AnyValueJson.optional() });
type KeyValueJson = z.infer<typeof KeyValueJson>;

const HexId = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`), `expected ${bytes} bytes of lower-case hex`);
const Nanos = z.string().regex(/^[0-9]+$/, 'expected unsigned nanoseconds as a decimal string');

/** OTLP span kinds by their protobuf number; Jaeger's JSON writes the number, protojson may write the name. */
const SPAN_KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'] as const;
export type SpanKindName = (typeof SPAN_KINDS)[number];
const SpanKindJson = z.union([
  z.number().int().safe().min(0).max(5).transform((n) => SPAN_KINDS[n]!),
  z.enum(['SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT', 'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER']).transform(
    (s) => s.slice('SPAN_KIND_'.length).toLowerCase() as SpanKindName,
  ),
]);

const SpanJson = z.object({
  traceId: HexId(16),
  spanId: HexId(8),
  // OTLP JSON may write a root's parent as "" or leave it out.
  parentSpanId: z.union([HexId(8), z.literal('')]).optional(),
  name: z.string(),
  kind: SpanKindJson.default('SPAN_KIND_UNSPECIFIED'),
  startTimeUnixNano: Nanos,
  endTimeUnixNano: Nanos,
  attributes: z.array(KeyValueJson).default([]),
  links: z.array(z.object({ traceId: HexId(16), spanId: HexId(8), attributes: z.array(KeyValueJson).default([]) })).default([]),
  status: z.object({ code: z.number().int().safe().optional(), message: z.string().optional() }).default({}),
});

/** The body of GET /api/v3/traces/{id}: one OTLP TracesData under `result`. */
export const TraceResponseJson = z.object({
  result: z.object({
    resourceSpans: z
      .array(
        z.object({
          resource: z.object({ attributes: z.array(KeyValueJson).default([]) }).default({ attributes: [] }),
          scopeSpans: z
            .array(
              z.object({
                scope: z.object({ name: z.string().default(''), version: z.string().optional() }).default({ name: '' }),
                // Jaeger leaves `spans` out of a scope its de-duplication emptied.
                spans: z.array(SpanJson).default([]),
              }),
            )
            .default([]),
        }),
      )
      .default([]),
  }),
});

const ErrorJson = z.object({ error: z.object({ httpCode: z.number().int().safe(), message: z.string() }) });

/** The attribute under which Jaeger's query-time adjusters leave their warnings on a span. */
export const JAEGER_WARNINGS_ATTRIBUTE = '@jaeger@warnings';

export interface JaegerSpan {
  traceId: string;
  spanId: string;
  /** Undefined for a root span. */
  parentSpanId: string | undefined;
  name: string;
  kind: SpanKindName;
  startNs: bigint;
  endNs: bigint;
  /** The span's own attributes, without Jaeger's warnings (see `warnings`). */
  attributes: Record<string, AttributeValue>;
  /** Its resource's attributes: host.id, host.name, service.name. */
  resource: Record<string, AttributeValue>;
  scope: string;
  links: { traceId: string; spanId: string; attributes: Record<string, AttributeValue> }[];
  /**
   * What Jaeger's adjusters said about this span (e.g. "duplicate span IDs; skipping clock skew
   * adjustment"). Jaeger 1.76 writes them into its stored copy, so each adjusted read adds
   * another: compare their content, never their count.
   */
  warnings: string[];
}

function attributeValue(v: AnyValueJson | undefined): AttributeValue {
  if (v === undefined) return '';
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return BigInt(v.intValue);
  if (v.doubleValue !== undefined) return typeof v.doubleValue === 'number' ? v.doubleValue : Number(v.doubleValue);
  if (v.bytesValue !== undefined) return new Uint8Array(Buffer.from(v.bytesValue, 'base64'));
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(attributeValue);
  if (v.kvlistValue !== undefined) return attributeMap(v.kvlistValue.values ?? []);
  return '';
}

function attributeMap(kvs: KeyValueJson[]): Record<string, AttributeValue> {
  return Object.fromEntries(kvs.map((kv) => [kv.key, attributeValue(kv.value)]));
}

/** Flattens OTLP JSON (resource > scope > span) into one record per span. */
export function spansOf(body: z.infer<typeof TraceResponseJson>): JaegerSpan[] {
  return body.result.resourceSpans.flatMap((rs) =>
    rs.scopeSpans.flatMap((ss) =>
      ss.spans.map((s): JaegerSpan => {
        const { [JAEGER_WARNINGS_ATTRIBUTE]: warnings, ...attributes } = attributeMap(s.attributes);
        return {
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId || undefined,
          name: s.name,
          kind: s.kind,
          startNs: BigInt(s.startTimeUnixNano),
          endNs: BigInt(s.endTimeUnixNano),
          attributes,
          resource: attributeMap(rs.resource.attributes),
          scope: ss.scope.name,
          links: s.links.map((l) => ({ traceId: l.traceId, spanId: l.spanId, attributes: attributeMap(l.attributes) })),
          warnings: Array.isArray(warnings) ? warnings.map(String) : [],
        };
      }),
    ),
  );
}

export interface GetTraceOptions {
  /**
   * Skip Jaeger's query-time adjusters (`raw_traces=true`): every stored copy of a span, as
   * stored. Without it Jaeger drops byte-identical copies, and (v1.76, memory storage) does so
   * in its stored trace too, so a later raw read no longer sees them either.
   */
  raw?: boolean;
}

export class JaegerQueryError extends Error {
  readonly code = 'JAEGER_QUERY';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export class JaegerQuery {
  constructor(readonly baseUrl: string) {}

  /** The spans of one trace, or [] when Jaeger has none (it answers 404). */
  async getTrace(traceId: string, options: GetTraceOptions = {}): Promise<JaegerSpan[]> {
    const url = new URL(`/api/v3/traces/${traceId}`, this.baseUrl);
    if (options.raw) url.searchParams.set('raw_traces', 'true');
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    const body: unknown = await res.json();
    if (res.status === 404) return [];
    if (!res.ok) {
      const err = ErrorJson.safeParse(body);
      throw new JaegerQueryError(`GET ${url.pathname}${url.search}: ${res.status} ${err.success ? err.data.error.message : JSON.stringify(body)}`, res.status);
    }
    return spansOf(TraceResponseJson.parse(body));
  }

  /**
   * Polls until `done(spans)` holds, then returns those spans; throws with the last spans seen
   * when it does not within `timeoutMs`. An export that has returned is normally visible at
   * once (the stack's Jaeger has no batch processor); the wait covers a collector that lags.
   */
  async waitForTrace(traceId: string, done: (spans: JaegerSpan[]) => boolean, options: GetTraceOptions & { timeoutMs?: number } = {}): Promise<JaegerSpan[]> {
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    for (;;) {
      const spans = await this.getTrace(traceId, options);
      if (done(spans)) return spans;
      if (Date.now() > deadline)
        throw new Error(`trace ${traceId} not as expected in Jaeger after ${options.timeoutMs ?? 10_000} ms; last seen: ${spans.map((s) => `${s.spanId} ${s.name}`).join(', ') || 'no spans'}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** The Jaeger the configuration names (the test stack's, under scripts/test.sh). */
export function jaegerQueryFor(config: TapfleetConfig): JaegerQuery {
  return new JaegerQuery(`http://127.0.0.1:${config.jaeger.queryPort}`);
}

/** The OTLP/HTTP traces endpoint of the same Jaeger. */
export function jaegerOtlpTracesUrl(config: TapfleetConfig): string {
  return `http://127.0.0.1:${config.jaeger.otlpHttpPort}/v1/traces`;
}
