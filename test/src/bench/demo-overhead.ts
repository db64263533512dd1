/**
 * The demo pipeline's overhead from being traced: the client's own orders/s and round-trip
 * p50/p99 with and without tapfleet tracing every gateway, risk and matcher USDT point (three
 * hosts, one real agent per stage, the whole stack on this machine as `npm start` runs it).
 * Rounds alternate untraced and traced (this VM's uprobe cost is bimodal: a slow spell must hit
 * both sides). Prints and writes bench/results/demo-overhead.{md,json}. Not a test: nothing asserts.
 *
 *   node test/dist/bench/demo-overhead.js [--rounds N] [--rate R] [--fixed-orders N] [--max-orders N]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateKeyPairSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { PROJECT_ROOT } from '@tapfleet/runtime';
import { loadTapsets } from '@tapfleet/compiler';
import { compileForThisHost } from '@tapfleet/local';
import { RunnerProcess, whenReady } from '@tapfleet/runner';
import { DeploymentView, FINAL_STATES, type LossCounters } from '@tapfleet/schemas';
import { demoBinaryPaths, parseClientSummary, type ClientSummary } from '../demo/demo-pipeline.js';
import { eventually, sleep } from '../fleet/fleet-harness.js';
import { DELAYS_US, TracedPipeline } from '../assembler/pipeline-harness.js';
import { cpuByLabel, cpuDelta, machineBusySeconds } from './process-cpu.js';
import { median, spread, unstableBaseline, writeFigures, type Figure } from './figures.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '6' },
    rate: { type: 'string', default: '2000' },
    'fixed-orders': { type: 'string', default: '6000' },
    'max-orders': { type: 'string', default: '20000' },
  },
});
const ROUNDS = Number(values.rounds), RATE = Number(values.rate);
const FIXED_ORDERS = Number(values['fixed-orders']), MAX_ORDERS = Number(values['max-orders']);
const STAGES = ['gateway', 'risk', 'matcher'] as const;

/**
 * Every USDT point of the three traced stages emits its order id and the kernel clock, with the
 * hops and final event the demo's trace is assembled from: what a user tracing the demo deploys.
 */
const ALL_POINTS_SCRIPT = `probe demo.gateway.order_recv { emit gw_in { txn: $order, k: nsecs } }
probe demo.gateway.order_fwd { emit gw_out { txn: $order, k: nsecs } }
probe demo.gateway.ack_fwd { emit gw_ack { txn: $order, status: $status, k: nsecs } }
probe demo.risk.order_recv { emit risk_in { txn: $order, k: nsecs } }
probe demo.risk.order_fwd { emit risk_out { txn: $order, k: nsecs } }
probe demo.risk.order_reject { emit risk_reject { txn: $order, qty: $qty, k: nsecs } }
probe demo.risk.ack_fwd { emit risk_ack { txn: $order, status: $status, k: nsecs } }
probe demo.matcher.order_recv { emit match_in { txn: $order, k: nsecs } }
probe demo.matcher.order_ack { emit match_ack { txn: $order, k: nsecs } }

hop gateway = gw_in -> gw_out;
hop to_risk = gw_out -> risk_in;
hop risk = risk_in -> risk_out;
hop to_matcher = risk_out -> match_in;
hop matcher = match_in -> match_ack;
final gw_ack;
`;
/** The same points counting in the kernel only: the probes' own cost, with nothing to consume. */
const COUNT_SCRIPT = ['gateway.order_recv', 'gateway.order_fwd', 'gateway.ack_fwd', 'risk.order_recv', 'risk.order_fwd', 'risk.order_reject', 'risk.ack_fwd', 'matcher.order_recv', 'matcher.order_ack']
  .map((p) => `probe demo.${p} { @hits["${p}"] = count(); }`).join('\n');
/** Hops the script declares: the "per traced hop" of the goal. */
const TRACED_HOPS = 5;
/** Probe hits on one filled order's round trip (gateway 3, risk 3, matcher 2). */
const HITS_PER_ORDER = 8;

const lines: string[] = [];
const say = (l = '') => {
  lines.push(l);
  process.stdout.write(`${l}\n`);
};
const progress = (s: string) => process.stderr.write(`bench: ${s}\n`);

type Mode = 'untraced' | 'count' | 'run' | 'agents';
const MODE_TEXT: Record<Mode, string> = {
  untraced: 'untraced',
  count: 'the probes alone (each point counts in a BPF map, no events)',
  run: '`tapfleet run` (runner + CLI, events as JSON lines to a tmpfs file)',
  agents: '3 agents (the whole stack on this VM)',
};

interface Round {
  mode: Mode;
  fixed: ClientSummary;
  max: ClientSummary;
  /** Kernel-side counts: events produced and lost in the ring buffer (all three hosts / the run). */
  produced?: number;
  drops?: number;
  /** What the consumer got: agents' published events, or the lines `tapfleet run` wrote. */
  delivered?: number;
  /** Host states other than running seen right after the runs (e.g. overloaded: the governor detached). */
  states: string[];
  /** CPU seconds each kind of process used during the two client runs. */
  cpu: Map<string, number>;
  /** Wall seconds of the two client runs. */
  wallS: number;
}

const sumLoss = (ls: LossCounters[]): LossCounters => ls.reduce((a, l) => ({
  producedByKernel: a.producedByKernel + l.producedByKernel, ringBufferDrops: a.ringBufferDrops + l.ringBufferDrops,
  spooled: a.spooled + l.spooled, spoolDrops: a.spoolDrops + l.spoolDrops, published: a.published + l.published,
  malformed: a.malformed + l.malformed, received: a.received + l.received,
}), { producedByKernel: 0, ringBufferDrops: 0, spooled: 0, spoolDrops: 0, published: 0, malformed: 0, received: 0 });

async function client(p: TracedPipeline, count: number, rate: number, firstId: number): Promise<ClientSummary> {
  const out = await p.orders(count, rate, firstId);
  const s = parseClientSummary(out);
  if (!s || s.acked !== count) throw new Error(`client did not get every answer: ${out}`);
  return s;
}

async function view(p: TracedPipeline, id: string): Promise<DeploymentView> {
  return p.stack.api().call('GET', `/v1/deployments/${id}`, DeploymentView);
}

async function deploy(p: TracedPipeline): Promise<string> {
  const d = await p.stack.api().call('POST', '/v1/deployments', DeploymentView, { scriptName: 'demo-all-points.tap', script: ALL_POINTS_SCRIPT, selector: { demo: 'pipeline' }, ttl: '30m', canary: false });
  await eventually('the deployment running on all three hosts', async () => {
    const v = await view(p, d.id);
    return STAGES.every((s) => v.hosts[`${s}-host`]?.state === 'running') || undefined;
  }, 60_000, 100);
  return d.id;
}

/** Stops a deployment and waits until every host has detached (the next untraced round must be). */
async function undeploy(p: TracedPipeline, id: string): Promise<void> {
  await p.stack.api().call('POST', `/v1/deployments/${id}/stop`, DeploymentView);
  await eventually('every host detached', async () => {
    const v = await view(p, id);
    return STAGES.every((s) => FINAL_STATES.includes(v.hosts[`${s}-host`]?.state ?? 'pending')) || undefined;
  }, 60_000, 100);
}

/** The three agents' loss counters once they account for every probe hit (or after 15 s, as they are). */
async function settledLoss(p: TracedPipeline, id: string, expected: number): Promise<{ loss: LossCounters; states: string[] }> {
  let last: DeploymentView | undefined;
  const total = async () => {
    last = await view(p, id);
    return sumLoss(STAGES.flatMap((s) => last!.hosts[`${s}-host`]?.loss ?? []));
  };
  const loss = await eventually('agents report every event', async () => {
    const l = await total();
    return l.producedByKernel >= expected && l.published + l.ringBufferDrops + l.spoolDrops >= l.producedByKernel ? l : undefined;
  }, 15_000, 250).catch(() => total());
  const states = STAGES.map((s) => last!.hosts[`${s}-host`]?.state ?? 'unknown').filter((s) => s !== 'running');
  return { loss, states };
}

/**
 * `tapfleet run` on the three stages (no -p: the probes fire in every process of those binaries,
 * which here are exactly the stages), stdout a file on tmpfs: the tracing runtime alone, without
 * the stack the agents publish to. Resolves once events arrive (the probes are attached).
 */
class CliRun {
  private readonly dir = mkdtempSync('/dev/shm/tapfleet-bench-');
  private readonly sink = join(this.dir, 'events.jsonl');
  private readonly child: ChildProcess;
  private stderr = '';
  readonly exited: Promise<number | null>;

  constructor(p: TracedPipeline) {
    const script = join(this.dir, 'demo-all-points.tap');
    writeFileSync(script, ALL_POINTS_SCRIPT);
    const out = openSync(this.sink, 'w');
    const binaries = Object.entries(demoBinaryPaths(p.bins)).flatMap(([n, path]) => ['--binary', `${n}=${path}`]);
    this.child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'tapfleet.js'), 'run', script, '--json', ...binaries, '--config', join(p.stack.config.dataDir, 'tapfleet.json')], { stdio: ['ignore', out, 'pipe'] });
    closeSync(out);
    this.child.stderr!.on('data', (b: Buffer) => (this.stderr += b.toString()));
    this.exited = new Promise((resolve) => this.child.on('close', resolve));
  }

  /** Sends small batches of orders until the sink grows: then every probe is attached. */
  async attached(p: TracedPipeline, nextId: () => number): Promise<void> {
    const t0 = Date.now();
    while (statSync(this.sink).size === 0) {
      if (this.child.exitCode !== null || Date.now() - t0 > 60_000) throw new Error(`tapfleet run did not start: ${this.stderr}`);
      await p.orders(20, 1000, nextId());
      await sleep(100);
    }
  }

  /** Ctrl-C, as a user stops it: its own counts of events and ring-buffer drops, and the lines written. */
  async stop(fromId: number): Promise<{ events: number; drops: number; lines: number; before: number }> {
    this.child.kill('SIGINT');
    const code = await this.exited;
    const m = /tapfleet run: (\d+) event\(s\)(?:, (\d+) dropped)?/.exec(this.stderr);
    if (code !== 0 || !m) throw new Error(`tapfleet run exited ${code}: ${this.stderr}`);
    const lines = readFileSync(this.sink, 'utf8').split('\n').filter(Boolean);
    rmSync(this.dir, { recursive: true, force: true });
    // Events of the orders that proved the probes attached (ids below fromId) are not the round's.
    const before = lines.filter((l) => Number((JSON.parse(l) as { txn: unknown }).txn) < fromId).length;
    return { events: Number(m[1]), drops: Number(m[2] ?? 0), lines: lines.length, before };
  }
}

function dumpLogs(dir: string): void {
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir)) process.stderr.write(`--- ${f} (tail)\n${readFileSync(join(dir, f), 'utf8').split('\n').slice(-15).join('\n')}\n`);
}

/**
 * The probes loaded straight into the runner (the kernel half alone), scoped to the three
 * stages; `whenReady` is the moment every probe is attached.
 */
class CountingProbes {
  private readonly dir = mkdtempSync(join(tmpdir(), 'tapfleet-bench-'));
  private runner?: RunnerProcess;

  async start(p: TracedPipeline): Promise<void> {
    const bundle = await compileForThisHost('demo-count.tap', COUNT_SCRIPT, { tapsets: loadTapsets().aliases, binaryPaths: demoBinaryPaths(p.bins), signingKey: generateKeyPairSync('ed25519').privateKey });
    const objectPath = join(this.dir, 'probe.bpf.o');
    writeFileSync(objectPath, bundle.object);
    this.runner = new RunnerProcess({ objectPath, manifest: bundle.manifest, scope: { pids: [...p.stages.values()].map((d) => d.child.pid!) } });
    await whenReady(this.runner);
  }

  async stop(): Promise<void> {
    await this.runner?.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The CPU table's row for the whole machine. */
const MACHINE = '(machine)';

/** off, X, off, Y, ...: every traced round sits between two untraced ones. */
const SCHEDULE: Mode[] = ['untraced', 'count', 'untraced', 'run', 'untraced', 'agents'];

async function main(): Promise<void> {
  const p = new TracedPipeline({ base: 29400 });
  const rounds: Round[] = [];
  try {
    progress('starting the stack, the demo pipeline and three agents');
    await p.start();
    // The harness deploys its own script; this bench deploys and stops per traced round.
    await undeploy(p, p.deploymentId);
    p.deploymentId = '';
    let firstId = 1;
    const take = (n: number) => ((firstId += n), firstId - n);
    const warm = await client(p, 2000, RATE, take(2000));
    progress(`warm-up: ${warm.ratePerS.toFixed(0)} orders/s, p99 ${warm.rttP99Us} us`);
    const total = ROUNDS * SCHEDULE.length;
    for (let i = 0; i < total; i++) {
      const mode = SCHEDULE[i % SCHEDULE.length]!;
      progress(`round ${i + 1}/${total}: ${mode}`);
      const id = mode === 'agents' ? await deploy(p) : undefined;
      const run = mode === 'run' ? new CliRun(p) : undefined;
      const counting = mode === 'count' ? new CountingProbes() : undefined;
      await counting?.start(p);
      if (run) await run.attached(p, () => take(20));
      const roundFirstId = firstId;
      const stagePids = [...p.stages.values()].map((d) => d.child.pid!);
      const cpu0 = cpuByLabel(p.stack.config.dataDir, stagePids), busy0 = machineBusySeconds(), t0 = performance.now();
      const fixed = await client(p, FIXED_ORDERS, RATE, take(FIXED_ORDERS));
      const max = await client(p, MAX_ORDERS, 0, take(MAX_ORDERS));
      // Before the runners go away with their CPU time.
      const cpu = cpuDelta(cpu0, cpuByLabel(p.stack.config.dataDir, stagePids));
      cpu.set(MACHINE, machineBusySeconds() - busy0);
      const round: Round = { mode, fixed, max, states: [], cpu, wallS: (performance.now() - t0) / 1000 };
      if (id) {
        const s = await settledLoss(p, id, (FIXED_ORDERS + MAX_ORDERS) * HITS_PER_ORDER);
        Object.assign(round, { produced: s.loss.producedByKernel, drops: s.loss.ringBufferDrops, delivered: s.loss.published, states: s.states });
        await undeploy(p, id);
      }
      await counting?.stop();
      if (run) {
        const r = await run.stop(roundFirstId);
        Object.assign(round, { produced: r.events + r.drops - r.before, drops: r.drops, delivered: r.lines - r.before });
      }
      progress(`  fixed ${fixed.ratePerS.toFixed(0)}/s p50 ${fixed.rttP50Us} p99 ${fixed.rttP99Us} us; max ${max.ratePerS.toFixed(0)}/s${round.produced !== undefined ? `; events ${round.produced}, ring buffer drops ${round.drops}` : ''}${round.states.length ? `; states ${round.states.join(',')}` : ''}`);
      rounds.push(round);
    }
  } catch (e) {
    // The stack's data dir (and its logs) goes with p.stop(): show why before it does.
    dumpLogs(join(p.stack.config.dataDir, 'logs'));
    throw e;
  } finally {
    await p.stop();
  }
  report(rounds);
}

interface Compared {
  mode: Mode;
  offMax: number; onMax: number; lostPct: number;
  offP50: number; onP50: number; offP99: number; onP99: number; p99PerHop: number;
  produced: number; drops: number; delivered: number; expected: number; detached: string[];
}

function compare(rounds: Round[], mode: Mode): Compared {
  const off = rounds.filter((r) => r.mode === 'untraced'), on = rounds.filter((r) => r.mode === mode);
  const m = (rs: Round[], f: (r: Round) => number) => median(rs.map(f));
  const offMax = m(off, (r) => r.max.ratePerS), onMax = m(on, (r) => r.max.ratePerS);
  const offP99 = m(off, (r) => r.fixed.rttP99Us), onP99 = m(on, (r) => r.fixed.rttP99Us);
  const sum = (f: (r: Round) => number | undefined) => on.reduce((n, r) => n + (f(r) ?? 0), 0);
  return {
    mode, offMax, onMax, lostPct: (1 - onMax / offMax) * 100,
    offP50: m(off, (r) => r.fixed.rttP50Us), onP50: m(on, (r) => r.fixed.rttP50Us), offP99, onP99, p99PerHop: (onP99 - offP99) / TRACED_HOPS,
    produced: sum((r) => r.produced), drops: sum((r) => r.drops), delivered: sum((r) => r.delivered),
    expected: on.length * (FIXED_ORDERS + MAX_ORDERS) * HITS_PER_ORDER,
    detached: on.flatMap((r) => r.states.map((s) => `round ${rounds.indexOf(r) + 1}: ${s}`)),
  };
}

function report(rounds: Round[]): void {
  const off = rounds.filter((r) => r.mode === 'untraced');
  const unstableTput = unstableBaseline('untraced max-rate orders/s', off.map((r) => r.max.ratePerS), 'orders/s');
  const unstableP99 = unstableBaseline('untraced p99', off.map((r) => r.fixed.rttP99Us), 'us');
  const delays = `${DELAYS_US.gateway}/${DELAYS_US.risk}/${DELAYS_US.matcher}`;
  const cs = (['count', 'run', 'agents'] as const).map((mode) => compare(rounds, mode));

  say('# Demo pipeline: overhead of being traced');
  say();
  say(`Run ${new Date().toISOString()}, this VM (2 cores, shared by the pipeline's 4 processes and, all the time, 3 idle-or-busy agents, NATS, ClickHouse, Redis, Jaeger, ingest and the assembler). \`bash bench/demo-overhead.sh ${process.argv.slice(2).join(' ')}\`.`);
  say();
  say(`The demo as the tests run it (injected busy waits gateway/risk/matcher ${delays} us), the client untraced. Traced = every gateway, risk and matcher USDT point (${HITS_PER_ORDER} probe hits per order's round trip; ${TRACED_HOPS} hops declared), three ways: *count*, the probes alone, each counting in a BPF map (loaded straight into the runner, no events: the kernel half's cost); *run*, \`tapfleet run\` with each point emitting order id + kernel clock (runner, decoding, JSON lines to a file on tmpfs: a user tracing the demo by hand); *agents*, the same script deployed to the 3 stage hosts' agents (events published to JetStream, ingested into ClickHouse, assembled into spans and exported to Jaeger, all on these same 2 cores: \`npm start\`'s configuration). Rounds in the order untraced, count, untraced, run, untraced, agents, repeated ${ROUNDS} times. Each round: ${FIXED_ORDERS} orders at a fixed ${RATE}/s (latency), then ${MAX_ORDERS} orders as fast as the client's 1000 orders in flight allow (throughput). Figures are the client's own (orders/s, round trip p50/p99 in 1 us buckets); medians over rounds, each traced mode against all untraced rounds.`);
  say();
  say('| traced by | max-rate orders/s untraced / traced | throughput lost (goal < 2%) | p50 at fixed rate, us | p99 at fixed rate, us | p99 added per traced hop (goal < 5 us) | events produced / expected | ring buffer drops | delivered |');
  say('|---|---|---|---|---|---|---|---|---|');
  for (const c of cs) {
    say(`| ${c.mode}: ${MODE_TEXT[c.mode]} | ${c.offMax.toFixed(0)} / ${c.onMax.toFixed(0)} | ${c.lostPct.toFixed(2)}%: ${c.lostPct < 2 ? 'met' : 'NOT met'} | ${c.offP50} / ${c.onP50} | ${c.offP99} / ${c.onP99} | ${c.p99PerHop.toFixed(1)} us: ${c.p99PerHop < 5 ? 'met' : 'NOT met'} | ${c.mode === 'count' ? 'no events' : `${c.produced} / ${c.expected}`} | ${c.mode === 'count' ? '' : c.drops} | ${c.mode === 'count' ? '' : c.delivered} |`);
  }
  say();
  const detached = cs.flatMap((c) => c.detached);
  say(detached.length ? `Hosts not running after a traced round (the agent's CPU governor detaches a bundle over its budget): ${detached.join('; ')}.` : 'Every agent host stayed running through every traced round.');
  for (const u of [unstableTput, unstableP99]) if (u) say(`\n**Flag:** ${u}.`);
  say();
  const labels = [...new Set(rounds.flatMap((r) => [...r.cpu.keys()]))].filter((l) => l !== MACHINE).sort();
  const modes: Mode[] = ['untraced', 'count', 'run', 'agents'];
  const cpuOf = (mode: Mode, label: string) => median(rounds.filter((r) => r.mode === mode).map((r) => (r.cpu.get(label) ?? 0) / r.wallS));
  say('Where the 2 cores went during the client runs (CPU seconds per wall second, medians over rounds; 2.0 = both cores; the client itself not counted):');
  say();
  say(`| process | ${modes.join(' | ')} |`);
  say(`|---|${modes.map(() => '---').join('|')}|`);
  for (const l of labels) say(`| ${l} | ${modes.map((m) => cpuOf(m, l).toFixed(2)).join(' | ')} |`);
  say(`| all of these | ${modes.map((m) => labels.reduce((n, l) => n + cpuOf(m, l), 0).toFixed(2)).join(' | ')} |`);
  say(`| the whole machine, everyone's processes (other engineers' too) | ${modes.map((m) => cpuOf(m, MACHINE).toFixed(2)).join(' | ')} |`);
  say();
  say('Rounds, in the order run:');
  say();
  say('| # | traced by | fixed-rate orders/s | p50 us | p99 us | max-rate orders/s | max-rate p99 us | events produced | ring buffer drops |');
  say('|---|---|---|---|---|---|---|---|---|');
  rounds.forEach((r, i) => say(`| ${i + 1} | ${r.mode} | ${r.fixed.ratePerS.toFixed(0)} | ${r.fixed.rttP50Us} | ${r.fixed.rttP99Us} | ${r.max.ratePerS.toFixed(0)} | ${r.max.rttP99Us} | ${r.produced ?? ''} | ${r.drops ?? ''} |`));
  say();
  const sp = (mode: Mode, f: (r: Round) => number) => spread(rounds.filter((r) => r.mode === mode).map(f)).toFixed(2);
  say(`Spread between rounds (max/min): max-rate throughput ${modes.map((m) => `${m} ${sp(m, (r) => r.max.ratePerS)}x`).join(', ')}; fixed-rate p99 ${modes.map((m) => `${m} ${sp(m, (r) => r.fixed.rttP99Us)}x`).join(', ')}.`);
  writeFileSync(join(PROJECT_ROOT, 'bench', 'results', 'demo-overhead.md'), `${lines.join('\n')}\n`);

  const figures: Figure[] = cs.flatMap((c): Figure[] => [
    {
      what: `demo max-rate throughput, traced by ${MODE_TEXT[c.mode]}`, value: Math.round(c.onMax), unit: 'orders/s',
      baseline: { what: 'untraced, alternating rounds', value: Math.round(c.offMax) }, ratio: c.onMax / c.offMax, ratioMeans: 'traced / untraced',
      goal: '< 2% throughput lost', met: c.lostPct < 2, ...(unstableTput ? { unstable: unstableTput } : {}), note: `${c.lostPct.toFixed(2)}% lost`,
    },
    {
      what: `demo round trip p99 at ${RATE} orders/s, traced by ${MODE_TEXT[c.mode]}`, value: c.onP99, unit: 'us',
      baseline: { what: 'untraced, alternating rounds', value: c.offP99 }, ratio: c.onP99 / c.offP99, ratioMeans: 'traced / untraced',
      goal: `< 5 us p99 added per traced hop (${TRACED_HOPS} hops)`, met: c.p99PerHop < 5, ...(unstableP99 ? { unstable: unstableP99 } : {}),
      note: `${(c.onP99 - c.offP99).toFixed(0)} us added, ${c.p99PerHop.toFixed(1)} us per hop`,
    },
    {
      what: `demo round trip p50 at ${RATE} orders/s, traced by ${MODE_TEXT[c.mode]}`, value: c.onP50, unit: 'us',
      baseline: { what: 'untraced, alternating rounds', value: c.offP50 }, ratio: c.onP50 / c.offP50, ratioMeans: 'traced / untraced',
    },
    ...(c.mode === 'count' ? [] : [{
      what: `demo events lost in the ring buffer, traced by ${MODE_TEXT[c.mode]}`, value: c.drops, unit: 'events', goal: '0', met: c.drops === 0,
      note: `of ${c.produced} produced (${c.expected} probe hits expected), ${c.delivered} delivered${c.detached.length ? `; not running after a round: ${c.detached.join('; ')}` : ''}`,
    }]),
  ]);
  writeFigures({ bench: 'demo-overhead', title: 'Demo pipeline: overhead of being traced', ranAt: new Date().toISOString(), command: `bash bench/demo-overhead.sh ${process.argv.slice(2).join(' ')}`.trim(), figures });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
