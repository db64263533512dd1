import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod/v3';
import { AssemblerConfig, scanEventBatch, encodeEventBatch, TxnSpanRow, type BundleManifest } from '@tapfleet/schemas';
import { createLogger } from '@tapfleet/runtime';
import { AssemblerCore, type HistoryReader } from './assembler-core.js';
import { createAssemblerMetrics } from './assembler-metrics.js';
import type { TxnEvent } from './txn-event.js';

// What an agent with a broken clock, or a hostile one, can put on the bus: the engine must
// neither make rows txn_spans cannot hold nor let one transaction hold up the others.

const SHA = 'cd'.repeat(32);
const DEPLOYMENT = 'd-5e6f7a8b';
const txnField = { name: 'txn', type: 'u64' as const, offset: 40, size: 8 };
const manifest: BundleManifest = {
  format: 1, bundleId: SHA, scriptDigest: SHA, compilerVersion: '0.1.0', kernel: { buildId: 'a1'.repeat(20), release: 'x' }, binaries: [], attach: [],
  events: [
    { id: 0, name: 'a_in', size: 48, fields: [txnField], txnField: 'txn' },
    { id: 1, name: 'b_out', size: 48, fields: [txnField], txnField: 'txn' },
    { id: 2, name: 'c_ret', size: 56, fields: [txnField, { name: 'latency', type: 'u64', offset: 48, size: 8 }], txnField: 'txn' },
  ],
  maps: [], transaction: { hops: [{ name: 'ab', from: 'a_in', to: 'b_out' }], final: ['b_out'] },
  limits: { maxStringBytes: 64, maxMapEntries: 10240, maxStatementsPerProbe: 1000, ringBufferBytes: 1 << 22 }, objectSha256: SHA,
};
const T0 = 1_764_000_000_000_000_000n;
const U64_MAX = (1n << 64n) - 1n;

function record(eventId: number, txn: bigint, latency = 0n): Uint8Array {
  const b = new Uint8Array(eventId === 2 ? 56 : 48);
  const v = new DataView(b.buffer);
  v.setUint32(0, eventId, true);
  v.setBigUint64(40, txn, true);
  if (eventId === 2) v.setBigUint64(48, latency, true);
  return b;
}

let seq = 0;
function batch(host: string, offsetNs: number, recs: { id: number; txn: bigint; wall: bigint; latency?: bigint }[]) {
  const header = { v: 1 as const, hostId: host, bootId: '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0', deploymentId: DEPLOYMENT, bundleId: SHA, kernelBuildId: 'a1'.repeat(20), firstSeq: seq, count: recs.length, clock: { offsetNs, uncertaintyNs: Number.MAX_SAFE_INTEGER } };
  seq += recs.length;
  return scanEventBatch(encodeEventBatch(header, recs.map((r) => ({ wallNs: r.wall, data: record(r.id, r.txn, r.latency) }))));
}

class Msg {
  acked = 0;
  ack() { this.acked++; }
  working() {}
}

function setup(history?: HistoryReader, startMs = 1_000, o: Partial<AssemblerConfig> = {}) {
  let now = startMs;
  const stored: TxnSpanRow[] = [];
  const metrics = createAssemblerMetrics();
  const core = new AssemblerCore<Msg>(AssemblerConfig.parse({ quietMs: 100, lingerMs: 1000, ...o }), {
    store: async (rows) => void stored.push(...rows),
    export: (_rows, done) => done(),
  }, history, metrics, createLogger('silent'), () => now);
  return { core, stored, metrics, advance: (ms: number) => (now += ms) };
}

test('absurd wall times, offsets and latencies make no span txn_spans cannot hold (UInt64 times, Int64 duration, Date day)', async () => {
  const { core, stored, metrics, advance } = setup();
  const m = new Msg();
  // A host whose clock reads 5 ns past 1970 with an offset of +1 us: corrected before 1970.
  core.accept(batch('h1', 1000, [{ id: 0, txn: 30n, wall: 5n }]), manifest, m, false, 1);
  // The same transaction's other end, sane, from another host (before its first sample: the largest uncertainty).
  core.accept(batch('h2', 0, [{ id: 1, txn: 30n, wall: T0 }]), manifest, new Msg(), false, 2);
  // A latency of 2^64-1 (a negative number read as u64), and a clock in the year 2554.
  core.accept(batch('h3', 0, [{ id: 2, txn: 31n, wall: T0, latency: U64_MAX }, { id: 0, txn: 32n, wall: U64_MAX }, { id: 2, txn: 33n, wall: T0, latency: 1000n }]), manifest, new Msg(), false, 3);
  advance(150);
  core.tick();
  await core.flush();
  assert.ok(stored.length > 0);
  // Every row is one the schema (and so the Kafka mirror and ClickHouse) accepts.
  z.array(TxnSpanRow).parse(stored);
  for (const r of stored) {
    assert.ok(r.date <= '2149-06-06', `day ${r.date} is past ClickHouse's Date range`);
    assert.ok(BigInt(r.start_ns) >= 0n && BigInt(r.end_ns) < 1n << 64n, `${r.name} ${r.start_ns}..${r.end_ns}`);
    assert.ok(BigInt(r.duration_ns) < 1n << 63n && BigInt(r.duration_ns) >= -(1n << 63n), `${r.name} duration ${r.duration_ns} is not an Int64`);
    assert.ok(BigInt(r.error_bound_ns) < 1n << 64n);
  }
  assert.deepEqual(stored.filter((r) => r.kind === 'txn').map((r) => r.txn).sort(), ['30', '31', '33'], 'txn 32 had only an unplaceable event');
  assert.equal(stored.find((r) => r.txn === '31' && r.kind === 'latency'), undefined, 'a latency reaching before 1970 counts as none');
  assert.equal(stored.find((r) => r.txn === '33' && r.kind === 'latency')!.duration_ns, '1000', 'a sane latency stays');
  assert.equal((await metrics.unplaceableEvents.get()).values[0]!.value, 2);
  assert.equal(m.acked, 1, 'the batch of the skipped event is acked, not held forever');
});

test('a stopped ingest holds up only the transactions that need their stored events; they are merged once it is back', { timeout: 20_000 }, async () => {
  let ingestDown = true;
  let asked = 0;
  const history: HistoryReader = async (keys) => {
    asked++;
    if (ingestDown) throw new Error('ingest has not stored stream sequence 3 after 5000 ms');
    const e: TxnEvent = { deployment: DEPLOYMENT, txn: '40', event: 'a_in', host: 'h1', bootId: 'b', seq: 999, wallNs: T0, correctedNs: T0, offsetNs: 0n, uncertaintyNs: 50n, latencyNs: 0n, pid: 1, tid: 1, shape: undefined, link: undefined };
    return keys.some((k) => k.txn === '40') ? [e] : [];
  };
  const { core, stored, metrics, advance } = setup(history);
  const redelivered = new Msg();
  core.accept(batch('h2', 0, [{ id: 1, txn: 40n, wall: T0 + 700n }]), manifest, redelivered, true, 1);
  const m2 = new Msg();
  const m3 = new Msg();
  core.accept(batch('h1', 0, [{ id: 0, txn: 41n, wall: T0 }]), manifest, m2, false, 2);
  core.accept(batch('h2', 0, [{ id: 1, txn: 41n, wall: T0 + 400n }]), manifest, m3, false, 3);
  advance(150);
  core.tick();
  await core.flush();
  assert.deepEqual([...new Set(stored.map((r) => r.txn))], ['41'], 'the complete transaction is stored while ingest is down');
  assert.equal(m2.acked + m3.acked, 2);
  assert.equal(redelivered.acked, 0, 'the one waiting for its stored events stays held');
  assert.equal(core.pendingCount, 1);
  assert.equal((await metrics.historyErrors.get()).values[0]!.value, 1);
  // Stopping now stores nothing incomplete and acks nothing: the next process redoes it.
  await core.flush(() => true);
  assert.equal(stored.filter((r) => r.txn === '40').length, 0);
  assert.equal(redelivered.acked, 0);
  // A late event re-opens it meanwhile; that closing waits for the merge too.
  const late = new Msg();
  core.accept(batch('h3', 0, [{ id: 2, txn: 40n, wall: T0 + 900n, latency: 100n }]), manifest, late, false, 4);
  advance(150);
  core.tick();
  ingestDown = false;
  advance(5000);
  await core.flush();
  const roots = stored.filter((r) => r.txn === '40' && r.kind === 'txn');
  assert.equal(roots.length, 2, 'both closings, each merged');
  assert.deepEqual(roots.map((r) => r.events), [2, 3]);
  const hops = stored.filter((r) => r.txn === '40' && r.name === 'ab');
  assert.deepEqual(hops.map((r) => r.duration_ns), ['700', '700'], 'each with the stored a_in');
  assert.equal(redelivered.acked, 1);
  assert.equal(late.acked, 1);
  assert.ok(asked >= 2);
});

test('one host clock a century ahead does not make every other event look late (each would wait for a merge with stored events)', async () => {
  let asked = 0;
  const history: HistoryReader = async () => {
    asked++;
    return [];
  };
  const { core } = setup(history, Number(T0 / 1_000_000n));
  core.accept(batch('h9', 0, [{ id: 0, txn: 50n, wall: T0 + 100n * 365n * 86_400_000_000_000n }]), manifest, new Msg(), false, 1);
  const m1 = new Msg();
  const m2 = new Msg();
  core.accept(batch('h1', 0, [{ id: 0, txn: 51n, wall: T0 }]), manifest, m1, false, 2);
  core.accept(batch('h2', 0, [{ id: 1, txn: 51n, wall: T0 + 300n }]), manifest, m2, false, 3);
  assert.equal(core.pendingCount, 1, 'closed by its final event at once');
  await core.flush();
  assert.equal(asked, 0, 'nothing to merge: it was never late');
  assert.equal(m1.acked + m2.acked, 2);
});

test('a hop on one host lasts its wall-clock difference although the host re-estimated its clock offset between the two batches', async () => {
  const { core, stored } = setup();
  // The risk host's agent took a new clock sample between its two batches; the estimate moved by 520 us (within its uncertainty).
  core.accept(batch('h1', 0, [{ id: 0, txn: 60n, wall: T0 }]), manifest, new Msg(), false, 1);
  core.accept(batch('h1', 520_000, [{ id: 1, txn: 60n, wall: T0 + 20_000n }]), manifest, new Msg(), false, 2);
  await core.flush();
  const hop = stored.find((r) => r.name === 'ab')!;
  assert.equal(hop.error_bound_ns, '0', 'one clock: no bound');
  assert.equal(hop.duration_ns, '20000', 'the exact difference on that clock, not shifted by the change of estimate');
  const root = stored.find((r) => r.kind === 'txn')!;
  assert.ok(BigInt(root.end_ns) >= BigInt(hop.end_ns), 'the root covers the hop');
});

test('a key repeated forever (every event of a script with txn: 0) costs bounded memory and spans, not a re-emission of everything per event', async () => {
  const { core, stored, metrics, advance } = setup(undefined, 1_000, { maxEventsPerTransaction: 8 });
  const msgs: Msg[] = [];
  for (let i = 0; i < 200; i++) {
    const m = new Msg();
    msgs.push(m);
    core.accept(batch('h1', 0, [{ id: 0, txn: 0n, wall: T0 + BigInt(i) * 1000n }]), manifest, m, false, i + 1);
    if (i % 10 === 9) await core.flush();
  }
  advance(150);
  core.tick();
  await core.flush();
  const roots = stored.filter((r) => r.kind === 'txn');
  assert.ok(roots.length >= 1);
  assert.ok(roots.every((r) => r.events <= 8), `roots of ${Math.max(...roots.map((r) => r.events))} events`);
  assert.ok(stored.length <= 2 * 8, `${stored.length} span rows for one key`);
  assert.equal((await metrics.overLimitEvents.get()).values[0]!.value, 192);
  advance(1000); // the linger ends: the root (closed incomplete) is exported and its batches released
  core.tick();
  assert.ok(msgs.every((m) => m.acked === 1), 'every batch acked');
});
