/**
 * `npm run bench`: every benchmark, one at a time (they share 2 cores and would measure each
 * other), each bounded by a timeout, then BENCHMARKS.md from their figures. Progress goes to
 * stderr as each starts and ends; a bench that fails or overruns is reported as such and the
 * rest still run.
 *
 *   node test/dist/bench/run-all.js [--quick] [--only a,b [--keep-others]]
 *
 * --keep-others: BENCHMARKS.md also lists every bench not in --only with the figures of its last
 * run (bench/results/NAME.json), marked as carried over with that run's date.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '@tapfleet/runtime';
import { BenchResult, readFigures } from './figures.js';
import { renderReport, type BenchRun, type Machine } from './report.js';

interface Bench {
  name: string;
  /** What it measures, for the progress line. */
  about: string;
  full: string[];
  quick: string[];
  /** Upper bound of a full run on this machine kind, with room for a slow spell; quick runs get a third. */
  timeoutMin: number;
}

/** Shortest first; the query bench (tens of millions of rows inserted) last. */
const BENCHES: Bench[] = [
  { name: 'assembler', about: 'assembler engine events/s per core vs decoding alone', full: [], quick: ['--events', '200000', '--runs', '1'], timeoutMin: 10 },
  { name: 'fleet', about: 'agent publish throughput vs raw JetStream, deploy -> running, agent footprint', full: [], quick: ['--events', '500000', '--sim-agents', '100', '--runs', '1'], timeoutMin: 15 },
  { name: 'ingest', about: 'JetStream -> ClickHouse vs clickhouse-client, publish -> queryable', full: [], quick: ['--events', '500000'], timeoutMin: 15 },
  { name: 'start', about: 'command start -> first event, tapfleet run (cached, cold) vs bpftrace -e, interleaved; tapfleet --help vs node -e 0', full: [], quick: ['--rounds', '3'], timeoutMin: 10 },
  { name: 'nats-cluster', about: '3-node NATS cluster: publish R1 vs R3, recovery after kill -9 of a node', full: [], quick: ['--messages', '1000', '--runs', '1'], timeoutMin: 15 },
  { name: 'shards', about: 'ingest into 1 ClickHouse node vs 2 shards (direct, through Distributed), each vs clickhouse-client', full: [], quick: ['--events', '300000'], timeoutMin: 20 },
  { name: 'ingest-breakdown', about: 'what each materialized view of probe_events costs an insert (clickhouse-client)', full: [], quick: ['--rows', '200000', '--rounds', '1'], timeoutMin: 10 },
  { name: 'probe-costs', about: 'probe cost, start-up and stop vs bpftrace (same sink, interleaved)', full: [], quick: ['--iterations', '200000', '--rounds', '3'], timeoutMin: 20 },
  { name: 'demo-overhead', about: 'the demo pipeline untraced vs traced (probes alone, tapfleet run, 3 agents), interleaved', full: [], quick: ['--rounds', '2', '--fixed-orders', '3000', '--max-orders', '10000'], timeoutMin: 30 },
  { name: 'transactions', about: 'probe hit -> trace visible in Jaeger and ClickHouse', full: [], quick: ['--orders', '500'], timeoutMin: 15 },
  { name: 'query', about: 'transaction lookup, hop percentiles and the page at 10M and 50M events vs Jaeger', full: [], quick: ['--sizes', '1000000', '--lookups', '50', '--runs', '5'], timeoutMin: 40 },
];

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, 'keep-others': { type: 'boolean', default: false } } });
const QUICK = values.quick === true;
const only = values.only?.split(',');
const progress = (s: string) => process.stderr.write(`bench: ${s}\n`);

/** Runs one bench script with its output shown (indented) and its tail kept for the report. */
function runBench(b: Bench, args: string[], timeoutMs: number): Promise<BenchRun> {
  const script = `bench/${b.name}.sh`;
  const t0 = performance.now();
  const loadBefore = loadavg()[0]!;
  return new Promise((resolve) => {
    // Its own process group: a timeout stops the bench and whatever it started, and nothing else.
    const child = spawn('bash', [script, ...args], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let tail = '';
    const keep = (chunk: Buffer) => {
      const text = chunk.toString();
      process.stderr.write(text.replace(/^(?=.)/gm, '    '));
      tail = (tail + text).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      // SIGINT first: the benches stop their stacks in `finally`.
      process.kill(-child.pid!, 'SIGINT');
      setTimeout(() => child.exitCode === null && process.kill(-child.pid!, 'SIGKILL'), 60_000).unref();
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      const seconds = (performance.now() - t0) / 1000;
      const outcome = timedOut ? 'timed out' : code === 0 ? 'ok' : 'failed';
      // Paths relative to the checkout: the report is committed, and a stack trace names this machine's checkout.
      const error = outcome === 'ok' ? undefined : tail.trim().split('\n').slice(-12).join('\n').replaceAll(`file://${PROJECT_ROOT}/`, '').replaceAll(`${PROJECT_ROOT}/`, '');
      resolve({ bench: b.name, script, args, seconds, outcome, load: [loadBefore, loadavg()[0]!], ...(error ? { error } : {}) });
    });
  });
}

function firstLine(cmd: string, args: string[], pick: (out: string) => string = (o) => o.trim().split('\n')[0]!): string {
  try {
    return pick(execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
  } catch {
    return 'not installed';
  }
}

function machine(): Machine {
  const model = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown';
  return { nproc: cpus().length, model, memoryGiB: totalmem() / 2 ** 30, kernel: release() };
}

function versions(): Record<string, string> {
  const dpkg = (pkg: string) => firstLine('dpkg-query', ['-W', '-f', '${Version}', pkg]);
  return {
    node: process.version,
    'nats-server': firstLine('nats-server', ['--version'], (o) => o.trim().replace(/^nats-server:\s*/, '')),
    // clickhouse-server 18.16 has no --version; the client and server come from one Debian source.
    ClickHouse: firstLine('clickhouse-client', ['--version'], (o) => /version ([\d.]+?)\.?$/im.exec(o.trim())?.[1] ?? o.trim()),
    'redis-server': firstLine('redis-server', ['--version'], (o) => /v=([\d.]+)/.exec(o)?.[1] ?? o.trim()),
    libbpf: dpkg('libbpf-dev'),
    clang: firstLine('clang', ['--version'], (o) => /version ([\d.]+)/.exec(o)?.[1] ?? o.trim()),
    bpftrace: firstLine('bpftrace', ['--version'], (o) => o.trim().replace(/^bpftrace\s*/, '')),
    chromium: firstLine('chromium', ['--version'], (o) => o.trim().replace(/^Chromium\s*/, '')),
  };
}

async function main(): Promise<void> {
  const benches = BENCHES.filter((b) => !only || only.includes(b.name));
  const budget = benches.reduce((n, b) => n + (QUICK ? Math.ceil(b.timeoutMin / 3) : b.timeoutMin), 0);
  const started = new Date();
  const t0 = performance.now();
  progress(`${benches.length} benchmarks${QUICK ? ' (quick)' : ''}, one at a time; each stops at its timeout, ${budget} min in all at most`);
  const runs: BenchRun[] = [];
  const results = new Map<string, BenchResult>();
  for (const [i, b] of benches.entries()) {
    const args = QUICK ? b.quick : b.full;
    const timeoutMin = QUICK ? Math.ceil(b.timeoutMin / 3) : b.timeoutMin;
    progress(`[${i + 1}/${benches.length}] ${b.name}: ${b.about} (timeout ${timeoutMin} min, ${((performance.now() - t0) / 60_000).toFixed(1)} min elapsed)`);
    const run = await runBench(b, args, timeoutMin * 60_000);
    runs.push(run);
    if (run.outcome === 'ok') {
      try {
        const r = readFigures(b.name);
        // A figures file older than this run is a previous run's: not this run's result.
        if (new Date(r.ranAt) >= started) results.set(b.name, r);
        else run.error = `bench/results/${b.name}.json is from ${r.ranAt}, before this run`;
      } catch (e) {
        run.error = `no figures: ${(e as Error).message}`;
      }
    }
    progress(`[${i + 1}/${benches.length}] ${b.name}: ${run.outcome} in ${run.seconds.toFixed(0)} s`);
  }
  if (values['keep-others'] && only) {
    for (const b of BENCHES) {
      if (only.includes(b.name)) continue;
      try {
        const r = readFigures(b.name);
        results.set(b.name, r);
        runs.push({ bench: b.name, script: `bench/${b.name}.sh`, args: [], seconds: 0, outcome: 'ok', load: [0, 0], carriedFrom: r.ranAt });
      } catch (e) {
        runs.push({ bench: b.name, script: `bench/${b.name}.sh`, args: [], seconds: 0, outcome: 'failed', load: [0, 0], error: `not run, and no earlier figures: ${(e as Error).message}` });
      }
    }
    // In the full run's order.
    runs.sort((a, b) => BENCHES.findIndex((x) => x.name === a.bench) - BENCHES.findIndex((x) => x.name === b.bench));
  }
  const text = renderReport({ generatedAt: new Date().toISOString(), quick: QUICK, totalSeconds: (performance.now() - t0) / 1000, budgetMinutes: budget, machine: machine(), versions: versions(), runs, results });
  writeFileSync(join(PROJECT_ROOT, 'BENCHMARKS.md'), text);
  progress(`wrote BENCHMARKS.md (${runs.filter((r) => r.outcome === 'ok').length} of ${runs.length} benchmarks finished)`);
  if (runs.some((r) => r.outcome !== 'ok')) process.exitCode = 1;
}

await main();
