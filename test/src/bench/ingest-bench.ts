/**
 * Ingest benchmark: sustained events/s from JetStream into ClickHouse through
 * `tapfleet ingest`, side by side with clickhouse-client inserting the same rows
 * (RowBinary, from a file) in the same run; and publish-to-queryable latency.
 * Prints and writes bench/results/ingest.md. Not a test: nothing here asserts.
 *
 *   node test/dist/bench/ingest-bench.js [--events N]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeFigures } from './figures.js';
import { jetstream } from '@nats-io/jetstream';
import { EventRowEncoder, PROBE_EVENT_COLUMNS, RowBinaryWriter } from '@tapfleet/ingest';
import { clickhouseClientConfigFile, connectNats, PROJECT_ROOT } from '@tapfleet/runtime';
import { decodeEventBatch, EventBatchBuilder, batchMsgId, eventsSubject, type EventBatchHeader } from '@tapfleet/schemas';
import { eventually, FleetStack, sleep } from '../fleet/fleet-harness.js';
import { BOOT, createClickHouse, orderBundle, publishSynthetic, storeBundle, storedCount } from '../ingest/ingest-harness.js';

const { values } = parseArgs({ options: { events: { type: 'string', default: '2000000' } } });
const N = Number(values.events);
const progress = (s: string) => process.stderr.write(`bench: ${s}\n`);
const lines: string[] = [];
const say = (l = '') => {
  lines.push(l);
  process.stdout.write(`${l}\n`);
};
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

async function main(): Promise<void> {
  const stack = new FleetStack(28000, 28010);
  const db = stack.config.clickhouse.database;
  const work = mkdtempSync(join(tmpdir(), 'tapfleet-ingest-bench-'));
  try {
    await stack.up(['nats', 'clickhouse', 'redis']);
    const bundle = await orderBundle();
    await storeBundle(stack.config, bundle);
    const nc = await connectNats(stack.config, { name: 'bench-ingest' });
    const js = jetstream(nc);
    const ingest = stack.spawnTapfleet(['ingest'], { ingest: { metricsPort: 28020 } }, 'ingest');
    await eventually('ingest healthy', async () => (await fetch('http://127.0.0.1:28020/healthz')).ok, 60_000);
    const ch = createClickHouse(stack.config);

    progress(`ingest: ${N} events (2 hosts), published as fast as possible`);
    const t0 = performance.now();
    await Promise.all([0, 1].map((h) => publishSynthetic(js, bundle, { deploymentId: 'd-benchingst', hostId: `bench-${h}`, events: N / 2 })));
    const publishedS = (performance.now() - t0) / 1000;
    await eventually('all stored', async () => {
      const [a, b] = await Promise.all([0, 1].map((h) => storedCount(ch, db, 'd-benchingst', `bench-${h}`)));
      return a!.distinct + b!.distinct >= N;
    }, 600_000, 100);
    const ingestS = (performance.now() - t0) / 1000;

    progress('baseline: the same rows through clickhouse-client from a RowBinary file');
    const layout = bundle.manifest.events[0]!;
    const builder = new EventBatchBuilder(1 << 22);
    const w = new RowBinaryWriter();
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
      const header: EventBatchHeader = { v: 1, hostId: 'bench-file', bootId: BOOT, deploymentId: 'd-benchfile1', bundleId: bundle.manifest.bundleId, kernelBuildId: bundle.manifest.kernel.buildId, firstSeq: first, count: perBatch, clock: { offsetNs: 0, uncertaintyNs: 1 } };
      encoder.encode(decodeEventBatch(builder.finish(header)), bundle.manifest, () => w);
    }
    const file = join(work, 'rows.bin');
    writeFileSync(file, w.bytes());
    const t1 = performance.now();
    // The stack's password reaches clickhouse-client in a 0600 config file, never on the command line.
    const chClient = clickhouseClientConfigFile(stack.config);
    execFileSync('bash', ['-c', `clickhouse-client --config-file ${chClient} --host 127.0.0.1 --port ${stack.config.clickhouse.tcpPort} --query "INSERT INTO ${db}.probe_events (${PROBE_EVENT_COLUMNS.join(', ')}) FORMAT RowBinary" < ${file}`]);
    const fileS = (performance.now() - t1) / 1000;

    progress('publish-to-queryable latency: 100-event batches, 20 a second, 15 s');
    const sent: { lastSeq: number; at: number }[] = [];
    const queryable: number[] = [];
    let polling = true;
    const deadline = Date.now() + 60_000;
    const poller = (async () => {
      let next = 0;
      while (polling || next < sent.length) {
        const rs = await ch.query({ query: `SELECT max(seq) AS m, count() AS c FROM ${db}.probe_events WHERE deployment = 'd-benchlaten' AND host = 'lat'`, format: 'JSONEachRow' });
        const [{ m, c }] = (await rs.json<{ m: string; c: string }>()) as [{ m: string; c: string }];
        const now = performance.now();
        while (next < sent.length && Number(c) > 0 && Number(m) >= sent[next]!.lastSeq) queryable.push(now - sent[next++]!.at);
        if (!polling && Date.now() > deadline) break;
        await sleep(5);
      }
    })();
    const lb = new EventBatchBuilder();
    for (let b = 0; b < 300; b++) {
      for (let i = 0; i < 100; i++) {
        view.setUint32(0, layout.id, true);
        lb.add(rec, i, 0x19000000);
      }
      const header: EventBatchHeader = { v: 1, hostId: 'lat', bootId: BOOT, deploymentId: 'd-benchlaten', bundleId: bundle.manifest.bundleId, kernelBuildId: bundle.manifest.kernel.buildId, firstSeq: b * 100, count: 100, clock: { offsetNs: 0, uncertaintyNs: 1 } };
      sent.push({ lastSeq: b * 100 + 99, at: performance.now() });
      await js.publish(eventsSubject(header.deploymentId, header.hostId), lb.finish(header), { msgID: batchMsgId(header) });
      await sleep(50);
    }
    polling = false;
    await poller;

    const ingestRate = N / ingestS;
    const fileRate = N / fileS;
    say('# Ingest benchmark');
    say();
    say(`Run ${new Date().toISOString()}: ClickHouse ${execFileSync('clickhouse-client', ['--config-file', chClient, '--host', '127.0.0.1', '--port', String(stack.config.clickhouse.tcpPort), '--query', 'SELECT version()']).toString().trim()}, nats-server 2.9, 2 vCPU; probe_events with both materialized views attached.`);
    say();
    say('| path | rows | seconds | rows/s |');
    say('|---|---|---|---|');
    say(`| tapfleet: JetStream -> \`tapfleet ingest\` -> ClickHouse (RowBinary, ~100k-row inserts, 2 in flight, ack after insert) | ${N} | ${ingestS.toFixed(2)} | ${Math.round(ingestRate).toLocaleString('en')} |`);
    say(`| baseline: \`clickhouse-client < file\`, same rows, RowBinary, same table | ${N} | ${fileS.toFixed(2)} | ${Math.round(fileRate).toLocaleString('en')} |`);
    say();
    say(`Ratio ingest/raw: ${(ingestRate / fileRate).toFixed(2)} (goal: within 2x, i.e. >= 0.50). Publishing the ${N} events took ${publishedS.toFixed(2)} s of that.`);
    say();
    say(`Publish-to-queryable latency (${queryable.length} batches of 100 events, one every 50 ms, polled every 5 ms): p50 ${pct(queryable, 50).toFixed(0)} ms, p99 ${pct(queryable, 99).toFixed(0)} ms, max ${Math.max(...queryable).toFixed(0)} ms. Ingest's fetch waits up to \`ingest.fetchWaitMs\` (1000 ms) to fill an insert, which bounds the latency at low rates.`);
    writeFigures({
      bench: 'ingest', title: 'Ingest benchmark', ranAt: new Date().toISOString(), command: `bash bench/ingest.sh ${process.argv.slice(2).join(' ')}`.trim(),
      figures: [
        {
          what: 'ingest: JetStream -> `tapfleet ingest` -> ClickHouse', value: Math.round(ingestRate), unit: 'rows/s',
          baseline: { what: '`clickhouse-client < file`, same rows, same table', value: Math.round(fileRate) }, ratio: ingestRate / fileRate, ratioMeans: 'ingest / clickhouse-client',
          goal: 'within 2x of clickhouse-client (ratio >= 0.50)', met: ingestRate / fileRate >= 0.5,
        },
        { what: 'publish -> queryable in ClickHouse, p99 (100-event batches, 20/s)', value: Math.round(pct(queryable, 99)), unit: 'ms', note: `p50 ${pct(queryable, 50).toFixed(0)} ms` },
      ],
    });
    await ch.close();
    await nc.close();
    await stack.stopChild(ingest);
  } finally {
    await stack.cleanup();
    rmSync(work, { recursive: true, force: true });
  }
  mkdirSync(join(PROJECT_ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(PROJECT_ROOT, 'bench', 'results', 'ingest.md'), `${lines.join('\n')}\n`);
  progress('wrote bench/results/ingest.md');
}

await main();
