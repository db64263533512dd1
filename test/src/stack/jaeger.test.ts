import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { loadConfig } from '@tapfleet/runtime';
import { jaegerOtlpTracesUrl, jaegerQueryFor, type JaegerSpan } from '../jaeger/jaeger-query.js';
import { exportSpans, hostResource, hrTimeFromNs, randomSpanId, randomTraceId, readableSpan, type SpanSpec } from '../jaeger/otlp-send.js';

/**
 * Spans through the test stack's real Jaeger (scripts/test.sh starts it: `stack up --with
 * jaeger`, ports from TAPFLEET_JAEGER_*): exported over OTLP/HTTP protobuf, read back through
 * the query API. Besides the round trip, these pin what Jaeger v1.76 (memory storage) does with
 * a span exported twice, which the assembler's re-export relies on.
 */
const config = loadConfig();
const jaeger = jaegerQueryFor(config);
const otlpUrl = jaegerOtlpTracesUrl(config);

before(async () => {
  try {
    await jaeger.getTrace(randomTraceId());
  } catch (e) {
    throw new Error(`no Jaeger query API at ${jaeger.baseUrl} (${(e as Error).message}): run under scripts/test.sh, or \`tapfleet stack up --with jaeger\` with the same TAPFLEET_JAEGER_* ports`);
  }
});

const hostA = hostResource('3d1219c7c4c5404aaa1f6d2a48adfda4', 'alpha');
const hostB = hostResource('9b2e4f1a0c3d4e5f8a7b6c5d4e3f2a1b', 'beta');
/** Past 2^53 ns, so a time that went through a float (of ns or of ms) would come back changed. */
const T0 = 1_780_000_000_123_456_789n;

const byId = (spans: JaegerSpan[]) => new Map(spans.map((s) => [s.spanId, s]));
const count = (n: number) => (spans: JaegerSpan[]) => spans.length >= n;

test('spans exported over OTLP/HTTP protobuf come back from Jaeger exact: ns start/end, parents, kinds, attributes, one resource per host', async () => {
  const traceId = randomTraceId();
  const [rootId, hopId, innerId] = [randomSpanId(), randomSpanId(), randomSpanId()];
  const specs: SpanSpec[] = [
    { traceId, spanId: rootId, name: 'order', kind: SpanKind.SERVER, startNs: T0, endNs: T0 + 5_000_001n, resource: hostA, attributes: { 'tapfleet.txn.key': 'o-17' } },
    { traceId, spanId: hopId, parentSpanId: rootId, name: 'hop risk', kind: SpanKind.CLIENT, startNs: T0 + 1_000_003n, endNs: T0 + 2_000_007n, resource: hostB, attributes: { 'tapfleet.error_bound_ns': 155_000, 'tapfleet.cross_host': true } },
    { traceId, spanId: innerId, parentSpanId: hopId, name: 'risk_check', kind: SpanKind.CONSUMER, startNs: T0 + 1_000_004n, endNs: T0 + 1_000_005n, resource: hostB },
  ];
  await exportSpans(otlpUrl, specs.map(readableSpan));

  const spans = byId(await jaeger.waitForTrace(traceId, count(3)));
  assert.equal(spans.size, 3);
  const root = spans.get(rootId)!;
  const hop = spans.get(hopId)!;
  const inner = spans.get(innerId)!;
  assert.deepEqual([root.startNs, root.endNs], [T0, T0 + 5_000_001n], 'nanoseconds exact (the legacy API would have microseconds)');
  assert.deepEqual([hop.startNs, hop.endNs, hop.endNs - hop.startNs], [T0 + 1_000_003n, T0 + 2_000_007n, 1_000_004n]);
  assert.equal(inner.endNs - inner.startNs, 1n, 'a 1 ns span stays 1 ns');
  assert.deepEqual([root.parentSpanId, hop.parentSpanId, inner.parentSpanId], [undefined, rootId, hopId]);
  assert.deepEqual([root.kind, hop.kind, inner.kind], ['server', 'client', 'consumer']);
  assert.deepEqual([root.name, hop.name, inner.name], ['order', 'hop risk', 'risk_check']);
  assert.deepEqual(root.resource, { 'service.name': 'tapfleet', 'host.id': '3d1219c7c4c5404aaa1f6d2a48adfda4', 'host.name': 'alpha' });
  assert.deepEqual(hop.resource, { 'service.name': 'tapfleet', 'host.id': '9b2e4f1a0c3d4e5f8a7b6c5d4e3f2a1b', 'host.name': 'beta' });
  assert.deepEqual(root.attributes, { 'tapfleet.txn.key': 'o-17' });
  assert.deepEqual(hop.attributes, { 'tapfleet.error_bound_ns': 155_000n, 'tapfleet.cross_host': true }, 'integers come back as exact int64');
  assert.deepEqual([...spans.values()].map((s) => [s.traceId, s.warnings]), [[traceId, []], [traceId, []], [traceId, []]]);
});

test('the OpenTelemetry SDK path keeps nanoseconds too: HrTime start and end given to the tracer arrive exact', async () => {
  const provider = new TracerProvider({ resource: hostA, spanProcessors: [new SimpleSpanProcessor({ exporter: new OTLPTraceExporter({ url: otlpUrl }) })] });
  const tracer = provider.getTracer('tapfleet-test');
  const root = tracer.startSpan('sdk-root', { kind: SpanKind.PRODUCER, startTime: hrTimeFromNs(T0 + 11n) }, ROOT_CONTEXT);
  const child = tracer.startSpan('sdk-child', { startTime: hrTimeFromNs(T0 + 999_999_999n) }, trace.setSpan(ROOT_CONTEXT, root));
  child.end(hrTimeFromNs(T0 + 1_000_000_001n));
  root.end(hrTimeFromNs(T0 + 2_000_000_013n));
  await provider.forceFlush();
  await provider.shutdown();

  const { traceId, spanId } = root.spanContext();
  const spans = byId(await jaeger.waitForTrace(traceId, count(2)));
  assert.deepEqual([spans.get(spanId)?.startNs, spans.get(spanId)?.endNs, spans.get(spanId)?.kind], [T0 + 11n, T0 + 2_000_000_013n, 'producer']);
  const sdkChild = spans.get(child.spanContext().spanId)!;
  assert.deepEqual([sdkChild.startNs, sdkChild.endNs, sdkChild.parentSpanId, sdkChild.kind], [T0 + 999_999_999n, T0 + 1_000_000_001n, spanId, 'internal']);
});

test('the identical span exported twice: Jaeger stores both copies, its query shows one, and that read drops the stored copy', async () => {
  const traceId = randomTraceId();
  const [rootId, hopId] = [randomSpanId(), randomSpanId()];
  const batch = [
    readableSpan({ traceId, spanId: rootId, name: 'order', startNs: T0, endNs: T0 + 900n, resource: hostA }),
    readableSpan({ traceId, spanId: hopId, parentSpanId: rootId, name: 'hop', startNs: T0 + 100n, endNs: T0 + 800n, resource: hostB, attributes: { n: 1 } }),
  ];
  await exportSpans(otlpUrl, batch);
  await exportSpans(otlpUrl, batch);

  // Raw (no query-time adjusters): the memory store appended the second export.
  const raw = await jaeger.waitForTrace(traceId, count(4), { raw: true });
  assert.deepEqual(raw.map((s) => s.spanId).sort(), [rootId, rootId, hopId, hopId].sort());
  // Default read: SpanHashDeduper keeps one of each byte-identical (span + resource + scope attributes) copy.
  const adjusted = await jaeger.getTrace(traceId);
  assert.deepEqual(adjusted.map((s) => s.spanId).sort(), [rootId, hopId].sort());
  assert.deepEqual(adjusted.map((s) => s.warnings), [[], []]);
  // Jaeger adjusts the stored trace in place, so from now on raw reads see one copy as well.
  const rawAfter = await jaeger.getTrace(traceId, { raw: true });
  assert.deepEqual(rawAfter.map((s) => s.spanId).sort(), [rootId, hopId].sort());
});

test('a span re-exported with the same ids but a later end and more attributes: Jaeger shows both versions', async () => {
  const traceId = randomTraceId();
  const [rootId, hopId] = [randomSpanId(), randomSpanId()];
  const root: SpanSpec = { traceId, spanId: rootId, name: 'order', startNs: T0, endNs: T0 + 9_000n, resource: hostA };
  const hop: SpanSpec = { traceId, spanId: hopId, parentSpanId: rootId, name: 'hop', startNs: T0 + 1_000n, endNs: T0 + 2_000n, resource: hostA };
  await exportSpans(otlpUrl, [root, hop].map(readableSpan));
  await exportSpans(otlpUrl, [readableSpan({ ...hop, endNs: T0 + 3_000n, attributes: { late: true } })]);

  const spans = await jaeger.waitForTrace(traceId, count(3));
  const hops = spans.filter((s) => s.spanId === hopId).sort((a, b) => Number(a.endNs - b.endNs));
  assert.deepEqual(hops.map((s) => [s.endNs, s.attributes]), [[T0 + 2_000n, {}], [T0 + 3_000n, { late: true }]], 'no replacement: both versions, same span id');
  // The clock-skew adjuster notices the shared id on the copy it meets second.
  assert.deepEqual(hops.flatMap((s) => s.warnings).filter((w, i, all) => all.indexOf(w) === i), ['duplicate span IDs; skipping clock skew adjustment']);
});

test('a read can defeat the de-duplication: a warning Jaeger wrote into a stored span makes an identical re-export a second copy', async () => {
  const traceId = randomTraceId();
  const [rootId, hopId] = [randomSpanId(), randomSpanId()];
  // A cross-host child that starts 3 ms before its parent: the skew adjuster computes a delta
  // (and, disabled, only warns about it).
  const batch = [
    readableSpan({ traceId, spanId: rootId, name: 'order', startNs: T0, endNs: T0 + 10_000_000n, resource: hostA }),
    readableSpan({ traceId, spanId: hopId, parentSpanId: rootId, name: 'hop', startNs: T0 - 3_000_000n, endNs: T0 + 1_000_000n, resource: hostB }),
  ];
  await exportSpans(otlpUrl, batch);
  const first = byId(await jaeger.waitForTrace(traceId, count(2)));
  assert.equal(first.get(hopId)?.warnings.length, 1);
  await exportSpans(otlpUrl, batch);

  const spans = await jaeger.waitForTrace(traceId, count(3));
  assert.deepEqual(spans.map((s) => s.spanId).sort(), [rootId, hopId, hopId].sort(), 'the stored hop now differs (by its warning) from the re-exported one');
});

test('span times are never shifted for clock skew: a cross-host child that starts before its parent keeps its times and gets a warning', async () => {
  const traceId = randomTraceId();
  const [rootId, hopId] = [randomSpanId(), randomSpanId()];
  await exportSpans(otlpUrl, [
    readableSpan({ traceId, spanId: rootId, name: 'order', startNs: T0, endNs: T0 + 10_000_000n, resource: hostA }),
    readableSpan({ traceId, spanId: hopId, parentSpanId: rootId, name: 'hop', startNs: T0 - 250_000_000n, endNs: T0 - 249_000_000n, resource: hostB }),
  ]);
  const hop = byId(await jaeger.waitForTrace(traceId, count(2))).get(hopId)!;
  // Jaeger's adjuster would move the hop by +254.5 ms (to the middle of its parent) if
  // max_clock_skew_adjust allowed it; the stack's config sets 0s.
  assert.deepEqual([hop.startNs, hop.endNs], [T0 - 250_000_000n, T0 - 249_000_000n]);
  assert.deepEqual(hop.warnings, ['clock skew adjustment disabled; not applying calculated delta of 254.5ms']);
});
