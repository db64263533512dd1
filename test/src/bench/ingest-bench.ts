/**
 * Ingest benchmark, in one run on one stack:
 * - rows/s: a backlog of N events drained by `tapfleet ingest` alone (nothing else running), the
 *   same while N more are published at full speed, and clickhouse-client inserting the same rows
 *   (RowBinary, from a file) into the same table;
 * - publish-to-queryable latency of 100-event batches at a low rate (20/s, nothing else), and at a
 *   high rate (the same batches while the N events are published and stored).
 * Prints and writes bench/results/ingest.md and ingest.json. Not a test: nothing here asserts.
 *
 *   node test/dist/bench/ingest-bench.js [--events N] [--port-base P] [--cpu-prof DIR] [--fetch-messages M]
 *
 * --cpu-prof DIR runs the ingest process under `node --cpu-prof` (its profile lands in DIR).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeFigures } from './figures.js';
import { nativeBlockToRowBinary } from './native-to-rowbinary.js';
import { cpuByLabel, cpuDelta, machineBusySeconds } from './process-cpu.js';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { EventRowEncoder, newEventBlock, PROBE_EVENT_COLUMNS } from '@tapfleet/ingest';
import { clickhouseClientConfigFile, connectNats, PROJECT_ROOT, type ClickHouseClient } from '@tapfleet/runtime';
import { scanEventBatch, EventBatchBuilder, batchMsgId, eventsSubject, type Bundle, type EventBatchHeader } from '@tapfleet/schemas';
import { eventually, FleetStack, sleep } from '../fleet/fleet-harness.js';
import { BOOT, createClickHouse, orderBundle, publishSynthetic, storeBundle, storedCount } from '../ingest/ingest-harness.js';

const { values } = parseArgs({ options: { events: { type: 'string', default: '2000000' }, 'port-base': { type: 'string', default: '28000' }, 'cpu-prof': { type: 'string' }, 'fetch-messages': { type: 'string' } } });
/** ingest.fetchMessages for the run (batches per insert at most), when given; the config's default otherwise. */
const INGEST_EXTRA = values['fetch-messages'] ? { fetchMessages: Number(values['fetch-messages']) } : {};
const N = Number(values.events);
/** Its stack's ports: BASE..BASE+20 (another port base lets it run beside a test stack). */
const BASE = Number(values['port-base']);
const progress = (s: string) => process.stderr.write(`bench: ${s}\n`);
const lines: string[] = [];
const say = (l = '') => {
  lines.push(l);
  process.stdout.write(`${l}\n`);
};
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const rate = (x: number) => Math.round(x).toLocaleString('en');

/** Rows stored for the bench's throughput deployment (both hosts), distinct (host, seq) pairs: the exact check. */
async function storedRows(ch: ClickHouseClient, db: string, deployment: string): Promise<number> {
  const [a, b] = await Promise.all([0, 1].map((h) => storedCount(ch, db, deployment, `bench-${h}`)));
  return a!.distinct + b!.distinct;
}

/** Rows in probe_events' active parts, every deployment (duplicates counted until merged): metadata only, no column is read. */
async function partRows(ch: ClickHouseClient, db: string): Promise<number> {
  const rs = await ch.query({ query: `SELECT sum(rows) AS r FROM system.parts WHERE database = '${db}' AND table = 'probe_events' AND active`, format: 'JSONEachRow' });
  const [{ r }] = (await rs.json<{ r: string }>()) as [{ r: string }];
  return Number(r);
}

/**
 * Waits until N rows of `deployment` are stored; returns the seconds since `t0` (performance.now()).
 * Progress is polled every 50 ms from system.parts (metadata: `before` is the table's rows when the
 * run began), and the time taken is when the exact check (storedRows: N distinct (host, seq) of the
 * deployment) passes. A count() per poll read the deployment column of every row stored so far (38 ms
 * a poll at 2M rows): at 20 polls a second, draining 2M rows back to back with each poll,
 * clickhouse-server used 6.9-7.0 CPU s with count() and 5.7-5.9 with system.parts, and the drain
 * ran 337k rows/s instead of 380-420k: CPU the bench booked against ingest's inserts.
 */
async function untilStored(ch: ClickHouseClient, db: string, deployment: string, t0: number, before: number): Promise<number> {
  await eventually(`${deployment}: ${N} rows in probe_events' parts`, async () => (await partRows(ch, db)) >= before + N, 900_000, 50);
  // Rows of other deployments (the latency batches) may have been counted: then the exact check waits for the rest.
  await eventually(`all ${deployment} rows stored`, async () => (await storedRows(ch, db, deployment)) >= N, 900_000, 50);
  const seconds = (performance.now() - t0) / 1000;
  const distinct = await storedRows(ch, db, deployment);
  if (distinct !== N) throw new Error(`${deployment}: ${distinct} distinct rows stored, expected ${N}`);
  return seconds;
}

/**
 * Publishes 100-event batches every 50 ms until `until` resolves (or `batches` were sent) and
 * returns each batch's publish-to-queryable ms: the first poll (every 5 ms) that sees its last
 * sequence stored.
 */
async function latencyProbe(js: JetStreamClient, ch: ClickHouseClient, db: string, bundle: Bundle, hostId: string, o: { batches?: number; until?: Promise<unknown> }): Promise<number[]> {
  const layout = bundle.manifest.events[0]!;
  const rec = new Uint8Array(layout.size);
  new DataView(rec.buffer).setUint32(0, layout.id, true);
  const sent: { lastSeq: number; at: number }[] = [];
  const queryable: number[] = [];
  let publishing = true;
  const poller = (async () => {
    let next = 0;
    const deadline = () => Date.now() + 60_000;
    let giveUp = Infinity;
    while (publishing || next < sent.length) {
      const rs = await ch.query({ query: `SELECT max(seq) AS m, count() AS c FROM ${db}.probe_events WHERE deployment = 'd-benchlaten' AND host = '${hostId}'`, format: 'JSONEachRow' });
      const [{ m, c }] = (await rs.json<{ m: string; c: string }>()) as [{ m: string; c: string }];
      const now = performance.now();
      while (next < sent.length && Number(c) > 0 && Number(m) >= sent[next]!.lastSeq) queryable.push(now - sent[next++]!.at);
      if (!publishing && giveUp === Infinity) giveUp = deadline();
      if (Date.now() > giveUp) break;
      await sleep(5);
    }
  })();
  let done = false;
  void o.until?.then(() => (done = true));
  const lb = new EventBatchBuilder();
  for (let b = 0; !done && b < (o.batches ?? Infinity); b++) {
    for (let i = 0; i < 100; i++) lb.add(rec, i, 0x19000000);
    const header: EventBatchHeader = { v: 1, hostId, bootId: BOOT, deploymentId: 'd-benchlaten', bundleId: bundle.manifest.bundleId, kernelBuildId: bundle.manifest.kernel.buildId, firstSeq: b * 100, count: 100, clock: { offsetNs: 0, uncertaintyNs: 1 } };
    sent.push({ lastSeq: b * 100 + 99, at: performance.now() });
    await js.publish(eventsSubject(header.deploymentId, header.hostId), lb.finish(header), { msgID: batchMsgId(header) });
    await sleep(50);
  }
  publishing = false;
  await poller;
  return queryable;
}

/** Inserts, rows and insert seconds so far, from the ingest process's /metrics. */
async function insertStats(port: number): Promise<{ count: number; rows: number; seconds: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} ([0-9.e+]+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { count: value('tapfleet_ingest_insert_seconds_count'), rows: value('tapfleet_ingest_event_rows_inserted_total'), seconds: value('tapfleet_ingest_insert_seconds_sum') };
}

/** `tapfleet ingest` under `node --cpu-prof`, with the stack's config (as spawnTapfleet writes it). */
function spawnProfiled(stack: FleetStack, dir: string, metricsPort: number): ChildProcess {
  const c = stack.config;
  const file = join(c.dataDir, 'ingest-profiled.json');
  writeFileSync(file, JSON.stringify({ dataDir: c.dataDir, nats: c.nats, redis: c.redis, clickhouse: c.clickhouse, controlPlane: c.controlPlane, ingest: { metricsPort, ...INGEST_EXTRA } }));
  const child = spawn(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, join(PROJECT_ROOT, 'bin', 'tapfleet.js'), 'ingest', '--config', file], { stdio: 'ignore', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TAPFLEET_LOG_LEVEL: 'warn' } });
  process.on('exit', () => child.kill());
  return child;
}

/** The same rows as a RowBinary file, for clickhouse-client. */
function rowsFile(bundle: Bundle, file: string): void {
  const layout = bundle.manifest.events[0]!;
  const builder = new EventBatchBuilder(1 << 22);
  const rows: Buffer[] = [];
  const encoder = new EventRowEncoder();
  const rec = new Uint8Array(layout.size);
  const view = new DataView(rec.buffer);
  for (let first = 0; first < N; first += 2000) {
    for (let i = 0; i < 2000; i++) {
      view.setUint32(0, layout.id, true);
      for (const f of layout.fields) if (f.type !== 'str') view.setBigInt64(f.offset, BigInt(first + i), true);
      builder.add(rec, first + i, 0x19000000);
    }
    const header: EventBatchHeader = { v: 1, hostId: 'bench-file', bootId: BOOT, deploymentId: 'd-benchfile1', bundleId: bundle.manifest.bundleId, kernelBuildId: bundle.manifest.kernel.buildId, firstSeq: first, count: 2000, clock: { offsetNs: 0, uncertaintyNs: 1 } };
    const block = newEventBlock();
    encoder.encode(scanEventBatch(builder.finish(header)), bundle.manifest, [block]);
    rows.push(nativeBlockToRowBinary(block));
  }
  writeFileSync(file, Buffer.concat(rows));
}

async function main(): Promise<void> {
  const stack = new FleetStack(BASE, BASE + 10);
  const db = stack.config.clickhouse.database;
  const work = mkdtempSync(join(tmpdir(), 'tapfleet-ingest-bench-'));
  const metricsPort = BASE + 20;
  try {
    await stack.up(['nats', 'clickhouse', 'redis']);
    const bundle = await orderBundle();
    await storeBundle(stack.config, bundle);
    const nc = await connectNats(stack.config, { name: 'bench-ingest' });
    const js = jetstream(nc);
    const migrated = stack.cli(['db', 'migrate']);
    if (migrated.code !== 0) throw new Error(`migrate failed: ${migrated.stderr}`);
    const ch = createClickHouse(stack.config);

    progress(`drain: ${N} events (2 hosts) published first, then ingest started`);
    await Promise.all([0, 1].map((h) => publishSynthetic(js, bundle, { deploymentId: 'd-benchdrain', hostId: `bench-${h}`, events: N / 2 })));
    const ingest = values['cpu-prof'] ? spawnProfiled(stack, values['cpu-prof'], metricsPort) : stack.spawnTapfleet(['ingest'], { ingest: { metricsPort, ...INGEST_EXTRA } }, 'ingest');
    await eventually('ingest healthy', async () => (await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).ok, 60_000, 20);
    const drainT0 = performance.now();
    const cpu0 = cpuByLabel(stack.config.dataDir, [ingest.pid!, process.pid]);
    const busy0 = machineBusySeconds();
    const drainRows0 = await storedRows(ch, db, 'd-benchdrain');
    const drainS = await untilStored(ch, db, 'd-benchdrain', drainT0, await partRows(ch, db) - drainRows0);
    const drainRate = (N - drainRows0) / drainS;
    const drainCpu = cpuDelta(cpu0, cpuByLabel(stack.config.dataDir, [ingest.pid!, process.pid]));
    const drainBusy = machineBusySeconds() - busy0;
    const drainInserts = await insertStats(metricsPort);

    progress('publish-to-queryable at a low rate: 100-event batches, 20 a second, 15 s, nothing else');
    const beforeLow = await insertStats(metricsPort);
    const low = await latencyProbe(js, ch, db, bundle, 'lat-low', { batches: 300 });
    const afterLow = await insertStats(metricsPort);
    const lowInserts = { count: afterLow.count - beforeLow.count, rows: afterLow.rows - beforeLow.rows, seconds: afterLow.seconds - beforeLow.seconds };

    progress(`concurrent: ${N} events published at full speed while ingest stores them, and the latency batches beside them`);
    const rowsBefore = await partRows(ch, db);
    const t0 = performance.now();
    const publishing = Promise.all([0, 1].map((h) => publishSynthetic(js, bundle, { deploymentId: 'd-benchingst', hostId: `bench-${h}`, events: N / 2 })));
    const stored = publishing.then(() => untilStored(ch, db, 'd-benchingst', t0, rowsBefore));
    const high = await latencyProbe(js, ch, db, bundle, 'lat-high', { until: stored });
    await publishing;
    const publishedS = (performance.now() - t0) / 1000;
    const ingestS = await stored;
    const concurrentRate = N / ingestS;
    await stack.stopChild(ingest);

    progress('baseline: the same rows through clickhouse-client from a RowBinary file');
    const file = join(work, 'rows.bin');
    rowsFile(bundle, file);
    // The stack's password reaches clickhouse-client in a 0600 config file, never on the command line.
    const chClient = clickhouseClientConfigFile(stack.config);
    const client = `clickhouse-client --config-file ${chClient} --host 127.0.0.1 --port ${stack.config.clickhouse.tcpPort}`;
    const cpu1 = cpuByLabel(stack.config.dataDir);
    const t1 = performance.now();
    execFileSync('bash', ['-c', `${client} --query "INSERT INTO ${db}.probe_events (${PROBE_EVENT_COLUMNS.join(', ')}) FORMAT RowBinary" < ${file}`]);
    const fileS = (performance.now() - t1) / 1000;
    const fileRate = N / fileS;
    const fileCpu = cpuDelta(cpu1, cpuByLabel(stack.config.dataDir));
    const version = execFileSync('bash', ['-c', `${client} --query "SELECT version()"`]).toString().trim();

    say('# Ingest benchmark');
    say();
    say(`Run ${new Date().toISOString()}: ClickHouse ${version}, nats-server 2.9, 2 vCPU, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} at the end; probe_events with its materialized views attached (txn_events, latency_rollup_1m); every event carries a transaction key and a latency, so every row goes through both.`);
    say();
    say('| path | rows | rows/s | vs clickhouse-client |');
    say('|---|---|---|---|');
    say(`| \`tapfleet ingest\` draining a backlog (JetStream -> Native-block inserts of up to ${values['fetch-messages'] ?? 100} batches (~2,000 rows each), 2 in flight, ack after insert) | ${N - drainRows0} | ${rate(drainRate)} | ${(drainRate / fileRate).toFixed(2)} |`);
    say(`| \`tapfleet ingest\` while the same number is published at full speed on the same machine (publishing took ${publishedS.toFixed(1)} s) | ${N} | ${rate(concurrentRate)} | ${(concurrentRate / fileRate).toFixed(2)} |`);
    say(`| baseline: \`clickhouse-client < file\`, same rows, RowBinary, same table | ${N} | ${rate(fileRate)} | 1.00 |`);
    say();
    say(`Draining, ingest made ${drainInserts.count} inserts of ${rate(drainInserts.rows / Math.max(1, drainInserts.count))} rows on average, ${(drainInserts.seconds / Math.max(1, drainInserts.count) * 1000).toFixed(0)} ms each: ClickHouse was busy with an insert of ingest's ${(drainInserts.seconds / drainS * 100).toFixed(0)}% of the drain's ${drainS.toFixed(1)} s (2 in flight at most, so up to 200%).`);
    say();
    const cpuLine = (cpu: Map<string, number>, seconds: number) => [...cpu].filter(([, v]) => v >= 0.05).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v.toFixed(1)} s (${(v / seconds * 100).toFixed(0)}% of a core)`).join(', ');
    say(`CPU while draining (${drainS.toFixed(1)} s): ${cpuLine(drainCpu, drainS)}; the whole machine was busy ${(drainBusy / drainS).toFixed(2)} cores of 2 (everyone's processes). CPU during clickhouse-client's insert (the server; the client exited before it was read) (${fileS.toFixed(1)} s): ${cpuLine(fileCpu, fileS)}.`);
    say();
    say('Publish-to-queryable (100-event batches, one every 50 ms, polled every 5 ms; ingest inserts when `ingest.fetchMessages` batches are waiting or the oldest has waited `ingest.fetchWaitMs`, 50 ms):');
    say();
    say('| rate | batches | p50 ms | p99 ms | max ms |');
    say('|---|---|---|---|---|');
    say(`| low: these batches only | ${low.length} | ${pct(low, 50).toFixed(0)} | ${pct(low, 99).toFixed(0)} | ${Math.max(...low).toFixed(0)} |`);
    say(`| high: beside the ${N} events published and stored at full speed | ${high.length} | ${pct(high, 50).toFixed(0)} | ${pct(high, 99).toFixed(0)} | ${Math.max(...high).toFixed(0)} |`);
    say();
    say(`At the low rate ingest made ${lowInserts.count} inserts of ${(lowInserts.rows / Math.max(1, lowInserts.count)).toFixed(0)} rows on average, each taking ${(lowInserts.seconds / Math.max(1, lowInserts.count) * 1000).toFixed(0)} ms in ClickHouse (of the latency above; the rest is the wait for an insert to be due, at most 50 ms, and the poll).`);
    writeFigures({
      bench: 'ingest', title: 'Ingest benchmark', ranAt: new Date().toISOString(), command: `bash bench/ingest.sh ${process.argv.slice(2).join(' ')}`.trim(),
      figures: [
        {
          what: 'ingest: a JetStream backlog -> `tapfleet ingest` -> ClickHouse', value: Math.round(drainRate), unit: 'rows/s',
          baseline: { what: '`clickhouse-client < file`, same rows, same table', value: Math.round(fileRate) }, ratio: drainRate / fileRate, ratioMeans: 'ingest / clickhouse-client',
          goal: '>= 300k rows/s on one ClickHouse 18.16 node', met: drainRate >= 300_000,
        },
        {
          what: 'ingest while the events are published on the same machine', value: Math.round(concurrentRate), unit: 'rows/s',
          baseline: { what: '`clickhouse-client < file`, same rows, same table', value: Math.round(fileRate) }, ratio: concurrentRate / fileRate, ratioMeans: 'ingest / clickhouse-client',
        },
        { what: 'publish -> queryable in ClickHouse, p99, low rate (100-event batches, 20/s)', value: Math.round(pct(low, 99)), unit: 'ms', goal: '<= 250 ms', met: pct(low, 99) <= 250, note: `p50 ${pct(low, 50).toFixed(0)} ms` },
        { what: 'publish -> queryable in ClickHouse, p99, high rate (the same batches beside a full-speed stream)', value: Math.round(pct(high, 99)), unit: 'ms', note: `p50 ${pct(high, 50).toFixed(0)} ms` },
      ],
    });
    await ch.close();
    await nc.close();
  } finally {
    await stack.cleanup();
    rmSync(work, { recursive: true, force: true });
  }
  mkdirSync(join(PROJECT_ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(PROJECT_ROOT, 'bench', 'results', 'ingest.md'), `${lines.join('\n')}\n`);
  progress('wrote bench/results/ingest.md');
}

await main();
