/**
 * NATS cluster benchmark, on the stack's 3-node JetStream cluster (`stack up --cluster`):
 * publish throughput into an R1 and an R3 stream (same cluster, same run, interleaved), and
 * recovery after kill -9 of a node under a steady agent-shaped stream (the agent's own
 * BatchPublisher: Nats-Msg-Id, disk spool, retry) flowing through `tapfleet ingest` into
 * ClickHouse: time from the kill to the first acked publish, to the first event published
 * after the kill being stored, and to the publish rate back at its pre-kill level.
 * Prints and writes bench/results/nats-cluster.md. Not a test: nothing here asserts.
 *
 *   node test/dist/bench/nats-cluster-bench.js [--messages N] [--runs N]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { jetstream, jetstreamManager, StorageType, type JetStreamClient } from '@nats-io/jetstream';
import { BatchPublisher, DiskSpool, Ledgers } from '@tapfleet/host-agent';
import { connectNats, natsClusterNodes, PROJECT_ROOT, type NatsConnection, type NatsNode } from '@tapfleet/runtime';
import { batchMsgId, EVENTS_STREAM, INGEST_CONSUMERS, EventBatchBuilder, eventsSubject, type Bundle, type EventBatchHeader } from '@tapfleet/schemas';
import { writeFigures, type Figure } from './figures.js';
import { eventually, FleetStack, sleep } from '../fleet/fleet-harness.js';
import { BOOT, createClickHouse, orderBundle, storeBundle, storedCount } from '../ingest/ingest-harness.js';
import { allThreeCurrent, killNode, nodeOf, restartDeadNodes, streamReplicas } from '../nats/nats-cluster-harness.js';

const { values } = parseArgs({ options: { messages: { type: 'string', default: '4000' }, runs: { type: 'string', default: '2' } } });
const MESSAGES = Number(values.messages);
const RUNS = Number(values.runs);
const INGEST_METRICS = 48320;
/** The steady stream: one 200-event batch every 20 ms (10,000 events/s), as one busy agent. */
const BATCH_EVENTS = 200;
const BATCH_EVERY_MS = 20;
const PUBLISHER = 'bench-nats-publisher';
const progress = (s: string) => process.stderr.write(`bench: ${s}\n`);
const EXPLANATION = [
  "A client whose node dies reconnects to another at once (it has every node's URL): killing the publisher's node costs one reconnect, and the batches spooled meanwhile are re-sent (de-duplicated by Nats-Msg-Id).",
  "When the dead node led the events stream, nothing is stored until the stream has a new leader, and nats-server's followers wait 4-9 s (the raft election timeout, minElectionTimeoutDefault..maxElectionTimeoutDefault) before they campaign; the publishes in flight to the dead leader meanwhile wait out the agent's 5 s ack timeout and are re-sent, so the first post-kill ack comes some 4-7 s later.",
  "When it led ingest's events consumer, storing waits the same election for that consumer.",
].join(' ');
/** The middle value (the mean of the two middle ones for an even count). */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
const lines: string[] = [];
const say = (l = '') => {
  lines.push(l);
  process.stdout.write(`${l}\n`);
};

/** Messages/s of `MESSAGES` 16 KiB publishes (64 awaiting their ack) into a fresh stream of `replicas` copies. */
async function publishRate(nc: NatsConnection, replicas: number, round: number): Promise<number> {
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const name = `BENCH_R${replicas}_${round}`;
  await jsm.streams.add({ name, subjects: [`bench.r${replicas}.${round}`], storage: StorageType.File, num_replicas: replicas });
  const payload = new Uint8Array(16 << 10).fill(7);
  const inflight = new Set<Promise<unknown>>();
  const t0 = performance.now();
  for (let i = 0; i < MESSAGES; i++) {
    const p = js.publish(`bench.r${replicas}.${round}`, payload, { msgID: `${name}-${i}` });
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
    if (inflight.size >= 64) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  const rate = MESSAGES / ((performance.now() - t0) / 1000);
  await jsm.streams.delete(name);
  return rate;
}

interface Ack {
  at: number;
  msgId: string;
}

/** The agent's publisher with every ack noted: a JetStream client whose publish records when (and which batch) it resolved. */
function timedJetStream(js: JetStreamClient, acks: Ack[]): JetStreamClient {
  return new Proxy(js, {
    get(target, prop, receiver) {
      if (prop !== 'publish') return Reflect.get(target, prop, receiver);
      return async (...args: Parameters<JetStreamClient['publish']>) => {
        const ack = await target.publish(...args);
        acks.push({ at: performance.now(), msgId: args[2]?.msgID ?? '' });
        return ack;
      };
    },
  });
}

interface Recovery {
  victim: string;
  why: string;
  /** Who else was on the killed node: ingest's connection, the leader of ingest's events consumer. */
  alsoOnIt: string;
  preKillPerS: number;
  firstAckMs: number;
  storedMs: number;
  rateBackMs: number;
  rejoinMs: number;
}

/** One kill under the steady stream; the node is restarted and the streams whole again before it returns. */
async function recoveryRun(stack: FleetStack, bundle: Bundle, run: number, pick: 'publisher' | 'leader'): Promise<Recovery> {
  const dir = mkdtempSync(join(tmpdir(), 'tapfleet-nats-bench-'));
  const nc = await connectNats(stack.config, { name: PUBLISHER, reconnectForever: true });
  const acks: Ack[] = [];
  /** msgId -> first sequence of its batch: which acks are of batches made after the kill. */
  const firstSeqOf = new Map<string, number>();
  const ledgers = new Ledgers(join(dir, 'ledger'), BOOT);
  const spool = new DiskSpool(join(dir, 'spool'), 1 << 30, { onDrop: () => {}, onCorrupt: () => {} });
  const publisher = new BatchPublisher(timedJetStream(jetstream(nc), acks), spool, ledgers, { maxInFlight: 32, maxQueuedBytes: 64 << 20, ackTimeoutMs: 5000 });
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') publisher.setConnected(false);
      else if (s.type === 'reconnect') publisher.setConnected(true);
    }
  })();
  // One deployment per run: a shared one would share sequence numbers, and so Nats-Msg-Ids (de-duplicated away).
  const deploymentId = `d-natsbench${run}${pick === 'leader' ? 'l' : 'p'}`;
  const hostId = 'bench-nats';
  const layout = bundle.manifest.events[0]!;
  const record = new Uint8Array(layout.size);
  const view = new DataView(record.buffer);
  const builder = new EventBatchBuilder(1 << 20);
  let nextSeq = 0;
  const timer = setInterval(() => {
    for (let i = 0; i < BATCH_EVENTS; i++) {
      view.setUint32(0, layout.id, true);
      for (const f of layout.fields) if (f.type !== 'str') view.setBigInt64(f.offset, BigInt(nextSeq + i), true);
      builder.add(record, nextSeq + i, 0x19000000);
    }
    const header: EventBatchHeader = { v: 1, hostId, bootId: BOOT, deploymentId, bundleId: bundle.manifest.bundleId, kernelBuildId: bundle.manifest.kernel.buildId, firstSeq: nextSeq, count: BATCH_EVENTS, clock: { offsetNs: 0, uncertaintyNs: 1 } };
    firstSeqOf.set(batchMsgId(header), nextSeq);
    publisher.submit({ subject: eventsSubject(deploymentId, hostId), msgId: batchMsgId(header), bytes: builder.finish(header), deploymentId, firstSeq: nextSeq, count: BATCH_EVENTS });
    nextSeq += BATCH_EVENTS;
  }, BATCH_EVERY_MS);
  const ch = createClickHouse(stack.config);
  try {
    await sleep(8000); // warm-up, then the 5 s before the kill are the reference rate
    const victim = pick === 'publisher'
      ? await eventually('the publisher\'s node', () => nodeOf(stack.config, PUBLISHER), 20_000, 100)
      : await leaderNode(stack);
    const also = await alsoOn(stack, victim);
    const killAt = performance.now();
    await killNode(stack.config, victim);
    // Batches made once the process is gone (not merely signalled) cannot have reached it.
    const seqAfterKill = nextSeq;
    const times = () => acks.map((a) => a.at);
    const preKillPerS = times().filter((t) => t > killAt - 5000 && t <= killAt).length / 5 * BATCH_EVENTS;
    const stored = await eventually('an event published after the kill stored', async () => {
      const [r] = await (await ch.query({ query: `SELECT count() AS n FROM ${stack.config.clickhouse.database}.probe_events WHERE deployment = '${deploymentId}' AND host = '${hostId}' AND seq >= ${seqAfterKill}`, format: 'JSONEachRow' })).json<{ n: string }>();
      return Number(r!.n) > 0 ? performance.now() : undefined;
    }, 120_000, 25);
    // The rate is back once a 1 s window wholly after the kill has as many acks as the reference.
    const perWindow = preKillPerS / BATCH_EVENTS;
    const rateBack = await eventually('the publish rate back at its pre-kill level', () => {
      for (let start = killAt; start + 1000 <= performance.now(); start += 50)
        if (times().filter((t) => t > start && t <= start + 1000).length >= perWindow) return start + 1000;
      return undefined;
    }, 120_000, 200);
    const firstAck = acks.find((a) => (firstSeqOf.get(a.msgId) ?? -1) >= seqAfterKill)!.at;
    clearInterval(timer);
    await publisher.idle(60_000);
    const restartAt = performance.now();
    await restartDeadNodes(stack.config);
    await eventually('every stream at three current replicas', async () => allThreeCurrent(await streamReplicas(stack.config)), 120_000, 250);
    const rejoinMs = performance.now() - restartAt;
    const total = nextSeq;
    await eventually('every event of the run stored', async () => (await storedCount(ch, stack.config.clickhouse.database, deploymentId, hostId)).distinct >= total, 300_000, 250);
    const c = await storedCount(ch, stack.config.clickhouse.database, deploymentId, hostId);
    if (c.rows !== c.distinct) progress(`run ${run} (${pick}): ${c.rows - c.distinct} rows stored twice`);
    return {
      victim: victim.serverName, why: pick === 'publisher' ? "the publisher's node" : 'the events stream leader', alsoOnIt: also, preKillPerS,
      firstAckMs: firstAck - killAt, storedMs: stored - killAt, rateBackMs: rateBack - killAt, rejoinMs,
    };
  } finally {
    clearInterval(timer);
    publisher.close();
    await ch.close();
    await nc.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What else the victim serves: ingest's connection, the leader of ingest's events consumer (either stalls storing). */
async function alsoOn(stack: FleetStack, victim: NatsNode): Promise<string> {
  const out: string[] = [];
  if ((await nodeOf(stack.config, 'tapfleet-ingest'))?.service === victim.service) out.push('ingest connection');
  const nc = await connectNats(stack.config, { name: 'bench-nats-info' });
  try {
    const info = await (await jetstreamManager(nc)).consumers.info(EVENTS_STREAM, INGEST_CONSUMERS.events.name);
    if (info.cluster?.leader === victim.serverName) out.push('ingest consumer leader');
  } finally {
    await nc.close();
  }
  return out.join(', ') || '-';
}

/** The node leading the events stream's raft group. */
async function leaderNode(stack: FleetStack): Promise<NatsNode> {
  const leader = (await streamReplicas(stack.config)).find((r) => r.stream === EVENTS_STREAM)?.leader;
  const node = natsClusterNodes(stack.config).find((n) => n.serverName === leader);
  if (!node) throw new Error(`no events stream leader (${leader})`);
  return node;
}

async function main(): Promise<void> {
  const stack = new FleetStack(48300, 48317, (c) => ({ ...c, nats: { ...c.nats, cluster: { nodes: 3, name: 'tapfleet', portBase: 48330 } } }));
  const load = [loadavg()[0]!];
  const figures: Figure[] = [];
  try {
    await stack.up(['nats', 'clickhouse', 'redis']);
    const bundle = await orderBundle();
    await storeBundle(stack.config, bundle);
    const nc = await connectNats(stack.config, { name: 'bench-nats-throughput' });
    progress(`publish throughput: ${MESSAGES} x 16 KiB into an R1 and an R3 stream, ${RUNS} rounds interleaved`);
    const r1: number[] = [];
    const r3: number[] = [];
    for (let round = 0; round < RUNS; round++) {
      r1.push(await publishRate(nc, 1, round));
      r3.push(await publishRate(nc, 3, round));
    }
    await nc.close();

    stack.spawnTapfleet(['ingest'], { ingest: { metricsPort: INGEST_METRICS, fetchWaitMs: 200 } }, 'ingest');
    await eventually('ingest healthy', async () => (await fetch(`http://127.0.0.1:${INGEST_METRICS}/healthz`)).ok, 60_000);
    const recoveries: Recovery[] = [];
    for (let run = 0; run < RUNS; run++)
      for (const pick of ['publisher', 'leader'] as const) {
        progress(`recovery run ${run + 1}/${RUNS}: kill -9 of ${pick === 'publisher' ? "the publisher's node" : 'the events stream leader'}`);
        recoveries.push(await recoveryRun(stack, bundle, run, pick));
      }
    load.push(loadavg()[0]!);

    say('# NATS cluster benchmark');
    say();
    say(`Run ${new Date().toISOString()}: the stack's 3-node nats-server 2.9 cluster on loopback (file storage), 2 vCPU shared; load average ${load.map((x) => x.toFixed(1)).join(' -> ')}.`);
    say();
    say(`Publish throughput, ${MESSAGES} messages of 16 KiB, 64 awaiting their ack, one client, ${RUNS} rounds interleaved (median):`);
    say();
    say('| stream | msgs/s | MiB/s | rounds |');
    say('|---|---|---|---|');
    for (const [name, xs] of [['R1 (one copy)', r1], ['R3 (three copies, acked once a majority has it)', r3]] as const)
      say(`| ${name} | ${Math.round(median(xs)).toLocaleString('en')} | ${(median(xs) / 64).toFixed(1)} | ${xs.map((x) => Math.round(x)).join(', ')} |`);
    say();
    say(`Recovery after kill -9 of one node under a steady ${(BATCH_EVENTS * 1000 / BATCH_EVERY_MS).toLocaleString('en')} events/s stream (${BATCH_EVENTS}-event batches through the agent's BatchPublisher, ingest into ClickHouse); times from the kill:`);
    say();
    say('| killed | node | also on it | pre-kill events/s | first post-kill batch acked | first post-kill event stored | rate back to pre-kill | node restarted -> streams R3 current |');
    say('|---|---|---|---|---|---|---|---|');
    for (const r of recoveries) say(`| ${r.why} | ${r.victim} | ${r.alsoOnIt} | ${Math.round(r.preKillPerS).toLocaleString('en')} | ${r.firstAckMs.toFixed(0)} ms | ${r.storedMs.toFixed(0)} ms | ${r.rateBackMs.toFixed(0)} ms | ${r.rejoinMs.toFixed(0)} ms |`);
    const all = (pick: string, f: (r: Recovery) => number) => recoveries.filter((r) => r.why === pick).map(f);
    const of = (pick: string, f: (r: Recovery) => number) => median(all(pick, f));
    const runsOf = (pick: string) => `median of ${RUNS} runs (stored: ${all(pick, (r) => r.storedMs).map((x) => x.toFixed(0)).join(', ')} ms)`;
    const pub = "the publisher's node";
    const lead = 'the events stream leader';
    say();
    say(EXPLANATION);
    figures.push(
      { what: 'JetStream publish, R3 stream (16 KiB messages, 64 in flight)', value: Math.round(median(r3)), unit: 'msgs/s', baseline: { what: 'R1 stream, same cluster, same run', value: Math.round(median(r1)) }, ratio: median(r3) / median(r1), ratioMeans: 'R3 / R1' },
      { what: "kill -9 of the publisher's node: first post-kill event stored in ClickHouse", value: Math.round(of(pub, (r) => r.storedMs)), unit: 'ms', note: `first post-kill ack ${of(pub, (r) => r.firstAckMs).toFixed(0)} ms; publish rate back ${of(pub, (r) => r.rateBackMs).toFixed(0)} ms; ${runsOf(pub)}` },
      { what: 'kill -9 of the events stream leader: first post-kill event stored in ClickHouse', value: Math.round(of(lead, (r) => r.storedMs)), unit: 'ms', note: `first post-kill ack ${of(lead, (r) => r.firstAckMs).toFixed(0)} ms; publish rate back ${of(lead, (r) => r.rateBackMs).toFixed(0)} ms; ${runsOf(lead)}` },
    );
    writeFigures({ bench: 'nats-cluster', title: 'NATS cluster benchmark', ranAt: new Date().toISOString(), command: `bash bench/nats-cluster.sh ${process.argv.slice(2).join(' ')}`.trim(), figures });
  } finally {
    await stack.cleanup();
  }
  mkdirSync(join(PROJECT_ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(PROJECT_ROOT, 'bench', 'results', 'nats-cluster.md'), `${lines.join('\n')}\n`);
  progress('wrote bench/results/nats-cluster.md');
}

await main();
