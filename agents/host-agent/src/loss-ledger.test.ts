import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeploymentLedger } from './loss-ledger.js';

const BOOT = '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0';

function withDir(f: (file: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-'));
  try {
    f(join(dir, 'd-aaaaaaaa.json'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('ledger: kernel counters add up across runner incarnations; a runner killed between stats never leaves received > produced', () => withDir((file) => {
  const l = new DeploymentLedger(file, BOOT, () => 1_000);
  l.runnerStarted();
  l.runnerReady();
  l.kernelStats(100n, 2n);
  l.loss.received += 98;
  // 50 more read after the last stats record, then SIGKILL: the kernel's own count died with it.
  l.loss.received += 50;
  l.runnerDied('SIGKILL');
  let { loss } = l.report();
  assert.ok(loss.received <= loss.producedByKernel - loss.ringBufferDrops, JSON.stringify(loss));
  assert.deepEqual([loss.producedByKernel, loss.ringBufferDrops], [150, 2]);
  // The next runner starts at 0; the totals go on from where they were.
  l.runnerStarted();
  l.runnerReady();
  l.kernelStats(10n, 1n);
  l.loss.received += 9;
  ({ loss } = l.report());
  assert.deepEqual([loss.producedByKernel, loss.ringBufferDrops, loss.received], [160, 3, 157]);
}));

test('ledger: a runner death is an outage from the last event read to the next attach', () => withDir((file) => {
  let now = 1_000;
  const l = new DeploymentLedger(file, BOOT, () => now);
  l.runnerStarted();
  l.runnerReady();
  now = 5_000;
  l.eventReceivedAt(4_321);
  l.runnerDied('SIGKILL');
  assert.deepEqual(l.report().outages, [{ kind: 'runner', fromMs: 4_321, cause: 'SIGKILL' }], 'open while down');
  now = 5_400;
  l.runnerDied('exit code 1'); // the restart failed: still the same outage
  l.runnerStarted();
  l.runnerReady();
  assert.deepEqual(l.report().outages, [{ kind: 'runner', fromMs: 4_321, toMs: 5_401, cause: 'SIGKILL', resolution: 'restarted' }]);
}));

test('ledger: after a kill -9 the next agent counts in-flight batches as published (unacked) and reports an agent outage from the last durable event', () => withDir((file) => {
  let now = 1_000;
  const l = new DeploymentLedger(file, BOOT, () => now);
  l.runnerStarted();
  l.runnerReady();
  for (let i = 0; i < 30; i++) l.loss.received++;
  const a = l.reserve(10, 1_100);
  const b = l.reserve(10, 1_200);
  l.acked(a, 10);
  const c = l.reserve(10, 1_300); // persisted with b and c in flight; b's ack comes after the last write
  l.acked(b, 10);
  assert.deepEqual([a, b, c], [0, 10, 20]);
  // kill -9 here: a new incarnation reads the file.
  now = 9_000;
  const next = new DeploymentLedger(file, BOOT, () => now);
  assert.equal(next.nextSeq, 30, 'sequences never repeat');
  assert.equal(next.loss.published, 30, 'acked 10 + in doubt 20');
  assert.equal(next.loss.publishedUnacked, 20);
  assert.ok(next.loss.published <= next.loss.received - next.loss.malformed);
  next.runnerStarted();
  next.runnerReady();
  assert.deepEqual(next.report().outages, [{ kind: 'agent', fromMs: 1_100, toMs: 9_001, cause: 'agent died', resolution: 'restarted' }]);
  // Another boot starts over.
  assert.equal(new DeploymentLedger(file, '11111111-2222-4333-8444-555555555555').nextSeq, 0);
}));

test('ledger: a clean stop and restart is an "agent restarted" outage; a spooled batch is not counted again', () => withDir((file) => {
  let now = 1_000;
  const l = new DeploymentLedger(file, BOOT, () => now);
  l.runnerStarted();
  l.runnerReady();
  l.loss.received += 10;
  const a = l.reserve(10, 1_500);
  l.spooled(a, 10);
  now = 2_000;
  l.eventReceivedAt(1_500);
  l.stopped();
  assert.deepEqual(l.report().outages, [], 'a stopped deployment is no outage');
  l.close();
  now = 3_000;
  const next = new DeploymentLedger(file, BOOT, () => now);
  assert.equal(next.loss.published, 0);
  next.acked(a, 10); // replayed from the spool
  next.runnerStarted();
  next.runnerReady();
  assert.deepEqual(next.report().outages, [{ kind: 'agent', fromMs: 1_500, toMs: 3_001, cause: 'agent restarted', resolution: 'restarted' }]);
  assert.equal(next.report().loss.published, 10);
}));
