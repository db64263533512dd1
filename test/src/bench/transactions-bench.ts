/**
 * End to end, where the user waits: from the probe hit (the matcher's final USDT point firing
 * for an order) to that order's trace (all six spans) visible in Jaeger, and to its spans
 * queryable in ClickHouse, with the demo pipeline traced as three hosts by real agents. A low
 * rate (latency) and a high one (does it hold under load). Prints and writes
 * bench/results/transactions.md. Not a test: nothing here asserts.
 *
 *   node test/dist/bench/transactions-bench.js [--orders N]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeFigures, type Figure } from './figures.js';
import { PROJECT_ROOT } from '@tapfleet/runtime';
import { txnTraceId, utcDay } from '@tapfleet/schemas';
import { eventually, sleep } from '../fleet/fleet-harness.js';
import { HOPS, TracedPipeline } from '../assembler/pipeline-harness.js';

const { values } = parseArgs({ options: { orders: { type: 'string', default: '2000' } } });
const ORDERS = Number(values.orders);
const figures: Figure[] = [];
const lines: string[] = [];
const say = (l = '') => {
  lines.push(l);
  process.stdout.write(`${l}\n`);
};
const progress = (s: string) => process.stderr.write(`bench: ${s}\n`);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const nowNs = () => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));

interface Seen {
  jaegerNs?: bigint;
  clickhouseNs?: bigint;
}

async function measure(p: TracedPipeline, firstId: number, count: number, rate: number, sampleEvery: number): Promise<{ jaeger: number[]; clickhouse: number[]; sampled: number }> {
  const dep = p.deploymentId;
  const sampled = Array.from({ length: Math.floor(count / sampleEvery) }, (_, i) => firstId + i * sampleEvery + Math.floor(sampleEvery / 2));
  const seen = new Map<number, Seen>(sampled.map((id) => [id, {}]));
  let running = true;
  const day = utcDay(nowNs());
  // Watchers: poll Jaeger and ClickHouse for every sampled order until its trace is whole.
  // Only orders already sent (the client sends at a steady rate from now) are polled, in parallel:
  // polling every sampled order one after another would itself add the loop's time to each.
  const t0 = Date.now();
  const sent = (id: number) => t0 + ((id - firstId) * 1000) / rate <= Date.now();
  const jaegerWatch = (async () => {
    for (;;) {
      const open = [...seen].filter(([id, s]) => !s.jaegerNs && sent(id));
      await Promise.all(open.map(async ([id, s]) => {
        const spans = await p.jaeger.getTrace(txnTraceId(dep, String(id), day)).catch(() => []);
        if (spans.length >= HOPS.length + 1) s.jaegerNs = nowNs();
      }));
      if (!running && [...seen.values()].every((s) => s.jaegerNs)) break;
      await sleep(5);
    }
  })();
  const chWatch = (async () => {
    for (;;) {
      const open = [...seen].filter(([id, s]) => !s.clickhouseNs && sent(id)).map(([id]) => `'${id}'`);
      if (open.length) {
        const rows = await p.query<{ txn: string }>(`SELECT txn FROM ${p.db}.txn_spans WHERE deployment = '${dep}' AND kind = 'txn' AND has(attr_values, 'true') AND txn IN (${open.join(',')})`);
        const t = nowNs();
        for (const r of rows) seen.get(Number(r.txn))!.clickhouseNs ??= t;
      }
      if (!running && [...seen.values()].every((s) => s.clickhouseNs)) break;
      await sleep(5);
    }
  })();
  await p.orders(count, rate, firstId);
  running = false;
  await Promise.race([Promise.all([jaegerWatch, chWatch]), sleep(60_000)]);
  // The probe hit: the matcher's order_ack event, stamped by its agent from the kernel clock.
  const hitsSql = `SELECT txn, any(ts_ns) AS ts FROM ${p.db}.probe_events WHERE deployment = '${dep}' AND event = 'match_ack' AND txn IN (${sampled.map((i) => `'${i}'`).join(',')}) GROUP BY txn`;
  const hitRows = await eventually('every sampled order\'s final event stored', async () => {
    const rows = await p.query<{ txn: string; ts: string }>(hitsSql);
    return rows.length === sampled.length ? rows : undefined;
  }, 60_000, 200).catch(() => p.query<{ txn: string; ts: string }>(hitsSql));
  const hits = new Map(hitRows.map((r) => [Number(r.txn), BigInt(r.ts)]));
  const ms = (a: bigint | undefined, b: bigint | undefined) => (a !== undefined && b !== undefined ? Number(a - b) / 1e6 : undefined);
  const jaeger = sampled.map((id) => ms(seen.get(id)!.jaegerNs, hits.get(id))).filter((x): x is number => x !== undefined);
  const clickhouse = sampled.map((id) => ms(seen.get(id)!.clickhouseNs, hits.get(id))).filter((x): x is number => x !== undefined);
  return { jaeger, clickhouse, sampled: sampled.length };
}

async function main(): Promise<void> {
  const p = new TracedPipeline({ base: 29000 });
  try {
    progress('starting the stack, the demo pipeline and three agents');
    await p.start();
    const runs: [string, number, number, number][] = [['low rate', 200, ORDERS / 4, 10], ['high rate', 2000, ORDERS * 5, 100]];
    let firstId = 1;
    say('# Transactions: probe hit to span visible');
    say();
    say(`${new Date().toISOString().slice(0, 10)}, this VM (2 cores, shared with the rest of the stack), the configuration that ships (agent batches of 2,000 events or 50 ms, assembler quiet time 500 ms as in the tests, final event declared), the demo pipeline as three hosts (one agent per stage), injected stage delays 50/20/100 us.`);
    say('`bash bench/transactions.sh`. Probe hit = the matcher\'s final USDT point (its event\'s stamp); visible = the whole trace (6 spans) returned by Jaeger\'s query API, and the complete root span readable in ClickHouse (polled every ~5 ms).');
    say();
    say('| run | orders/s | orders | sampled | to ClickHouse p50 / p99 | to Jaeger p50 / p99 |');
    say('|---|---|---|---|---|---|');
    for (const [name, rate, count, every] of runs) {
      progress(`${name}: ${count} orders at ${rate}/s`);
      const r = await measure(p, firstId, count, rate, every);
      firstId += count;
      const reasons = await (await fetch(`http://127.0.0.1:${29021}/metrics`)).text();
      progress(reasons.split('\n').filter((l) => l.startsWith('tapfleet_assembler_transactions_closed_total') || l.startsWith('tapfleet_assembler_store_seconds_sum') || l.startsWith('tapfleet_assembler_store_seconds_count') || l.startsWith('tapfleet_assembler_events_total') || l.startsWith('tapfleet_assembler_held') || l.startsWith('tapfleet_assembler_process_cpu_seconds_total')).join('; '));
      figures.push(
        { what: `probe hit -> trace whole in Jaeger, p99, ${name} (${rate} orders/s)`, value: Math.round(pct(r.jaeger, 99)), unit: 'ms', note: `p50 ${pct(r.jaeger, 50).toFixed(0)} ms; ${r.jaeger.length} of ${r.sampled} sampled seen` },
        { what: `probe hit -> spans in ClickHouse, p99, ${name} (${rate} orders/s)`, value: Math.round(pct(r.clickhouse, 99)), unit: 'ms', note: `p50 ${pct(r.clickhouse, 50).toFixed(0)} ms` },
      );
      say(`| ${name} | ${rate} | ${count} | ${r.sampled} (${r.jaeger.length} seen in Jaeger) | ${pct(r.clickhouse, 50).toFixed(0)} / ${pct(r.clickhouse, 99).toFixed(0)} ms | ${pct(r.jaeger, 50).toFixed(0)} / ${pct(r.jaeger, 99).toFixed(0)} ms |`);
    }
    say();
    say('Where the time goes: the agent holds an event up to 50 ms to fill a batch; the assembler takes each batch as it arrives, closes the transaction on its final event (once all five hops have both ends), stores the spans (inserts every 50 ms) and then exports them; Jaeger stores on receipt.');
    writeFileSync(join(PROJECT_ROOT, 'bench', 'results', 'transactions.md'), `${lines.join('\n')}\n`);
    writeFigures({ bench: 'transactions', title: 'Transactions: probe hit to span visible', ranAt: new Date().toISOString(), command: `bash bench/transactions.sh ${process.argv.slice(2).join(' ')}`.trim(), figures });
  } finally {
    await p.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
