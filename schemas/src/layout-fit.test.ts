import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEventBatch, encodeEventBatch, EventLayouts, fitBatch, misfitDeadLetters, scanEventBatch, type BatchRecord, type EventLayout } from './index.js';
import { batchHeader, eventLayout, manifest } from './examples.test-fixtures.js';

const second: EventLayout = { id: 3, name: 'tick', size: 48, fields: [{ name: 'n', type: 'u64', offset: 40, size: 8 }] };
const layouts = new EventLayouts([eventLayout, second], manifest.bundleId);

function record(id: number, size: number): Uint8Array {
  const buf = new Uint8Array(size);
  if (size >= 4) new DataView(buf.buffer).setUint32(0, id, true);
  return buf;
}

describe('layout fit: which layout a record fits', () => {
  test('a record fits the layout its event id names when it is exactly that size', () => {
    assert.equal(layouts.fit(record(0, 64)), eventLayout);
    assert.equal(layouts.fit(record(3, 48)), second);
    assert.equal(EventLayouts.of(manifest).fit(record(0, 64)), eventLayout);
  });

  test('shorter, longer, unknown id, or too short for an id: no layout, with the reason', () => {
    for (const [r, why] of [
      [record(0, 56), 'is 56 bytes; event order_sent is 64'],
      [record(0, 72), 'is 72 bytes; event order_sent is 64'],
      [record(3, 64), 'is 64 bytes; event tick is 48'],
      [record(9, 64), `has event id 9, which bundle ${manifest.bundleId.slice(0, 12)} does not define`],
      [record(0, 3), 'is 3 bytes, too short for an event id'],
      [record(0, 12), 'is 12 bytes; event order_sent is 64'],
    ] as const) {
      assert.equal(layouts.fit(r), undefined, why);
      assert.equal(layouts.misfit(r), why);
    }
  });

  test('a record inside a larger buffer is fitted by its offset and length', () => {
    const buf = new Uint8Array(200);
    buf.set(record(3, 48), 100);
    assert.equal(layouts.fit(buf, 100, 48), second);
    assert.equal(layouts.fit(buf, 100, 64), undefined);
  });
});

describe('layout fit of a batch, and the dead letters of its misfits', () => {
  const wall = (i: number) => 1_790_000_000_000_000_000n + BigInt(i);
  const good = (i: number): BatchRecord => ({ wallNs: wall(i), data: record(0, 64) });
  const bad = (i: number): BatchRecord => ({ wallNs: wall(i), data: record(0, 12) });
  const header = { ...batchHeader, firstSeq: 100, count: 6 };
  const batch = scanEventBatch(encodeEventBatch(header, [good(0), bad(1), good(2), bad(3), bad(4), good(5)]));

  test('every record gets its layout; the misfits are listed with sequence and reason', () => {
    const { layouts: fitted, misfits } = fitBatch(batch, layouts);
    assert.deepEqual(fitted.map((l) => l?.name), ['order_sent', undefined, 'order_sent', undefined, undefined, 'order_sent']);
    assert.deepEqual(misfits.map((m) => [m.index, m.seq]), [[1, 101], [3, 103], [4, 104]]);
    assert.equal(misfits[0]!.reason, 'record 1 (seq 101) is 12 bytes; event order_sent is 64');
  });

  test('one dead letter per run of consecutive misfits, holding only those records, with a stable message id', () => {
    const letters = misfitDeadLetters(batch, fitBatch(batch, layouts).misfits);
    assert.equal(letters.length, 2);
    const [one, two] = letters.map((l) => decodeEventBatch(l.bytes));
    assert.deepEqual([one!.header.firstSeq, one!.header.count, two!.header.firstSeq, two!.header.count], [101, 1, 103, 2]);
    assert.deepEqual(two!.records.map((r) => [r.wallNs, r.data.length]), [[wall(3), 12], [wall(4), 12]]);
    assert.equal(one!.header.hostId, batchHeader.hostId);
    assert.match(letters[1]!.reason, /^2 of the batch's 6 records fit no layout of their bundle; .*record 3 \(seq 103\) is 12 bytes; event order_sent is 64; record 4 \(seq 104\)/);
    assert.equal(letters[0]!.msgId, `misfit:${batchHeader.hostId}:${batchHeader.bootId}:${batchHeader.deploymentId}:101`);
    assert.deepEqual(misfitDeadLetters(batch, fitBatch(batch, layouts).misfits).map((l) => l.msgId), letters.map((l) => l.msgId), 'the same on every reading');
  });

  test('a batch that fits entirely has no dead letters; a long run lists five reasons and counts the rest', () => {
    const clean = scanEventBatch(encodeEventBatch({ ...header, count: 2 }, [good(0), good(1)]));
    assert.deepEqual(fitBatch(clean, layouts).misfits, []);
    const junk = scanEventBatch(encodeEventBatch({ ...header, count: 8 }, Array.from({ length: 8 }, (_, i) => bad(i))));
    const [letter] = misfitDeadLetters(junk, fitBatch(junk, layouts).misfits);
    assert.match(letter!.reason, /record 4 \(seq 104\) is 12 bytes; event order_sent is 64; and 3 more$/);
    assert.equal(decodeEventBatch(letter!.bytes).records.length, 8);
  });
});
