import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AssemblerConfig, scanEventBatch, encodeEventBatch, type BundleManifest, type TxnSpanRow } from '@tapfleet/schemas';
import { createLogger } from '@tapfleet/runtime';
import { AssemblerCore, type HistoryReader } from './assembler-core.js';
import { createAssemblerMetrics } from './assembler-metrics.js';
import type { TxnEvent } from './txn-event.js';

const SHA = 'ab'.repeat(32);
const layout = (id: number, name: string) => ({ id, name, size: 48, fields: [{ name: 'txn', type: 'u64' as const, offset: 40, size: 8 }], txnField: 'txn' });
const manifest: BundleManifest = {
  format: 1, bundleId: SHA, scriptDigest: SHA, compilerVersion: '0.1.0', kernel: { buildId: 'a1'.repeat(20), release: 'x' }, binaries: [], attach: [],
  events: [layout(0, 'a_in'), layout(1, 'b_out')], maps: [], transaction: { hops: [{ name: 'ab', from: 'a_in', to: 'b_out' }], final: ['b_out'] },
  limits: { maxStringBytes: 64, maxMapEntries: 10240, maxStatementsPerProbe: 1000, ringBufferBytes: 1 << 22 }, objectSha256: SHA,
};
const T0 = 1_764_000_000_000_000_000n;

function record(eventId: number, txn: bigint): Uint8Array {
  const b = new Uint8Array(48);
  const v = new DataView(b.buffer);
  v.setUint32(0, eventId, true);
  v.setBigUint64(40, txn, true);
  return b;
}

let seq = 0;
function batch(host: string, recs: [number, bigint, bigint][]) {
  const header = { v: 1 as const, hostId: host, bootId: '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0', deploymentId: 'd-1a2b3c4d', bundleId: SHA, kernelBuildId: 'a1'.repeat(20), firstSeq: seq, count: recs.length, clock: { offsetNs: 0, uncertaintyNs: 50 } };
  seq += recs.length;
  return scanEventBatch(encodeEventBatch(header, recs.map(([id, txn, wall]) => ({ wallNs: wall, data: record(id, txn) }))));
}

class Msg {
  acked = 0;
  ack() { this.acked++; }
  working() {}
}

function setup(o: Partial<AssemblerConfig> = {}, history?: HistoryReader) {
  let now = 1_000;
  const stored: TxnSpanRow[] = [];
  const exported: TxnSpanRow[] = [];
  let failStores = 0;
  const metrics = createAssemblerMetrics();
  const config = AssemblerConfig.parse({ quietMs: 100, lingerMs: 1000, ...o });
  const core = new AssemblerCore<Msg>(config, {
    store: async (rows) => {
      if (failStores > 0) {
        failStores--;
        throw new Error('ClickHouse down');
      }
      stored.push(...rows);
    },
    export: (rows, done) => {
      exported.push(...rows);
      done();
    },
  }, history, metrics, createLogger('silent'), () => now);
  return { core, stored, exported, metrics, advance: (ms: number) => (now += ms), failNext: (n: number) => (failStores = n) };
}

test('the final event closes a complete transaction; its messages are acked only after the spans are stored', async () => {
  const { core, stored } = setup();
  const m1 = new Msg();
  const m2 = new Msg();
  core.accept(batch('h1', [[0, 7n, T0]]), manifest, m1, false, 1);
  assert.equal(m1.acked, 0, 'held while the transaction is open');
  core.accept(batch('h2', [[1, 7n, T0 + 500n]]), manifest, m2, false, 2);
  assert.equal(core.pendingCount, 1);
  await core.flush();
  assert.equal(m1.acked, 1);
  assert.equal(m2.acked, 1);
  assert.deepEqual(stored.map((r) => r.name).sort(), ['ab', 'transaction']);
  assert.equal(stored.find((r) => r.name === 'ab')!.duration_ns, '500');
});

test('quiet time closes; a late event re-opens and re-emits with the same ids; a failed store keeps the message held', async () => {
  const { core, stored, advance, failNext, metrics } = setup();
  const m1 = new Msg();
  core.accept(batch('h1', [[0, 8n, T0]]), manifest, m1, false, 1);
  advance(50);
  core.tick();
  assert.equal(core.pendingCount, 0, 'not quiet yet');
  advance(100);
  core.tick();
  failNext(1);
  const flushed = core.flush();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(m1.acked, 0, 'not acked while the store fails');
  await flushed;
  assert.equal((await metrics.storeErrors.get()).values[0]!.value, 1);
  assert.equal(stored.length, 1);
  const firstRoot = stored[0]!;
  assert.equal(firstRoot.kind, 'txn');
  assert.equal(m1.acked, 0, 'stored, but closed incomplete: held with its export until the linger ends');
  const m2 = new Msg();
  core.accept(batch('h2', [[1, 8n, T0 + 900n]]), manifest, m2, false, 2);
  await core.flush();
  const root2 = stored.filter((r) => r.kind === 'txn').at(-1)!;
  assert.equal(root2.span_id, firstRoot.span_id);
  assert.ok(BigInt(root2.version) >= BigInt(firstRoot.version));
  assert.equal(root2.events, 2);
  assert.equal(stored.find((r) => r.name === 'ab')!.duration_ns, '900');
  assert.equal(m1.acked, 1, 'the completed version is exported at once: both its messages are released');
  assert.equal(m2.acked, 1);
});

test('memory is bounded: the oldest open transaction is closed early and counted', async () => {
  const { core, stored, metrics } = setup({ maxOpenTransactions: 2 });
  for (let i = 0n; i < 5n; i++) core.accept(batch('h1', [[0, 100n + i, T0 + i]]), manifest, new Msg(), false, Number(i) + 1);
  assert.equal(core.table.openCount, 2);
  await core.flush();
  assert.equal(stored.filter((r) => r.kind === 'txn').length, 3);
  assert.equal((await metrics.evicted.get()).values[0]!.value, 3);
});

test('a transaction from redelivered batches is merged with its stored events before it is emitted', async () => {
  const asked: string[] = [];
  const history: HistoryReader = async (keys, upTo) => {
    asked.push(...keys.map((k) => `${k.txn}@${upTo}`));
    const e: TxnEvent = { deployment: 'd-1a2b3c4d', txn: '9', event: 'a_in', host: 'h1', bootId: 'b', seq: 999, wallNs: T0, correctedNs: T0, offsetNs: 0n, uncertaintyNs: 50n, latencyNs: 0n, pid: 1, tid: 1, shape: undefined, link: undefined };
    return [e];
  };
  const { core, stored, advance } = setup({}, history);
  const m = new Msg();
  core.accept(batch('h2', [[1, 9n, T0 + 300n]]), manifest, m, true, 5);
  assert.equal(core.pendingCount, 0, 'a redelivered final event does not close its transaction before the merge');
  advance(150);
  core.tick();
  await core.flush();
  assert.deepEqual(asked, ['9@5']);
  assert.equal(stored.find((r) => r.name === 'ab')!.duration_ns, '300');
  assert.equal(stored.find((r) => r.kind === 'txn')!.events, 2);
  assert.equal(m.acked, 1, 'complete after the merge: exported and released');
});

test('export waits out the linger for a transaction closed incomplete, so a late event changes it before anyone sees it', async () => {
  const { core, stored, exported, advance } = setup({ lingerMs: 1000 });
  core.accept(batch('h1', [[1, 20n, T0 + 900n]]), manifest, new Msg(), false, 1);
  advance(150);
  core.tick();
  await core.flush();
  assert.equal(stored.filter((r) => r.kind === 'txn').length, 1, 'stored at close');
  assert.equal(exported.length, 0, 'not exported: closed by quiet time, incomplete');
  advance(300);
  core.accept(batch('h2', [[0, 20n, T0]]), manifest, new Msg(), false, 2);
  await core.flush();
  assert.deepEqual(exported.map((r) => r.name).sort(), ['ab', 'transaction'], 'the completed version only, at once');
  assert.equal(exported.find((r) => r.kind === 'txn')!.events, 2);
  // A transaction closed incomplete and never completed is exported when its linger ends.
  core.accept(batch('h1', [[1, 21n, T0 + 5n]]), manifest, new Msg(), false, 3);
  advance(150);
  core.tick();
  await core.flush();
  const before = exported.length;
  advance(999);
  core.tick();
  assert.equal(exported.length, before);
  advance(2);
  core.tick();
  assert.equal(exported.length, before + 1, 'its root, after the linger');
});
