/**
 * ClickHouse shards benchmark: `tapfleet ingest` rows/s into one node, into two shards straight to
 * their local tables (`ingest.shardInserts: direct`), and into two shards through the Distributed
 * table (`distributed`); each beside clickhouse-client inserting the same rows into the same tables
 * (RowBinary, from files) in the same run. Both shards run on this machine, sharing its cores.
 * Then again with one core per server (each clickhouse-server pinned to its own CPU with taskset,
 * as if each shard had a machine of one core): the one node gets one core, two shards two. With
 * the cores shared both setups fill the same two cores, so only this pass shows what a shard adds.
 * Prints and writes bench/results/shards.md. Not a test: nothing here asserts.
 *
 *   node test/dist/bench/shards-bench.js [--events N] [--rounds R]
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { jetstream } from '@nats-io/jetstream';
import { EventRowEncoder, newEventBlock, PROBE_EVENT_COLUMNS } from '@tapfleet/ingest';
import { clickhouseClientConfigFile, connectNats, PROJECT_ROOT } from '@tapfleet/runtime';
import { scanEventBatch, EventBatchBuilder, murmurHash2_32, type Bundle, type EventBatchHeader, type TapfleetConfig } from '@tapfleet/schemas';
import { writeFigures, type Figure } from './figures.js';
import { cpuByLabel, cpuDelta } from './process-cpu.js';
import { nativeBlockToRowBinary } from './native-to-rowbinary.js';
import { eventually, FleetStack } from '../fleet/fleet-harness.js';
import { BOOT, createClickHouse, orderBundle, publishSynthetic, storeBundle, storedCount } from '../ingest/ingest-harness.js';

const { values } = parseArgs({ options: { events: { type: 'string', default: '1000000' }, rounds: { type: 'string', default: '2' } } });
const N = Number(values.events);
/** Rounds of every setup, interleaved: on a busy machine the best round of each says most about it. */
const ROUNDS = Number(values.rounds);
const progress = (s: string) => process.stderr.write(`bench: ${s}\n`);
const lines: string[] = [];
const say = (l = '') => {
  lines.push(l);
  process.stdout.write(`${l}\n`);
};
const run = promisify(execFile);

/** Ports 48440-48460 (shard 2 at 48457/48458, ingest's metrics at 48459). */
const SHARD2 = { url: 'http://127.0.0.1:48457', tcpPort: 48458 };
const METRICS = 48459;

interface Setup {
  name: string;
  config: TapfleetConfig;
  /** What the ingest process is started with on top of the stack's config. */
  ingest: Record<string, unknown>;
}

/**
 * Rows in the active parts of the setup's event tables, summed over its servers (metadata only, no
 * column read; duplicates counted until merged): the cheap progress poll. Every 100 ms a
 * uniqExact per host through the Distributed table cost more of the two shards' CPU than one node's.
 */
async function partRows(setup: Setup): Promise<number> {
  const db = setup.config.clickhouse.database;
  const servers = [setup.config.clickhouse.url, ...setup.config.clickhouse.shards.map((s) => s.url)];
  const table = servers.length > 1 ? 'probe_events_local' : 'probe_events';
  const counts = await Promise.all(servers.map(async (url) => {
    const ch = createClickHouse({ ...setup.config, clickhouse: { ...setup.config.clickhouse, url } });
    try {
      const rs = await ch.query({ query: `SELECT sum(rows) AS r FROM system.parts WHERE database = '${db}' AND table = '${table}' AND active`, format: 'JSONEachRow' });
      const [row] = await rs.json<{ r: string }>();
      return Number(row!.r);
    } finally {
      await ch.close();
    }
  }));
  return counts.reduce((a, b) => a + b, 0);
}

/**
 * `tapfleet ingest` with this setup: N events of two hosts published as fast as possible, seconds
 * until all are stored (the parts hold N more rows, then the exact check: N distinct sequences).
 */
async function timeIngest(stack: FleetStack, bundle: Bundle, setup: Setup, deploymentId: string): Promise<{ seconds: number; cpu: Map<string, number>; inserts: number }> {
  const child = stack.spawnTapfleet(['ingest'], { clickhouse: setup.config.clickhouse, ingest: { metricsPort: METRICS, ...setup.ingest } }, `ingest-${deploymentId}`);
  const ch = createClickHouse(setup.config);
  const nc = await connectNats(stack.config, { name: 'bench-shards' });
  try {
    await eventually('ingest healthy', async () => (await fetch(`http://127.0.0.1:${METRICS}/healthz`)).ok, 60_000);
    const js = jetstream(nc);
    const before = await partRows(setup);
    const cpu0 = cpuByLabel(stack.config.dataDir, [child.pid!, process.pid]);
    const t0 = performance.now();
    await Promise.all([0, 1].map((h) => publishSynthetic(js, bundle, { deploymentId, hostId: `bench-${h}`, events: N / 2 })));
    const db = setup.config.clickhouse.database;
    await eventually(`${setup.name}: ${N} rows in the parts`, async () => (await partRows(setup)) >= before + N, 900_000, 100);
    await eventually(`${setup.name}: all stored`, async () => {
      const [a, b] = await Promise.all([0, 1].map((h) => storedCount(ch, db, deploymentId, `bench-${h}`)));
      return a!.distinct + b!.distinct >= N;
    }, 900_000, 100);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuDelta(cpu0, cpuByLabel(stack.config.dataDir, [child.pid!, process.pid]));
    const metrics = await (await fetch(`http://127.0.0.1:${METRICS}/metrics`)).text();
    return { seconds, cpu, inserts: Number(/^tapfleet_ingest_insert_seconds_count ([0-9.e+]+)$/m.exec(metrics)?.[1] ?? NaN) };
  } finally {
    await ch.close();
    await nc.close();
    await stack.stopChild(child);
  }
}

/** The bench's rows as ingest would write them, as one RowBinary file and as one file per shard. */
function encodeRows(bundle: Bundle, deploymentId: string, work: string): { all: string; perShard: string[] } {
  const layout = bundle.manifest.events[0]!;
  const builder = new EventBatchBuilder(1 << 22);
  const all: Buffer[] = [];
  const shards: Buffer[][] = [[], []];
  const encoder = new EventRowEncoder();
  const rec = new Uint8Array(layout.size);
  const view = new DataView(rec.buffer);
  const perBatch = 2000;
  for (let first = 0; first < N; first += perBatch) {
    for (let i = 0; i < perBatch; i++) {
      view.setUint32(0, layout.id, true);
      for (const f of layout.fields) if (f.type !== 'str') view.setBigInt64(f.offset, BigInt(first + i), true);
      builder.add(rec, first + i, 0x19000000);
    }
    const header: EventBatchHeader = { v: 1, hostId: 'bench-file', bootId: BOOT, deploymentId, bundleId: bundle.manifest.bundleId, kernelBuildId: bundle.manifest.kernel.buildId, firstSeq: first, count: perBatch, clock: { offsetNs: 0, uncertaintyNs: 1 } };
    const batch = scanEventBatch(builder.finish(header));
    const one = newEventBlock();
    encoder.encode(batch, bundle.manifest, [one]);
    all.push(nativeBlockToRowBinary(one));
    // Split as ingest splits them (ShardRouting.shardOfKey with two targets).
    const two = [newEventBlock(), newEventBlock()];
    encoder.encode(batch, bundle.manifest, two, (key, start, end) => murmurHash2_32(key, start, end) % 2);
    two.forEach((b, i) => shards[i]!.push(nativeBlockToRowBinary(b)));
  }
  mkdirSync(work, { recursive: true });
  const write = (name: string, rows: Buffer[]) => {
    const file = join(work, name);
    writeFileSync(file, Buffer.concat(rows));
    return file;
  };
  return { all: write('all.bin', all), perShard: shards.map((w, i) => write(`shard${i + 1}.bin`, w)) };
}

/** clickhouse-client < file into one table of one server; the password through a 0600 config file. */
function clientInsert(config: TapfleetConfig, tcpPort: number, table: string, file: string, settings = ''): Promise<unknown> {
  const conf = clickhouseClientConfigFile(config);
  return run('bash', ['-c', `clickhouse-client --config-file ${conf} --host 127.0.0.1 --port ${tcpPort} ${settings} --query "INSERT INTO ${table} (${PROBE_EVENT_COLUMNS.join(', ')}) FORMAT RowBinary" < ${file}`], { maxBuffer: 1 << 20 });
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await work();
  return (performance.now() - t0) / 1000;
}

/**
 * Pins each of the stack's clickhouse-server processes (every thread) to a CPU of its own: the
 * first node (which also holds the one-node database) to CPU 0, shard 2 to CPU 1.
 */
function pinServersToOwnCores(dataDir: string): void {
  const servers = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).flatMap((pid) => {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return argv[0]?.endsWith('clickhouse-server') && argv.some((a) => a.includes(dataDir)) ? [{ pid, shard2: argv.some((a) => a.includes('clickhouse-shard')) }] : [];
    } catch {
      return [];
    }
  });
  if (servers.length !== 2) throw new Error(`expected 2 clickhouse-server processes of the bench, found ${servers.length}`);
  for (const s of servers) execFileSync('taskset', ['-a', '-p', '-c', s.shard2 ? '1' : '0', s.pid], { stdio: 'ignore' });
}

async function main(): Promise<void> {
  const stack = new FleetStack(48440, 48460, (c) => ({ ...c, clickhouse: { ...c.clickhouse, shards: [SHARD2] } }));
  const cluster = stack.config;
  const one: TapfleetConfig = { ...cluster, clickhouse: { ...cluster.clickhouse, database: 'tapfleet_one', shards: [] } };
  const work = mkdtempSync(join(tmpdir(), 'tapfleet-shards-bench-'));
  const loadBefore = loadavg()[0]!;
  try {
    await stack.up(['nats', 'clickhouse', 'redis']);
    const bundle = await orderBundle();
    await storeBundle(cluster, bundle);
    const setups: Setup[] = [
      { name: '1 node', config: one, ingest: {} },
      { name: '2 shards, direct to the local tables', config: cluster, ingest: { shardInserts: 'direct' } },
      { name: '2 shards, through the Distributed table', config: cluster, ingest: { shardInserts: 'distributed' } },
    ];
    const db = cluster.clickhouse.database;
    const rows = setups.map((_, i) => encodeRows(bundle, `d-benchfile${i}`, join(work, String(i))));
    const port1 = cluster.clickhouse.tcpPort;
    const clientInserts = [
      () => clientInsert(one, port1, 'tapfleet_one.probe_events', rows[0]!.all),
      () => Promise.all([clientInsert(cluster, port1, `${db}.probe_events_local`, rows[1]!.perShard[0]!), clientInsert(cluster, SHARD2.tcpPort, `${db}.probe_events_local`, rows[1]!.perShard[1]!)]),
      () => clientInsert(cluster, port1, `${db}.probe_events`, rows[2]!.all, '--insert_distributed_sync=1'),
    ];
    const ingestRuns: number[][] = setups.map(() => []);
    /** CPU seconds per process kind in each setup's fastest round. */
    const ingestCpu: Map<string, number>[] = setups.map(() => new Map());
    /** Inserts ingest made in that round (each one per shard with rows). */
    const ingestInserts: number[] = setups.map(() => 0);
    const clientRuns: number[][] = setups.map(() => []);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, s] of setups.entries()) {
        const { seconds: ingestS, cpu, inserts } = await timeIngest(stack, bundle, s, `d-bench${round}s${i}`);
        if (ingestS < Math.min(...ingestRuns[i]!)) [ingestCpu[i], ingestInserts[i]] = [cpu, inserts];
        const clientS = await timed(clientInserts[i]!);
        ingestRuns[i]!.push(ingestS);
        clientRuns[i]!.push(clientS);
        progress(`round ${round + 1}/${ROUNDS}, ${s.name}: ingest ${N} events in ${ingestS.toFixed(2)} s, clickhouse-client the same rows in ${clientS.toFixed(2)} s (load ${loadavg()[0]!.toFixed(1)})`);
      }
    }
    const ingestS = ingestRuns.map((r) => Math.min(...r));
    const clientS = clientRuns.map((r) => Math.min(...r));

    // One core per server: the one node (setup 0) against two shards direct (setup 1), interleaved.
    pinServersToOwnCores(stack.config.dataDir);
    const PINNED = [0, 1];
    const pinnedRuns: number[][] = PINNED.map(() => []);
    const pinnedCpu: Map<string, number>[] = PINNED.map(() => new Map());
    for (let round = 0; round < ROUNDS; round++) {
      for (const [j, i] of PINNED.entries()) {
        const { seconds, cpu } = await timeIngest(stack, bundle, setups[i]!, `d-pinned${round}s${i}`);
        if (seconds < Math.min(...pinnedRuns[j]!)) pinnedCpu[j] = cpu;
        pinnedRuns[j]!.push(seconds);
        progress(`one core per server, round ${round + 1}/${ROUNDS}, ${setups[i]!.name}: ingest ${N} events in ${seconds.toFixed(2)} s (load ${loadavg()[0]!.toFixed(1)})`);
      }
    }
    const pinnedS = pinnedRuns.map((r) => Math.min(...r));
    const loadAfter = loadavg()[0]!;

    const rate = (s: number) => Math.round(N / s);
    say('# ClickHouse shards benchmark');
    say();
    say(`Run ${new Date().toISOString()}: two clickhouse-server 18.16 processes on this one machine (they share its cores), probe_events with both materialized views on each shard. Load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after.`);
    say();
    say(`Best of ${ROUNDS} rounds, the setups interleaved in each round (every round's seconds in brackets).`);
    say();
    say('| setup | tapfleet ingest: s | rows/s | clickhouse-client, same rows, same tables: s | rows/s | ingest / client |');
    say('|---|---|---|---|---|---|');
    const rounds = (r: number[]) => `[${r.map((x) => x.toFixed(2)).join(', ')}]`;
    setups.forEach((s, i) => say(`| ${s.name} | ${ingestS[i]!.toFixed(2)} ${rounds(ingestRuns[i]!)} | ${rate(ingestS[i]!).toLocaleString('en')} | ${clientS[i]!.toFixed(2)} ${rounds(clientRuns[i]!)} | ${rate(clientS[i]!).toLocaleString('en')} | ${(clientS[i]! / ingestS[i]!).toFixed(2)} |`));
    say();
    say('CPU seconds in each setup\'s fastest ingest round (publishing included: `node` is the bench publishing the events; both shards\' servers are one clickhouse-server figure):');
    say();
    const cpuText = (cpu: Map<string, number>) => [...cpu].filter(([, v]) => v >= 0.05).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ');
    setups.forEach((s, i) => say(`- ${s.name}: ${cpuText(ingestCpu[i]!)}; ingest made ${ingestInserts[i]} inserts (of all shards' rows; ${Math.round(N / ingestInserts[i]!).toLocaleString('en')} rows each on average)`));
    say();
    say(`${N} events per setup, from two hosts, each event its own transaction key (so rows spread over both shards). The clickhouse-client rows for two shards direct are split by the same key into one file per shard, inserted by two clients at once; through the Distributed table with insert_distributed_sync=1, as ingest does.`);
    const figures: Figure[] = setups.map((s, i) => ({
      what: `ingest, ${s.name}`, value: rate(ingestS[i]!), unit: 'rows/s',
      baseline: { what: `clickhouse-client, same rows, same tables (${s.name})`, value: rate(clientS[i]!) },
      ratio: clientS[i]! / ingestS[i]!, ratioMeans: 'ingest / clickhouse-client',
    }));
    // Round by round the two write paths ran minutes apart at most: their pairing says more than bests taken at different moments.
    const directWins = ingestRuns[1]!.filter((d, r) => d < ingestRuns[2]![r]!).length;
    const sum = (r: number[]) => r.reduce((a, b) => a + b, 0);
    const pathRatio = sum(ingestRuns[2]!) / sum(ingestRuns[1]!);
    say();
    say(`Direct vs through the Distributed table, round by round: direct faster in ${directWins} of ${ROUNDS} rounds; all rounds together, the Distributed path took ${pathRatio.toFixed(2)}x the direct one's time.`);
    say();
    say('## One core per server');
    say();
    say('Each clickhouse-server pinned to a CPU of its own (`taskset -a -p -c`), as if each shard were a machine with one core: the one node gets one core for its inserts and merges, two shards get two. `tapfleet ingest` and the publishing bench float over both. Best of the rounds, interleaved:');
    say();
    say('| setup | tapfleet ingest: s | rows/s |');
    say('|---|---|---|');
    PINNED.forEach((i, j) => say(`| ${setups[i]!.name}, one core per server | ${pinnedS[j]!.toFixed(2)} ${rounds(pinnedRuns[j]!)} | ${rate(pinnedS[j]!).toLocaleString('en')} |`));
    say();
    PINNED.forEach((i, j) => say(`- ${setups[i]!.name}: ${cpuText(pinnedCpu[j]!)}`));
    const scaling = pinnedS[0]! / pinnedS[1]!;
    say();
    say(`Two shards store ${scaling.toFixed(2)}x the rows per second of one node when each server has a core of its own.`);
    figures.push({ what: 'ingest, 2 shards direct, one core per clickhouse-server', value: rate(pinnedS[1]!), unit: 'rows/s', baseline: { what: '1 node on one core', value: rate(pinnedS[0]!) }, ratio: scaling, ratioMeans: '2 shards / 1 node', goal: '> 1x (a shard adds throughput)', met: scaling > 1 });
    figures.push({ what: 'ingest into 2 shards: time through the Distributed table / time direct, all rounds', value: Number(pathRatio.toFixed(2)), unit: 'x', note: `direct faster in ${directWins} of ${ROUNDS} rounds` });
    figures.push({ what: 'ingest, 2 shards direct vs 1 node (same machine)', value: Number((ingestS[0]! / ingestS[1]!).toFixed(2)), unit: 'x', note: `through the Distributed table: ${(ingestS[0]! / ingestS[2]!).toFixed(2)}x` });
    writeFigures({ bench: 'shards', title: 'ClickHouse shards benchmark', ranAt: new Date().toISOString(), command: `bash bench/shards.sh ${process.argv.slice(2).join(' ')}`.trim(), figures });
  } finally {
    await stack.cleanup();
    rmSync(work, { recursive: true, force: true });
  }
  mkdirSync(join(PROJECT_ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(PROJECT_ROOT, 'bench', 'results', 'shards.md'), `${lines.join('\n')}\n`);
  progress('wrote bench/results/shards.md');
}

await main();
