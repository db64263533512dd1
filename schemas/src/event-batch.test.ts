import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { BatchFormatError, decodeEventBatch, encodeEventBatch, decodeRecord, recordEventId, EVENT_PREFIX_SIZE } from './index.js';
import { batchHeader, eventLayout } from './examples.test-fixtures.js';

/** Builds one raw record the way generated BPF code lays it out. */
function rawRecord(order: bigint, took: bigint, venue: string): Uint8Array {
  const buf = new Uint8Array(eventLayout.size);
  const v = new DataView(buf.buffer);
  v.setUint32(0, eventLayout.id, true);
  v.setUint32(4, 1, true); // cpu
  v.setUint32(8, 4242, true); // pid
  v.setUint32(12, 4243, true); // tid
  v.setBigUint64(16, 123456789n, true);
  buf.set(new TextEncoder().encode('gateway'), 24);
  v.setBigUint64(40, order, true);
  v.setBigUint64(48, took, true);
  buf.set(new TextEncoder().encode(venue), 56);
  return buf;
}

describe('event batch codec', () => {
  const records = [
    { wallNs: 1_790_000_000_000_000_001n, data: rawRecord(77n, 1500n, 'XLON') },
    { wallNs: 1_790_000_000_000_000_002n, data: rawRecord(78n, 2500n, 'XPARISFR') },
  ];

  test('a header without clock.source (an agent from before it existed) still decodes; ntp round-trips', () => {
    const { source: _dropped, ...oldClock } = batchHeader.clock;
    const old = decodeEventBatch(encodeEventBatch({ ...batchHeader, clock: oldClock }, records));
    assert.deepEqual(old.header.clock, { offsetNs: -1200, uncertaintyNs: 80 });
    const ntp = decodeEventBatch(encodeEventBatch({ ...batchHeader, clock: { offsetNs: 0, uncertaintyNs: 12_000, source: 'ntp' } }, records));
    assert.deepEqual(ntp.header.clock, { offsetNs: 0, uncertaintyNs: 12_000, source: 'ntp' });
  });

  test('encode then decode returns the header and every record', () => {
    const bytes = encodeEventBatch(batchHeader, records);
    const batch = decodeEventBatch(bytes);
    assert.deepEqual(batch.header, batchHeader);
    assert.equal(batch.records.length, 2);
    assert.equal(batch.records[1]?.wallNs, records[1]?.wallNs);
    const r = batch.records[1]!;
    const view = new DataView(r.data.buffer, r.data.byteOffset, r.data.byteLength);
    assert.equal(recordEventId(view, 0), 0);
    const ev = decodeRecord(view, 0, eventLayout);
    assert.deepEqual(ev, { event_id: 0, cpu: 1, pid: 4242, tid: 4243, ktime_ns: 123456789n, comm: 'gateway', order: 78n, took: 2500n, venue: 'XPARISFR' });
    assert.equal(EVENT_PREFIX_SIZE, 40);
  });

  const malformed: [string, Uint8Array, RegExp][] = [
    ['too short', new Uint8Array(3), /shorter than its 8-byte preamble/],
    ['wrong magic', new Uint8Array(16), /TFB1 magic/],
  ];
  for (const [name, bytes, why] of malformed) {
    test(`rejects a batch that is ${name}`, () => {
      assert.throws(() => decodeEventBatch(bytes), (e: unknown) => e instanceof BatchFormatError && why.test(e.message));
    });
  }

  test('rejects a truncated batch, a lying count and a bad header', () => {
    const good = encodeEventBatch(batchHeader, records);
    assert.throws(() => decodeEventBatch(good.subarray(0, good.length - 5)), /past the end|truncated/);
    const lying = encodeEventBatch({ ...batchHeader, count: 3 }, records);
    assert.throws(() => decodeEventBatch(lying), /says 3 records, batch holds 2/);
    const badHeader = encodeEventBatch({ ...batchHeader, hostId: 'bad.host' }, records);
    assert.throws(() => decodeEventBatch(badHeader), /header field hostId/);
    const notJson = good.slice();
    notJson[8] = 0x7b + 1; // corrupt the opening brace
    assert.throws(() => decodeEventBatch(notJson), /header is not JSON/);
  });
});
