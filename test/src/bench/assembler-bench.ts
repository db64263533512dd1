/**
 * Assembler benchmark, in one process on one core: 1M events of 200k transactions (5 events
 * each, over 3 hosts, as agents batch them) through the assembler's engine (decode, partition,
 * group, close on the final event, build spans), next to the baseline of only decoding the
 * same batches and reading each event's key. Then the memory one open transaction costs.
 * Prints and writes bench/results/assembler.md. Not a test: nothing here asserts.
 *
 *   node --expose-gc test/dist/bench/assembler-bench.js [--events N] [--per-txn K]
 */
import { writeFileSync } from 'node:fs';
import { writeFigures } from './figures.js';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AssemblerCore, buildSpans, createAssemblerMetrics, TransactionTable, TxnEventDecoder } from '@tapfleet/assembler';
import { createLogger, PROJECT_ROOT } from '@tapfleet/runtime';
import { AssemblerConfig, decodeEventBatch, scanEventBatch, EventBatchBuilder, readField, type BundleManifest, type EventBatchHeader, type TxnSpanRow } from '@tapfleet/schemas';
import { orderPathBundle } from '../assembler/txn-harness.js';
import { BOOT } from '../ingest/ingest-harness.js';

const { values } = parseArgs({ options: { 'parts-only': { type: 'boolean', default: false }, 'engine-only': { type: 'boolean', default: false }, events: { type: 'string', default: '1000000' }, 'per-txn': { type: 'string', default: '5' }, runs: { type: 'string', default: '3' } } });
const N = Number(values.events);
const PER_TXN = Number(values['per-txn']);
const RUNS = Number(values.runs);
const lines: string[] = [];
const say = (l = '') => {
  lines.push(l);
  process.stdout.write(`${l}\n`);
};
const progress = (s: string) => process.stderr.write(`bench: ${s}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Agent-shaped batches (2,000 events) of `txns` transactions: gw_out on host gw, then risk_in, risk_out.. on host risk. */
function makeBatches(manifest: BundleManifest, txns: number, perTxn: number, firstTxn = 0, withFinal = true): Uint8Array[] {
  const byName = new Map(manifest.events.map((e) => [e.name, e]));
  const names = ['gw_out', 'risk_in', ...Array.from({ length: perTxn - 3 }, () => 'risk_in'), withFinal ? 'risk_out' : 'risk_in'].slice(0, perTxn);
  const out: Uint8Array[] = [];
  const base = BigInt(Date.now()) * 1_000_000n;
  const builders = new Map<string, { b: EventBatchBuilder; seq: number }>();
  const flush = (host: string) => {
    const h = builders.get(host)!;
    if (!h.b.count) return;
    const header: EventBatchHeader = { v: 1, hostId: host, bootId: BOOT, deploymentId: 'd-be0c0001', bundleId: manifest.bundleId, kernelBuildId: manifest.kernel.buildId, firstSeq: h.seq, count: h.b.count, clock: { offsetNs: 0, uncertaintyNs: 100_000 } };
    h.seq += h.b.count;
    out.push(h.b.finish(header));
  };
  for (const host of ['gw', 'risk']) builders.set(host, { b: new EventBatchBuilder(1 << 20), seq: 0 });
  for (let t = firstTxn; t < firstTxn + txns; t++) {
    names.forEach((name, k) => {
      const layout = byName.get(name)!;
      const host = k === 0 ? 'gw' : 'risk';
      const rec = new Uint8Array(layout.size);
      const view = new DataView(rec.buffer);
      view.setUint32(0, layout.id, true);
      for (const f of layout.fields) {
        if (f.name === 'txn') f.size === 8 ? view.setBigUint64(f.offset, BigInt(t), true) : view.setUint32(f.offset, t, true);
        else if (f.name === 'latency') f.size === 8 ? view.setBigUint64(f.offset, 7000n, true) : view.setUint32(f.offset, 7000, true);
      }
      const wall = base + BigInt(t) * 10_000n + BigInt(k) * 1000n;
      const h = builders.get(host)!;
      h.b.add(rec, Number(wall & 0xffffffffn), Number(wall >> 32n));
      if (h.b.count >= 2000) flush(host);
    });
  }
  for (const host of builders.keys()) flush(host);
  return out;
}

class Msg {
  constructor(readonly data: Uint8Array) {}
  ack() {}
  working() {}
}

async function main(): Promise<void> {
  const bundle = await orderPathBundle();
  const manifest = bundle.manifest;
  const txns = Math.floor(N / PER_TXN);
  progress(`building ${N} events of ${txns} transactions`);
  const batches = makeBatches(manifest, txns, PER_TXN);
  const events = txns * PER_TXN;

  // Baseline: decode each batch and read every event's transaction key, nothing more.
  const txnFields = new Map(manifest.events.map((e) => [e.id, e.fields.find((f) => f.name === 'txn')!]));
  const baseline = () => {
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    let sum = 0;
    for (const bytes of batches) {
      for (const r of decodeEventBatch(bytes).records) {
        const view = new DataView(r.data.buffer, r.data.byteOffset, r.data.byteLength);
        sum += Number(readField(view, 0, txnFields.get(view.getUint32(0, true))!));
      }
    }
    const cpu = process.cpuUsage(cpu0);
    return { ms: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000, sum };
  };

  // Where the time goes: decoding events, then grouping them, then building spans.
  const cpuOf = (f: () => void) => {
    const c0 = process.cpuUsage();
    f();
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / 1000;
  };
  const parts = () => {
    const decoder = new TxnEventDecoder();
    const decodeMs = cpuOf(() => {
      for (const bytes of batches) decoder.decode(scanEventBatch(bytes), manifest);
    });
    const table = new TransactionTable<number>({ quietMs: 1e9, maxOpenMs: 1e9, maxOpen: 1e7, maxEventsPerTxn: 1024, lingerMs: 2000, maxLingering: 10_000 });
    const closed: ReturnType<typeof table.add>['closed'] = [];
    let seq = 0;
    const groupMs = cpuOf(() => {
      for (const bytes of batches) {
        seq++;
        for (const e of decoder.decode(scanEventBatch(bytes), manifest)) closed.push(...table.add(e, seq, seq, 0, false).closed);
      }
    });
    const spansMs = cpuOf(() => {
      for (const c of closed) buildSpans({ deployment: c.txn.deployment, txn: c.txn.txn, events: c.events }, 1n);
    });
    return { decodeMs, groupMs: groupMs - decodeMs, spansMs };
  };

  const config = AssemblerConfig.parse({ maxOpenTransactions: 1_000_000 });
  const assemble = async () => {
    let spans = 0;
    const core = new AssemblerCore<Msg>(config, { store: async (rows: readonly TxnSpanRow[]) => void (spans += rows.length), export: (_rows, done) => done() }, undefined, createAssemblerMetrics(), createLogger('bench', 'silent'));
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    let seq = 0;
    for (const bytes of batches) {
      core.accept(scanEventBatch(bytes), manifest, new Msg(bytes), false, ++seq);
      // As the service does (every 20 ms and 50 ms): close what is due, store what closed.
      if (seq % 20 === 0) {
        core.tick();
        await core.flush();
      }
    }
    await core.flush();
    const cpu = process.cpuUsage(cpu0);
    return { ms: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000, spans, open: core.table.openCount };
  };

  const base: number[] = [];
  const asm: number[] = [];
  const baseCpu: number[] = [];
  const asmCpu: number[] = [];
  let spans = 0;
  let open = 0;
  if (values['engine-only']) {
    const r = await assemble();
    console.log({ ms: r.ms, cpuMs: r.cpuMs, perCpuSecond: Math.round(events / (r.cpuMs / 1000)) });
    return;
  }
  progress('parts');
  const part = parts();
  if (values['parts-only']) {
    console.log(part);
    return;
  }
  for (let i = 0; i < RUNS; i++) {
    progress(`run ${i + 1}/${RUNS}`);
    const b = baseline();
    base.push(b.ms);
    baseCpu.push(b.cpuMs);
    const r = await assemble();
    asm.push(r.ms);
    asmCpu.push(r.cpuMs);
    spans = r.spans;
    open = r.open;
  }
  const rate = (ms: number) => Math.round(events / (ms / 1000));

  // Memory: open transactions that never close (no final event in the batches), heap and buffers.
  progress('memory per open transaction');
  const gc = (globalThis as { gc?: () => void }).gc;
  const memTxns = 200_000;
  const openBatches = makeBatches(manifest, memTxns, PER_TXN, 10_000_000, false);
  gc?.();
  const m0 = process.memoryUsage();
  const core = new AssemblerCore<Msg>(AssemblerConfig.parse({ maxOpenTransactions: 1_000_000, quietMs: 3_600_000 }), { store: async () => undefined }, undefined, createAssemblerMetrics(), createLogger('bench', 'silent'));
  let seq = 0;
  for (const bytes of openBatches) core.accept(scanEventBatch(bytes), manifest, new Msg(bytes), false, ++seq);
  // Every batch stays held (unacked, its bytes in memory) while a transaction it fed is open.
  const heldBytes = openBatches.reduce((n, b) => n + b.byteLength, 0);
  openBatches.length = 0;
  gc?.();
  const m1 = process.memoryUsage();
  const heapPer = (m1.heapUsed - m0.heapUsed) / core.table.openCount;
  const bufPer = heldBytes / core.table.openCount;

  say('# Assembler benchmark');
  say();
  say(`${new Date().toISOString().slice(0, 10)}, one Node.js process (one core), ${events.toLocaleString('en')} events of ${txns.toLocaleString('en')} transactions (${PER_TXN} events each: 1 on host gw, ${PER_TXN - 1} on host risk; 2 hops declared, final event declared), batches of 2,000 events as agents publish them; median of ${RUNS} runs.`);
  say(`\`node --expose-gc test/dist/bench/assembler-bench.js\` (bench/assembler.sh).`);
  say();
  say('| what | wall time | CPU time (all threads, GC included) | events/s per CPU-second | ratio (CPU) |');
  say('|---|---|---|---|---|');
  say(`| baseline: decode batches, read each event's key | ${median(base).toFixed(0)} ms | ${median(baseCpu).toFixed(0)} ms | ${rate(median(baseCpu)).toLocaleString('en')} | 1 |`);
  say(`| assembler engine: decode, partition, group, close on final, build spans | ${median(asm).toFixed(0)} ms | ${median(asmCpu).toFixed(0)} ms | ${rate(median(asmCpu)).toLocaleString('en')} | ${(median(asmCpu) / median(baseCpu)).toFixed(1)}x the baseline's |`);
  say();
  say(`Where the CPU goes (one pass each, same events): decoding batches into events ${part.decodeMs.toFixed(0)} ms, grouping them into transactions (closing on the final event) ${part.groupMs.toFixed(0)} ms more, building the spans ${part.spansMs.toFixed(0)} ms; the rest of the engine's time is storing/export bookkeeping and the garbage collector.`);
  say();
  say(`Spans built per run: ${spans.toLocaleString('en')} (root + 2 hops + 1 latency span per transaction); transactions left open: ${open}. Runs (wall): assembler ${asm.map((x) => x.toFixed(0)).join(', ')} ms; baseline ${base.map((x) => x.toFixed(0)).join(', ')} ms. Per core = per CPU-second this process used (process.cpuUsage: user + system, V8's parallel GC threads included), which a shared machine does not distort the way wall time does. Goal: >= 300,000 events/s per core.`);
  say();
  say(`Memory per open transaction (${core.table.openCount.toLocaleString('en')} open, ${PER_TXN} events each, no final event): ${Math.round(heapPer)} bytes of JS heap (events, transaction, queues) + ${Math.round(bufPer)} bytes of held batch bytes (a batch is kept until every transaction it fed is closed, stored and exported). The default bound, assembler.maxOpenTransactions = 200,000, is therefore about ${Math.round(((heapPer + bufPer) * 200_000) / (1 << 20))} MiB.`);
  writeFileSync(join(PROJECT_ROOT, 'bench', 'results', 'assembler.md'), `${lines.join('\n')}\n`);
  const asmRate = rate(median(asmCpu)), baseRate = rate(median(baseCpu));
  writeFigures({
    bench: 'assembler', title: 'Assembler benchmark', ranAt: new Date().toISOString(), command: `bash bench/assembler.sh ${process.argv.slice(2).join(' ')}`.trim(),
    figures: [
      {
        what: 'assembler engine: events/s per CPU-second (decode, group, close on final, build spans)', value: asmRate, unit: 'events/s per core',
        baseline: { what: 'decoding the same batches alone', value: baseRate }, ratio: asmRate / baseRate, ratioMeans: 'engine / decoding alone',
        goal: '>= 300,000 events/s per core', met: asmRate >= 300_000,
      },
      { what: 'memory per open transaction (5 events)', value: Math.round(heapPer + bufPer), unit: 'bytes', note: `JS heap ${Math.round(heapPer)} + held batch bytes ${Math.round(bufPer)}` },
    ],
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
