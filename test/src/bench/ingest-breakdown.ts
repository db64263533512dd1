/**
 * Where an insert into probe_events spends ClickHouse's time: the same RowBinary rows through
 * clickhouse-client into probe_events (every materialized view attached) and into copies of it
 * with one view at a time, or none, or a plain MergeTree, or as it was before migration 0011. Prints and writes
 * bench/results/ingest-breakdown.md. Not a test: nothing here asserts.
 *
 *   node test/dist/bench/ingest-breakdown.js [--rows N] [--port-base P]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EventRowEncoder, insertEventRows, newEventBlock, PROBE_EVENT_COLUMNS, type NativeBlock } from '@tapfleet/ingest';
import { clickhouseClientConfigFile, createClickHouse } from '@tapfleet/runtime';
import { RESULTS_DIR, writeFigures } from './figures.js';
import { nativeBlockToRowBinary } from './native-to-rowbinary.js';
import { scanEventBatch, EventBatchBuilder, type EventBatchHeader, type ScannedBatch, type TapfleetConfig } from '@tapfleet/schemas';
import { FleetStack } from '../fleet/fleet-harness.js';
import { BOOT, orderBundle } from '../ingest/ingest-harness.js';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '500000' }, 'port-base': { type: 'string', default: '28100' }, rounds: { type: 'string', default: '2' } } });
const N = Number(values.rows);
const BASE = Number(values['port-base']);
const progress = (s: string) => process.stderr.write(`bench: ${s}\n`);

/** A target table: how to make it (DDL statements, {db} replaced), what it is. */
interface Variant {
  /** Its name in the results (the table, unless the same table is reached another way). */
  key?: string;
  table: string;
  /** How the rows go in: clickhouse-client (native protocol, default) or ingest's own HTTP insert (one, or 100k-row inserts 2 at a time). */
  via?: 'client' | 'http' | 'http-parallel';
  chunkRows?: number;
  inFlight?: number;
  what: string;
  ddl: string[];
}

const KEY = 'PARTITION BY date ORDER BY (deployment, event, host, ts_ns, boot_id, seq)';
/** The materialized views probe_events has had, each onto its own copy of its target table, reading `from`. */
const VIEWS = {
  txnEvents: (from: string) => [
    `CREATE TABLE {db}.${from}_te AS {db}.txn_events`,
    `CREATE MATERIALIZED VIEW {db}.${from}_te_mv TO {db}.${from}_te AS SELECT * FROM {db}.${from} WHERE txn != ''`,
  ],
  // As migration 0005 made it (0011 replaced it with a view over txn_events, computed when read).
  txnIndex: (from: string) => [
    `CREATE TABLE {db}.${from}_ti (date Date, txn String, deployment String, first_ns AggregateFunction(min, UInt64), last_ns AggregateFunction(max, UInt64), hosts AggregateFunction(groupUniqArray, String), events AggregateFunction(count)) ENGINE = AggregatingMergeTree PARTITION BY date ORDER BY (txn, deployment)`,
    `CREATE MATERIALIZED VIEW {db}.${from}_ti_mv TO {db}.${from}_ti AS SELECT date, txn, deployment, minState(ts_ns) AS first_ns, maxState(ts_ns) AS last_ns, groupUniqArrayState(host) AS hosts, countState() AS events FROM {db}.${from} WHERE txn != '' GROUP BY date, txn, deployment`,
  ],
  latency: (from: string) => [
    `CREATE TABLE {db}.${from}_lat AS {db}.latency_rollup_1m`,
    `CREATE MATERIALIZED VIEW {db}.${from}_lat_mv TO {db}.${from}_lat AS SELECT date, toStartOfMinute(toDateTime(intDiv(ts_ns, 1000000000))) AS minute, deployment, event, host, quantilesState(0.5, 0.9, 0.99, 0.999)(latency_ns) AS q, countState() AS events, maxState(latency_ns) AS max_ns FROM {db}.${from} WHERE latency_ns > 0 GROUP BY date, minute, deployment, event, host`,
  ],
};

function variants(): Variant[] {
  const rmt = (t: string) => `CREATE TABLE {db}.${t} AS {db}.probe_events ENGINE = ReplacingMergeTree ${KEY}`;
  return [
    { table: 'probe_events', what: 'probe_events as migrated now (ReplacingMergeTree + txn_events and latency_rollup_1m views)', ddl: [] },
    { key: 'http', table: 'probe_events', via: 'http', what: 'probe_events, through ingest\'s insert path (insertEventRows: HTTP, @clickhouse/client), one insert', ddl: [] },
    { key: 'http-100k-x2', table: 'probe_events', via: 'http-parallel', chunkRows: 100_000, inFlight: 2, what: 'probe_events, through ingest\'s insert path, 100k-row inserts 2 at a time', ddl: [] },
    { key: 'http-250k-x2', table: 'probe_events', via: 'http-parallel', chunkRows: 250_000, inFlight: 2, what: 'probe_events, through ingest\'s insert path, 250k-row inserts 2 at a time', ddl: [] },
    { key: 'http-250k-x1', table: 'probe_events', via: 'http-parallel', chunkRows: 250_000, inFlight: 1, what: 'probe_events, through ingest\'s insert path, 250k-row inserts 1 at a time', ddl: [] },
    { table: 'bd_before', what: 'probe_events before migration 0011 (+ the txn_index view as well)', ddl: [rmt('bd_before'), ...VIEWS.txnEvents('bd_before'), ...VIEWS.txnIndex('bd_before'), ...VIEWS.latency('bd_before')] },
    { table: 'bd_mt', what: 'same columns, MergeTree, no views', ddl: [`CREATE TABLE {db}.bd_mt AS {db}.probe_events ENGINE = MergeTree ${KEY}`] },
    { table: 'bd_rmt', what: 'same columns, ReplacingMergeTree, no views', ddl: [rmt('bd_rmt')] },
    { table: 'bd_te', what: 'ReplacingMergeTree + the txn_events copy view only', ddl: [rmt('bd_te'), ...VIEWS.txnEvents('bd_te')] },
    { table: 'bd_ti', what: 'ReplacingMergeTree + the (0005) txn_index view only', ddl: [rmt('bd_ti'), ...VIEWS.txnIndex('bd_ti')] },
    { table: 'bd_lat', what: 'ReplacingMergeTree + the latency_rollup_1m view only', ddl: [rmt('bd_lat'), ...VIEWS.latency('bd_lat')] },
  ];
}

function client(config: TapfleetConfig, args: string[], input?: string): string {
  const file = clickhouseClientConfigFile(config);
  const cmd = ['clickhouse-client', '--config-file', file, '--host', '127.0.0.1', '--port', String(config.clickhouse.tcpPort), ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return execFileSync('bash', ['-c', input ? `${cmd} < ${input}` : cmd]).toString().trim();
}

async function main(): Promise<void> {
  const stack = new FleetStack(BASE, BASE + 10);
  const db = stack.config.clickhouse.database;
  const work = mkdtempSync(join(tmpdir(), 'tapfleet-ingest-breakdown-'));
  const lines: string[] = [];
  const say = (l = '') => {
    lines.push(l);
    process.stdout.write(`${l}\n`);
  };
  try {
    await stack.up(['clickhouse']);
    const migrated = stack.cli(['db', 'migrate']);
    if (migrated.code !== 0) throw new Error(`migrate failed: ${migrated.stderr}`);
    const bundle = await orderBundle();
    const layout = bundle.manifest.events[0]!;
    const builder = new EventBatchBuilder(1 << 22);
    const batches: ScannedBatch[] = [];
    const encoder = new EventRowEncoder();
    const rec = new Uint8Array(layout.size);
    const view = new DataView(rec.buffer);
    const base = BigInt(Date.now()) * 1_000_000n;
    for (let first = 0; first < N; first += 2000) {
      for (let i = 0; i < 2000; i++) {
        view.setUint32(0, layout.id, true);
        for (const f of layout.fields) if (f.type !== 'str') view.setBigInt64(f.offset, BigInt(first + i), true);
        const wall = base + BigInt(first + i) * 1000n;
        builder.add(rec, Number(wall & 0xffffffffn), Number(wall >> 32n));
      }
      const header: EventBatchHeader = { v: 1, hostId: 'bench-file', bootId: BOOT, deploymentId: 'd-benchfile1', bundleId: bundle.manifest.bundleId, kernelBuildId: bundle.manifest.kernel.buildId, firstSeq: first, count: 2000, clock: { offsetNs: 0, uncertaintyNs: 1 } };
      batches.push(scanEventBatch(builder.finish(header)));
    }
    /** The rows as ingest's insert bodies of `rows` rows each (Native blocks). */
    const blocksOf = (rows: number): NativeBlock[] => {
      const blocks: NativeBlock[] = [];
      for (const b of batches) {
        if (!blocks.length || blocks.at(-1)!.rows >= rows) blocks.push(newEventBlock());
        encoder.encode(b, bundle.manifest, [blocks.at(-1)!]);
      }
      return blocks;
    };
    const whole = blocksOf(N)[0]!;
    const file = join(work, 'rows.bin');
    writeFileSync(file, nativeBlockToRowBinary(whole));
    const vs = variants();
    for (const v of vs) for (const s of v.ddl) client(stack.config, ['--query', s.replaceAll('{db}', db)]);
    const seconds = new Map<string, number[]>(vs.map((v) => [v.key ?? v.table, []]));
    const ch = createClickHouse(stack.config, { maxOpenConnections: 4 });
    const target = { ch, database: db, table: 'probe_events' };
    const insert = async (v: Variant) => {
      if (v.via === 'http') return insertEventRows(target, whole);
      if (v.via !== 'http-parallel') return void client(stack.config, ['--query', `INSERT INTO ${db}.${v.table} (${PROBE_EVENT_COLUMNS.join(', ')}) FORMAT RowBinary`], file);
      const queue = blocksOf(v.chunkRows ?? 100_000);
      await Promise.all(Array.from({ length: v.inFlight ?? 2 }, async () => {
        for (let c = queue.shift(); c; c = queue.shift()) await insertEventRows(target, c);
      }));
    };
    // Rounds interleave the targets so that a busy spell of the machine hits all of them.
    for (let r = 0; r < Number(values.rounds); r++) {
      for (const v of vs) {
        progress(`round ${r + 1}: ${v.key ?? v.table}`);
        const t = performance.now();
        await insert(v);
        seconds.get(v.key ?? v.table)!.push((performance.now() - t) / 1000);
      }
    }
    say('# Ingest breakdown: what an insert into probe_events costs ClickHouse');
    say();
    say(`Run ${new Date().toISOString()}: ClickHouse ${client(stack.config, ['--query', 'SELECT version()'])}, ${N} rows (the ingest bench's event: txn, latency, one number, one string) through \`clickhouse-client < file\` (RowBinary) unless the row says otherwise, ${values.rounds} rounds interleaved, best round shown; load average at the end ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')}.`);
    say();
    say('| target | best s | rows/s | vs probe_events |');
    say('|---|---|---|---|');
    const full = Math.min(...seconds.get('probe_events')!);
    for (const v of vs) {
      const best = Math.min(...seconds.get(v.key ?? v.table)!);
      say(`| ${v.what} | ${best.toFixed(2)} | ${Math.round(N / best).toLocaleString('en')} | ${(full / best).toFixed(2)}x |`);
    }
    await ch.close();
    const before = Math.min(...seconds.get('bd_before')!);
    writeFigures({
      bench: 'ingest-breakdown', title: 'Ingest breakdown (ClickHouse side)', ranAt: new Date().toISOString(), command: `bash bench/ingest-breakdown.sh ${process.argv.slice(2).join(' ')}`.trim(),
      figures: [{
        what: 'clickhouse-client into probe_events as migrated now', value: Math.round(N / full), unit: 'rows/s',
        baseline: { what: 'the same into probe_events as it was before migration 0011 (txn_index view attached)', value: Math.round(N / before) }, ratio: before / full, ratioMeans: 'now / before 0011',
      }],
    });
    writeFileSync(join(RESULTS_DIR, 'ingest-breakdown.md'), `${lines.join('\n')}\n`);
  } finally {
    await stack.cleanup();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
