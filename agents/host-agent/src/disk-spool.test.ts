import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeEventBatch, encodeEventBatch, type EventBatchHeader } from '@tapfleet/schemas';
import { DiskSpool } from './disk-spool.js';

const header = (deploymentId: string, firstSeq: number, count: number): EventBatchHeader => ({
  v: 1, hostId: 'h', bootId: '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0', deploymentId, bundleId: 'ab'.repeat(32), kernelBuildId: 'cd'.repeat(20), firstSeq, count, clock: { offsetNs: 0, uncertaintyNs: 1 },
});
const batch = (dep: string, first: number, count: number) => encodeEventBatch(header(dep, first, count), Array.from({ length: count }, (_, i) => ({ wallNs: BigInt(i), data: new Uint8Array(64) })));

function withDir(f: (dir: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), 'spool-'));
  try {
    f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('spool: FIFO order, survives a restart (replayed from disk)', () => withDir((dir) => {
  const drops: [string, number][] = [];
  const events = { onDrop: (d: string, n: number) => drops.push([d, n]), onCorrupt: () => {} };
  const spool = new DiskSpool(dir, 1 << 20, events);
  spool.append(batch('d-aaaaaaaa', 0, 3), 'd-aaaaaaaa', 3);
  spool.append(batch('d-aaaaaaaa', 3, 2), 'd-aaaaaaaa', 2);
  const reopened = new DiskSpool(dir, 1 << 20, events);
  assert.equal(reopened.length, 2);
  const first = reopened.takeOldest()!;
  assert.equal(decodeEventBatch(first.batch).header.firstSeq, 0);
  assert.equal(decodeEventBatch(reopened.takeOldest()!.batch).header.firstSeq, 3, 'the one being sent is skipped');
  reopened.done(first.entry);
  assert.equal(reopened.length, 1);
  assert.deepEqual(drops, []);
}));

test('spool: when full, the oldest batches are dropped and their events counted', () => withDir((dir) => {
  const drops: [string, number][] = [];
  const one = batch('d-aaaaaaaa', 0, 10).length;
  const spool = new DiskSpool(dir, one * 2 + 10, { onDrop: (d, n) => drops.push([d, n]), onCorrupt: () => {} });
  spool.append(batch('d-aaaaaaaa', 0, 10), 'd-aaaaaaaa', 10);
  spool.append(batch('d-bbbbbbbb', 0, 10), 'd-bbbbbbbb', 10);
  spool.append(batch('d-aaaaaaaa', 10, 10), 'd-aaaaaaaa', 10);
  assert.deepEqual(drops, [['d-aaaaaaaa', 10]]);
  assert.equal(spool.length, 2);
  assert.ok(spool.totalBytes <= one * 2 + 10);
  assert.equal(decodeEventBatch(spool.takeOldest()!.batch).header.deploymentId, 'd-bbbbbbbb');
}));

test('spool: a corrupt file is moved aside and reported, never replayed', () => withDir((dir) => {
  writeFileSync(join(dir, '0000000000000007.tfb'), 'not a batch');
  const corrupt: string[] = [];
  const spool = new DiskSpool(dir, 1 << 20, { onDrop: () => {}, onCorrupt: (f) => corrupt.push(f) });
  assert.equal(spool.length, 0);
  assert.deepEqual(corrupt, ['0000000000000007.tfb']);
  assert.ok(readdirSync(dir).includes('0000000000000007.tfb.corrupt'));
  spool.append(batch('d-aaaaaaaa', 0, 1), 'd-aaaaaaaa', 1);
  assert.ok(readdirSync(dir).includes('0000000000000008.tfb'), 'numbering continues after existing files');
}));
