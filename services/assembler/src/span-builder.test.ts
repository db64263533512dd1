import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TxnSpanRow, txnTraceId } from '@tapfleet/schemas';
import { buildSpans } from './span-builder.js';
import type { TxnEvent } from './txn-event.js';

const T0 = 1_764_000_000_000_000_000n;
const shape = { hops: [{ name: 'wire', from: 'gw_out', to: 'risk_in' }, { name: 'risk', from: 'risk_in', to: 'risk_out' }], final: ['risk_out'] };
const ev = (event: string, host: string, wallNs: bigint, o: Partial<TxnEvent> = {}): TxnEvent => ({
  deployment: 'dep1', txn: '42', event, host, bootId: `boot-${host}`, seq: Number(wallNs % 1000n), wallNs,
  correctedNs: wallNs - (o.offsetNs ?? 0n), offsetNs: 0n, uncertaintyNs: 100n, latencyNs: 0n, pid: 1, tid: 1, shape, link: undefined, ...o,
});

test('declared hops: corrected times, error bound = both hosts\' uncertainties, 0 on one host; ids deterministic', () => {
  const events = [
    ev('gw_out', 'gw', T0, { uncertaintyNs: 150n }),
    // risk's clock runs 3 ms ahead: its wall time reads 3 ms late, the correction takes it back.
    ev('risk_in', 'risk', T0 + 3_000_000n + 20_000n, { offsetNs: 3_000_000n, uncertaintyNs: 250n }),
    ev('risk_out', 'risk', T0 + 3_000_000n + 70_000n, { offsetNs: 3_000_000n, uncertaintyNs: 250n }),
  ];
  const rows = buildSpans({ deployment: 'dep1', txn: '42', events: events.reverse() }, 7n);
  for (const r of rows) TxnSpanRow.parse(r);
  const root = rows.find((r) => r.kind === 'txn')!;
  const wire = rows.find((r) => r.name === 'wire')!;
  const risk = rows.find((r) => r.name === 'risk')!;
  assert.equal(wire.duration_ns, '20000');
  assert.equal(wire.error_bound_ns, '400');
  assert.equal(wire.from_host, 'gw');
  assert.equal(wire.to_host, 'risk');
  assert.equal(risk.duration_ns, '50000');
  assert.equal(risk.error_bound_ns, '0');
  assert.equal(root.parent_span_id, '');
  assert.equal(wire.parent_span_id, root.span_id);
  assert.equal(root.trace_id, txnTraceId('dep1', '42', root.date));
  assert.equal(root.duration_ns, '70000');
  assert.equal(root.events, 3);
  assert.equal(root.attr_values[root.attr_names.indexOf('tapfleet.complete')], 'true');
  const again = buildSpans({ deployment: 'dep1', txn: '42', events }, 9n);
  assert.deepEqual(again.map((r) => r.span_id).sort(), rows.map((r) => r.span_id).sort());
});

test('a hop that reads reversed across hosts keeps its negative duration inside the bound', () => {
  const rows = buildSpans({ deployment: 'd', txn: 'x', events: [ev('gw_out', 'gw', T0 + 100n), ev('risk_in', 'risk', T0 + 40n)] }, 1n);
  const wire = rows.find((r) => r.name === 'wire')!;
  assert.equal(wire.duration_ns, '-60');
  assert.equal(wire.error_bound_ns, '200');
  const root = rows.find((r) => r.kind === 'txn')!;
  assert.equal(root.attr_values[root.attr_names.indexOf('tapfleet.missing_hops')], 'risk');
  assert.equal(root.attr_values[root.attr_names.indexOf('tapfleet.complete')], 'false');
});

test('without a shape consecutive events form hops; latency events get spans of their own', () => {
  const noShape = { shape: undefined } as Partial<TxnEvent>;
  const rows = buildSpans({ deployment: 'd', txn: 'x', events: [
    ev('a', 'h1', T0, noShape), ev('b', 'h2', T0 + 10n, noShape), ev('a', 'h1', T0 + 20n, noShape), ev('b', 'h2', T0 + 30n, { ...noShape, latencyNs: 5n }),
  ] }, 1n);
  assert.deepEqual(rows.filter((r) => r.kind === 'hop').map((r) => r.name), ['a -> b', 'b -> a', 'a -> b']);
  assert.equal(new Set(rows.map((r) => r.span_id)).size, rows.length);
  const lat = rows.find((r) => r.kind === 'latency')!;
  assert.equal(lat.start_ns, String(T0 + 25n));
  assert.equal(lat.duration_ns, '5');
});
