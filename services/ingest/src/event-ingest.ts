import { Readable } from 'node:stream';
import { type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { ensureDurableConsumer, publishDeadLetter, type Logger } from '@tapfleet/runtime';
import { BatchFormatError, decodeEventBatch, EVENTS_STREAM, identityMismatch, INGEST_CONSUMERS, type DecodedBatch } from '@tapfleet/schemas';
import type { BundleManifests } from './bundle-manifests.js';
import { BatchRejected, EventRowEncoder } from './event-rows.js';
import { PROBE_EVENT_COLUMNS } from './event-slots.js';
import type { IngestMetrics } from './ingest-metrics.js';
import { RowBinaryWriter } from './row-binary.js';
import type { ShardRouting } from './shard-routing.js';
import { storedSeqsSql } from '@tapfleet/schemas';
import type { SqlRunner } from './sql-runner.js';

export const EVENTS_CONSUMER = INGEST_CONSUMERS.events.name;
const ACK_WAIT_MS = 10_000;

export interface EventIngestOptions {
  /** Messages per fetch (each holds up to ~2,000 events). */
  fetchMessages: number;
  /** How long a fetch waits for messages before a smaller insert goes out. */
  fetchWaitMs: number;
  /** Inserts in flight at once (FACTS: 2 keeps the server busy without queueing). */
  insertsInFlight: number;
}

interface Group {
  msgs: JsMsg[];
  rows: number;
  /** One insert body per routing target (shard), in target order; empty ones are not sent. */
  bodies: { rows: number; body: Buffer }[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * JetStream -> ClickHouse for event batches. A durable pull consumer that replicas
 * share; each fetch becomes one RowBinary insert; messages are acked only after
 * ClickHouse confirmed the insert. When ClickHouse fails, the messages are nak'ed (they
 * stay in the stream) and fetching pauses with backoff until it answers again.
 * Redelivered messages are checked against what is stored, so a batch whose insert
 * succeeded but whose ack was lost is not stored twice. Malformed batches go to the
 * dead-letter subject with the reason and are acked: they can never succeed.
 */
export class EventIngest {
  private stopped = false;
  private clickhouseDown = false;
  private loop?: Promise<void>;
  private readonly inflight = new Set<Promise<void>>();
  private readonly encoder = new EventRowEncoder();

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly routing: ShardRouting,
    private readonly sql: SqlRunner,
    private readonly database: string,
    private readonly manifests: BundleManifests,
    private readonly metrics: IngestMetrics,
    private readonly o: EventIngestOptions,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    // A crashed replica's unacked messages come back after ack_wait, so it is short;
    // a slow insert keeps its messages with working() (see insert()).
    await ensureDurableConsumer(this.jsm, EVENTS_STREAM, { name: EVENTS_CONSUMER, filterSubject: 'tapfleet.events.>', ackWaitMs: ACK_WAIT_MS, maxAckPending: 20_000 });
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const consumer = await this.js.consumers.get(EVENTS_STREAM, EVENTS_CONSUMER);
    let backoff = 250;
    while (!this.stopped) {
      let msgs: JsMsg[] = [];
      try {
        const it = await consumer.fetch({ max_messages: this.o.fetchMessages, expires: Math.max(1000, this.o.fetchWaitMs) });
        for await (const m of it) msgs.push(m);
      } catch (e) {
        this.log.warn({ err: (e as Error).message }, 'fetch failed; retrying');
        await sleep(500);
        continue;
      }
      if (!msgs.length) continue;
      const group = await this.prepare(msgs);
      if (!group) continue;
      while (this.inflight.size >= this.o.insertsInFlight) await Promise.race(this.inflight);
      const p = this.insert(group).then((ok) => {
        if (ok) backoff = 250;
      });
      this.inflight.add(p);
      void p.finally(() => this.inflight.delete(p));
      if (this.clickhouseDown) {
        // An insert failed: wait until ClickHouse answers before fetching more.
        await Promise.all(this.inflight);
        while (!this.stopped && !(await this.ping())) {
          await sleep(backoff);
          backoff = Math.min(backoff * 2, 10_000);
        }
      }
    }
    await Promise.all(this.inflight);
  }

  private async ping(): Promise<boolean> {
    try {
      const ok = await this.routing.ping();
      if (ok) {
        this.clickhouseDown = false;
        this.metrics.clickhouseUp.set(1);
        this.log.info('ClickHouse answers again; resuming');
      }
      return ok;
    } catch {
      return false;
    }
  }

  /** Decodes, dead-letters what is malformed, de-duplicates redeliveries, encodes one insert body per routing target. */
  private async prepare(msgs: JsMsg[]): Promise<Group | undefined> {
    const writers = this.routing.targets.map(() => new RowBinaryWriter());
    const keep: JsMsg[] = [];
    for (const m of msgs) {
      let batch: DecodedBatch;
      try {
        batch = decodeEventBatch(m.data);
      } catch (e) {
        if (!(e instanceof BatchFormatError)) throw e;
        await this.deadLetter(m, e.message);
        continue;
      }
      const forged = identityMismatch(m.subject, batch.header);
      if (forged) {
        await this.deadLetter(m, forged);
        continue;
      }
      const manifest = await this.manifests.get(batch.header.bundleId).catch(() => null);
      if (manifest === null) {
        m.nak(2000); // the object store did not answer: try again later
        continue;
      }
      if (!manifest) {
        await this.deadLetter(m, `bundle ${batch.header.bundleId} is not in the object store`);
        continue;
      }
      try {
        const skip = m.info.deliveryCount > 1 ? await this.storedSeqs(batch) : undefined;
        const host = batch.header.hostId;
        const n = this.encoder.encode(batch, manifest, (txn) => writers[this.routing.shardOf(txn, host)]!, skip);
        if (skip?.size) this.metrics.duplicatesSkipped.inc(skip.size);
        this.metrics.eventsDecoded.inc(n);
      } catch (e) {
        if (e instanceof BatchRejected) {
          await this.deadLetter(m, e.message);
          continue;
        }
        this.log.warn({ err: (e as Error).message }, 'cannot check a redelivered batch; retrying later');
        m.nak(2000);
        continue;
      }
      keep.push(m);
    }
    if (!keep.length) return undefined;
    const bodies = writers.map((w) => ({ rows: w.rows, body: Buffer.from(w.bytes()) }));
    return { msgs: keep, rows: bodies.reduce((sum, b) => sum + b.rows, 0), bodies };
  }

  /** Sequences of this batch already stored (the insert went through, the ack did not). */
  private async storedSeqs(batch: DecodedBatch): Promise<Set<number>> {
    const h = batch.header;
    const rows = await this.sql.rows<{ seq: string }>(storedSeqsSql(this.database, h.deploymentId, h.hostId, h.bootId, h.firstSeq, h.count));
    return new Set(rows.map((r) => Number(r.seq)));
  }

  private async deadLetter(m: JsMsg, reason: string): Promise<void> {
    this.metrics.deadLettered.inc();
    this.log.warn({ subject: m.subject, reason }, 'malformed event batch dead-lettered');
    await publishDeadLetter(this.js, 'events', m.subject, m.data, reason);
    m.ack();
  }

  /**
   * One insert per shard with rows, in parallel; acks when all succeeded, else naks every message
   * (the batches stay in the stream; what one shard did store is skipped on redelivery, storedSeqs).
   */
  private async insert(g: Group): Promise<boolean> {
    const started = performance.now();
    // Tell JetStream these messages are still being worked on while the insert runs.
    const keepAlive = setInterval(() => g.msgs.forEach((m) => m.working()), ACK_WAIT_MS / 3);
    try {
      const sent = g.bodies.map(async ({ rows, body }, i) => {
        if (rows === 0) return;
        const target = this.routing.targets[i]!;
        const result = await target.client.exec({
          query: `INSERT INTO ${target.table} (${PROBE_EVENT_COLUMNS.join(', ')}) FORMAT RowBinary`,
          values: Readable.from([body], { objectMode: false }),
        });
        // Drain the (empty) response so the socket goes back to the pool.
        for await (const _ of result.stream) void _;
      });
      // Every shard's insert settles before the verdict: a nak while one still runs could see its batch redelivered before its rows are visible.
      const failed = (await Promise.allSettled(sent)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      for (const m of g.msgs) m.ack();
      this.metrics.rowsInserted.inc(g.rows);
      this.metrics.insertSeconds.observe((performance.now() - started) / 1000);
      return true;
    } catch (e) {
      this.metrics.insertErrors.inc();
      this.clickhouseDown = true;
      this.metrics.clickhouseUp.set(0);
      this.log.warn({ err: (e as Error).message, rows: g.rows, messages: g.msgs.length }, 'insert failed; batches stay in the stream');
      for (const m of g.msgs) m.nak(1000);
      return false;
    } finally {
      clearInterval(keepAlive);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}
