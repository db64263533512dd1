import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SpanKind } from '@opentelemetry/api';
import { txnSpanId, txnTraceId } from '@tapfleet/schemas';
import { hrTime, HostResources, toReadableSpan } from './otlp-spans.js';
import { buildSpans } from './span-builder.js';
import type { TxnEvent } from './txn-event.js';

const T0 = 1_764_000_000_123_456_789n;
const shape = { hops: [{ name: 'wire', from: 'a_out', to: 'b_in' }], final: ['b_in'] };
const ev = (event: string, host: string, ns: bigint, link?: string): TxnEvent => ({
  deployment: 'd-1', txn: 'o-2', event, host, bootId: 'b', seq: Number(ns % 100n), wallNs: ns, correctedNs: ns, offsetNs: 0n, uncertaintyNs: 40n, latencyNs: 0n, pid: 1, tid: 1, shape, link,
});

test('HrTime from ns is exact beyond 2^53 ns', () => {
  assert.deepEqual(hrTime(T0), [1_764_000_000, 123_456_789]);
  assert.deepEqual(hrTime(0n), [0, 0]);
});

test('spans become ReadableSpans: kinds, parents, per-host resources, a reversed hop kept honest, links to related transactions', () => {
  const rows = buildSpans({ deployment: 'd-1', txn: 'o-2', events: [ev('a_out', 'h1', T0 + 50n, 'o-1'), ev('b_in', 'h2', T0)] }, 1n);
  const resources = new HostResources();
  const root = toReadableSpan(rows.find((r) => r.kind === 'txn')!, resources);
  const wire = toReadableSpan(rows.find((r) => r.name === 'wire')!, resources);
  assert.equal(root.kind, SpanKind.SERVER);
  assert.equal(root.parentSpanContext, undefined);
  assert.equal(wire.kind, SpanKind.CONSUMER);
  assert.equal(wire.parentSpanContext?.spanId, root.spanContext().spanId);
  assert.equal(wire.resource.attributes['host.id'], 'h2');
  assert.equal(root.resource.attributes['host.id'], 'h2', "the root is on its first event's host (b_in reads earlier)");
  // b_in reads 50 ns before a_out: the hop keeps its signed duration as an attribute, exported with end = start.
  assert.equal(wire.attributes['tapfleet.duration_ns'], '-50');
  assert.deepEqual(wire.endTime, wire.startTime);
  assert.equal(wire.attributes['tapfleet.error_bound_ns'], 80);
  const linked = txnTraceId('d-1', 'o-1', rows[0]!.date);
  assert.deepEqual(root.links.map((l) => [l.context.traceId, l.context.spanId]), [[linked, txnSpanId(linked, 'root')]]);
});
