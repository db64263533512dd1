import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { batchMsgId, decodeEventBatch, type BundleManifest } from '@tapfleet/schemas';
import type { OutgoingBatch } from './batch-publisher.js';
import { EventBatcher } from './event-batcher.js';
import { HostClock } from './host-clock.js';
import { Ledgers } from './loss-ledger.js';

const BOOT = '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0';
const manifest = { bundleId: 'ab'.repeat(32), events: [{ id: 0, name: 'e', size: 48, fields: [{ name: 'x', type: 'u64', offset: 40, size: 8 }] }] } as unknown as BundleManifest;

function record(eventId: number, size: number, ktime: bigint): Uint8Array {
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  v.setUint32(0, eventId, true);
  v.setBigUint64(16, ktime, true);
  return b;
}

test('batcher: sequences, wall time from ktime, malformed records counted not sent, sequence persisted across restarts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-'));
  try {
    const out: OutgoingBatch[] = [];
    const clock = new HostClock(1_000_000);
    const ledgers = new Ledgers(dir, BOOT);
    const id = { hostId: 'h1', bootId: BOOT, deploymentId: 'd-aaaaaaaa', kernelBuildId: 'cd'.repeat(20) };
    const make = (l: Ledgers) => new EventBatcher(id, manifest, clock, () => ({ offsetNs: 5, uncertaintyNs: 7 }), l.get(id.deploymentId), { maxEvents: 3, maxDelayMs: 10_000 }, (b) => out.push(b));
    const batcher = make(ledgers);
    batcher.add(record(0, 48, 100n));
    batcher.add(record(9, 48, 101n)); // no layout 9
    batcher.add(record(0, 40, 102n)); // wrong size for layout 0
    batcher.add(record(0, 48, 103n));
    batcher.add(record(0, 48, 104n)); // third good one: a full batch
    batcher.add(record(0, 48, (7n << 32n) + 0xffff_fff0n)); // the low half carries into the high one
    batcher.flush();
    assert.equal(out.length, 2);
    const first = decodeEventBatch(out[0]!.bytes);
    assert.deepEqual([first.header.firstSeq, first.header.count, first.header.clock], [0, 3, { offsetNs: 5, uncertaintyNs: 7 }]);
    assert.equal(out[0]!.msgId, batchMsgId(first.header));
    assert.equal(first.records[0]!.wallNs, clock.wallOfKtime(100n));
    const second = decodeEventBatch(out[1]!.bytes);
    assert.equal(second.header.firstSeq, 3);
    assert.equal(second.records[0]!.wallNs, clock.wallOfKtime((7n << 32n) + 0xffff_fff0n));
    const loss = ledgers.get(id.deploymentId).loss;
    assert.deepEqual([loss.received, loss.malformed], [6, 2]);
    // An agent restarted in the same boot continues the sequence; another boot starts over.
    const again = new EventBatcher(id, manifest, clock, () => ({ offsetNs: 0, uncertaintyNs: 0 }), new Ledgers(dir, BOOT).get(id.deploymentId), { maxEvents: 1, maxDelayMs: 10 }, (b) => out.push(b));
    again.add(record(0, 48, 1n));
    assert.equal(decodeEventBatch(out[2]!.bytes).header.firstSeq, 4);
    const otherBoot = new Ledgers(dir, '11111111-2222-4333-8444-555555555555');
    assert.equal(otherBoot.get(id.deploymentId).nextSeq, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('batcher: a batch ends at maxBytes whatever its count, so large events never make a message over NATS\'s limit', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-'));
  try {
    const out: OutgoingBatch[] = [];
    const id = { hostId: 'h1', bootId: BOOT, deploymentId: 'd-bbbbbbbb', kernelBuildId: 'cd'.repeat(20) };
    const batcher = new EventBatcher(id, manifest, new HostClock(0), () => ({ offsetNs: 0, uncertaintyNs: 0 }), new Ledgers(dir, BOOT).get(id.deploymentId), { maxEvents: 2000, maxBytes: 1000, maxDelayMs: 10_000 }, (b) => out.push(b));
    for (let i = 0; i < 50; i++) batcher.add(record(0, 48, BigInt(i)));
    batcher.flush();
    const batches = out.map((b) => decodeEventBatch(b.bytes).header);
    assert.ok(batches.length >= 3, `${batches.length} batches`);
    assert.equal(batches.reduce((n, h) => n + h.count, 0), 50);
    // Each batch stops at the first record that reaches the byte budget (one record of overshoot at most).
    for (const b of out.slice(0, -1)) assert.ok(b.bytes.length < 1000 + 48 + 64 + 512, `${b.bytes.length} bytes`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('host clock: wall time of a ktime tracks the realtime clock and applies the artificial offset', () => {
  const plain = new HostClock();
  const shifted = new HostClock(5_000_000_000);
  const k = process.hrtime.bigint();
  const diff = shifted.wallOfKtime(k) - plain.wallOfKtime(k);
  assert.ok(diff > 4_999_000_000n && diff < 5_001_000_000n, String(diff));
  const drift = plain.wallOfKtime(k) - BigInt(Date.now()) * 1_000_000n;
  assert.ok(drift > -50_000_000n && drift < 50_000_000n, `within 50 ms of Date.now(): ${drift}`);
});
