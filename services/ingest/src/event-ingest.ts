import { type ConsumerMessages, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { deadLetterMisfits, ensureDurableConsumer, JetStreamPull, publishDeadLetter, readBatchMessage, sleep, type Logger } from '@tapfleet/runtime';
import { EVENTS_DEAD_LETTER_ORIGIN, EVENTS_FILTER, EVENTS_STREAM, INGEST_CONSUMERS, storedSeqsSql, type Misfit, type ScannedBatch } from '@tapfleet/schemas';
import type { BundleManifests } from './bundle-manifests.js';
import { insertEventRows } from './event-insert.js';
import { EventRowEncoder, newEventBlock } from './event-rows.js';
import type { IngestMetrics } from './ingest-metrics.js';
import type { NativeBlock } from './native-block.js';
import type { SqlRunner } from './sql-runner.js';
import type { ShardRouting } from './shard-routing.js';

export const EVENTS_CONSUMER = INGEST_CONSUMERS.events.name;
const ACK_WAIT_MS = 10_000;

export interface EventIngestOptions {
  /**
   * Messages per insert and shard at most (each holds up to ~2,000 events); also how many are
   * pulled ahead per shard.
   */
  fetchMessages: number;
  /** How long the oldest message of an insert waits for more before a smaller insert goes out. */
  fetchWaitMs: number;
  /** Inserts in flight at once (FACTS: 2 keeps the server busy without queueing). */
  insertsInFlight: number;
}

/** The rows of one insert being filled: encoded as their messages arrive, so encoding overlaps the inserts in flight. */
interface Group {
  msgs: JsMsg[];
  /** One per routing target (shard), in target order; empty ones are not sent. */
  blocks: NativeBlock[];
  /** When it goes out even if not full (performance.now() ms). */
  due: number;
  /** Its due time was moved once already because it filled fast (see the WAKE branch of read()). */
  extended?: boolean;
}

/**
 * Rows an insert must hold when it is first due (fetchWaitMs old) to count as filling fast: at
 * least 100k rows/s with the default 50 ms. Agents' batches at low rates are small (100 events in
 * the latency bench), so a trickle never reaches it.
 */
const FAST_ROWS = 5_000;
/** How much longer (times fetchWaitMs, per shard) an insert that fills fast keeps filling before it is due again. */
const FAST_WAIT_FACTOR = 10;

/** The open insert may be due, or a slot freed. */
const WAKE = Symbol('wake');

/**
 * JetStream -> ClickHouse for event batches. A durable pull consumer that replicas share,
 * read continuously; messages are encoded into the open insert as they arrive, and the insert
 * goes out when it is full (fetchMessages messages per shard) or its oldest message is fetchWaitMs old:
 * big inserts at high rates, small fast ones at low rates. Up to insertsInFlight inserts run
 * at once; messages are acked only after ClickHouse confirmed their insert. When ClickHouse
 * fails, the messages are nak'ed (they stay in the stream) and reading pauses with backoff
 * until it answers again. Redelivered messages are checked against what is stored, so a batch
 * whose insert succeeded but whose ack was lost is not stored twice; a redelivered copy of a
 * message this process still holds is left alone (the held one's ack settles both). Malformed
 * batches go to the dead-letter subject with the reason and are acked: they can never succeed.
 * Records that fit no layout of their bundle are counted and dead-lettered; the batch's other
 * records are stored.
 */
export class EventIngest {
  private stopped = false;
  private clickhouseDown = false;
  private pull?: JetStreamPull;
  private open?: Group;
  private readonly inflight = new Set<Promise<void>>();
  /** Stream sequences held (open group or in flight): a redelivery of one of them is ignored. */
  private readonly held = new Set<number>();
  private readonly encoder = new EventRowEncoder();
  /**
   * Blocks of finished inserts, reused: an insert's columns grow to tens of MB, and allocating
   * them per insert kept the garbage collector busy for 14% of ingest's CPU.
   */
  private readonly spareBlocks: NativeBlock[][] = [];
  /**
   * Messages per insert: fetchMessages for each shard, so that each shard's part of an insert is
   * as big as one node's insert. Split in two, every shard wrote and merged twice the parts per
   * row, and two shards stored fewer rows/s than one node (bench/results/shards.md).
   */
  private get perInsert(): number {
    return this.o.fetchMessages * this.routing.targets.length;
  }

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly routing: ShardRouting,
    private readonly sql: SqlRunner,
    /** The database whose probe_events (one node's table, or the Distributed one) answers storedSeqs. */
    private readonly database: string,
    private readonly manifests: BundleManifests,
    private readonly metrics: IngestMetrics,
    private readonly o: EventIngestOptions,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    // A crashed replica's unacked messages come back after ack_wait, so it is short;
    // a slow insert keeps its messages with working() (see insert()).
    const ensure = () => ensureDurableConsumer(this.jsm, EVENTS_STREAM, { name: EVENTS_CONSUMER, filterSubject: EVENTS_FILTER, ackWaitMs: ACK_WAIT_MS, maxAckPending: 20_000 });
    await ensure();
    this.pull = new JetStreamPull({
      name: EVENTS_CONSUMER,
      // Made again when it was deleted under ingest (by hand, or a stream re-made): it then reads
      // the stream from its start, and rows stored before collapse (ReplacingMergeTree on host, boot, seq).
      open: async (again) => {
        if (again) await ensure();
        return this.js.consumers.get(EVENTS_STREAM, EVENTS_CONSUMER);
      },
      endWhenDeleted: true,
      // The client pulls the next messages only as these are taken from the iterator, so at most
      // about fetchMessages wait here while inserts are in flight.
      maxMessages: this.perInsert,
      // 5 s, not nats.js's 30 s: after kill -9 of the node leading this consumer ingest stored
      // nothing for 27-30 s (bench/results/nats-cluster-ingest-expiry.md).
      expiresMs: 5000,
      retry: { firstMs: 500, maxMs: 500 },
      read: (messages) => this.read(messages),
      log: this.log,
    });
    this.pull.start();
  }

  /** Sends what is left of the open insert and waits for the inserts in flight. */
  private async drain(): Promise<void> {
    while (this.open) {
      while (this.inflight.size >= this.o.insertsInFlight) await Promise.race(this.inflight);
      this.send();
    }
    await Promise.all(this.inflight);
  }

  /**
   * Whether a due insert may start now: when nothing is in flight, or a slot is free and it is a
   * big one (a quarter of perInsert). Every insert writes a part per table that ClickHouse later
   * merges, so while one insert runs the next keeps filling instead of going out small: with events
   * arriving as fast as they were stored, inserts were rate x (insert time / 2) rows, and two
   * shards, each getting half of every insert, cost the servers 1.7x one node's CPU per row.
   * The second slot is for throughput (big inserts back to back), not for small ones.
   */
  private mayStart(g: Group): boolean {
    const n = this.inflight.size;
    return n === 0 || (n < this.o.insertsInFlight && g.msgs.length >= this.perInsert / 4);
  }

  /**
   * Takes messages until stopped or the iterator ends. The open insert goes out when full, or
   * when due and it may start (mayStart): while it may not, a due insert keeps filling, so a slow
   * ClickHouse gets fewer, bigger inserts instead of a queue of small ones.
   */
  private async read(messages: ConsumerMessages): Promise<void> {
    const it = messages[Symbol.asyncIterator]();
    let next = it.next();
    let backoff = 250;
    while (!this.stopped) {
      const open = this.open;
      let timer: NodeJS.Timeout | undefined;
      const wake = !open
        ? undefined
        : this.mayStart(open)
          ? new Promise<typeof WAKE>((res) => (timer = setTimeout(() => res(WAKE), Math.max(0, open.due - performance.now()))))
          : Promise.race(this.inflight).then((): typeof WAKE => WAKE);
      const r = wake ? await Promise.race([next, wake]) : await next;
      clearTimeout(timer);
      if (r === WAKE) {
        if (open && performance.now() >= open.due && this.mayStart(open)) {
          // Filling fast: events come faster than one insert a fetchWaitMs can take cheaply (each
          // insert writes a part per table to be merged later; 55k-row inserts while publishing cost
          // the server ~2x the CPU per row of 200k-row ones). Latency at such rates is the stream's
          // backlog anyway; the trickle that publish-to-queryable is measured at never gets here.
          if (!open.extended && open.blocks.reduce((n, b) => n + b.rows, 0) >= FAST_ROWS) {
            open.extended = true;
            // Per shard: each shard's part of it should be as big as one node's insert would be.
            open.due += this.o.fetchWaitMs * (FAST_WAIT_FACTOR * this.routing.targets.length - 1);
          } else this.send();
        }
      } else {
        if (r.done) return;
        next = it.next();
        await this.add(r.value);
        if (this.open && this.open.msgs.length >= this.perInsert) {
          while (this.inflight.size >= this.o.insertsInFlight) await Promise.race(this.inflight);
          this.send();
        }
      }
      if (this.clickhouseDown) {
        // An insert failed: give the open insert's messages back and wait until ClickHouse
        // answers before taking more (those already pulled wait in the iterator).
        this.abandonOpen();
        await Promise.all(this.inflight);
        while (!this.stopped && !(await this.ping())) {
          await sleep(backoff);
          backoff = Math.min(backoff * 2, 10_000);
        }
        backoff = 250;
      }
    }
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

  /** Decodes one message into the open insert; dead-letters what is malformed, skips what is stored already. */
  private async add(m: JsMsg): Promise<void> {
    if (this.held.has(m.seq)) return; // redelivered while its first delivery is still ours
    const read = await readBatchMessage(m.subject, m.data, this.manifests);
    if (read.kind === 'retry') return void m.nak(2000); // the object store did not answer: try again later
    if (read.kind === 'malformed') return this.deadLetter(m, read.reason);
    const { batch, manifest } = read;
    let skip: Set<number> | undefined;
    try {
      skip = m.info.deliveryCount > 1 ? await this.storedSeqs(batch) : undefined;
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'cannot check a redelivered batch; retrying later');
      m.nak(2000);
      return;
    }
    // Dead-lettered before any row is written: a redelivery publishes the same dead letters, stored once.
    const fit = this.encoder.fit(batch, manifest);
    if (fit.misfits.length) await this.deadLetterMisfits(m, batch, fit.misfits);
    const group = (this.open ??= { msgs: [], blocks: this.spareBlocks.pop() ?? this.routing.targets.map(() => newEventBlock()), due: performance.now() + this.o.fetchWaitMs });
    const { written } = this.encoder.encode(batch, manifest, group.blocks, this.routing.shardOfKey, skip, fit);
    if (skip?.size) this.metrics.duplicatesSkipped.inc(skip.size);
    this.metrics.eventsDecoded.inc(written);
    group.msgs.push(m);
    this.held.add(m.seq);
  }

  /** Sequences of this batch already stored (the insert went through, the ack did not). */
  private async storedSeqs(batch: ScannedBatch): Promise<Set<number>> {
    const h = batch.header;
    const rows = await this.sql.rows<{ seq: string }>(storedSeqsSql(this.database, h.deploymentId, h.hostId, h.bootId, h.firstSeq, h.count));
    return new Set(rows.map((r) => Number(r.seq)));
  }

  private async deadLetter(m: JsMsg, reason: string): Promise<void> {
    this.metrics.deadLettered.inc();
    this.log.warn({ subject: m.subject, reason }, 'malformed event batch dead-lettered');
    await publishDeadLetter(this.js, EVENTS_DEAD_LETTER_ORIGIN, m.subject, m.data, reason);
    m.ack();
  }

  /** Counts (once, not per redelivery) and dead-letters a batch's records that fit no layout; the message is acked with its stored rows. */
  private async deadLetterMisfits(m: JsMsg, batch: ScannedBatch, misfits: Misfit[]): Promise<void> {
    if (m.info.deliveryCount === 1) this.metrics.misfitRecords.inc({ consumer: EVENTS_CONSUMER }, misfits.length);
    this.log.warn({ subject: m.subject, misfits: misfits.length, first: misfits[0]!.reason }, 'records that fit no layout dead-lettered');
    this.metrics.deadLettered.inc(await deadLetterMisfits(this.js, m.subject, batch, misfits));
  }

  /** Starts the open insert (the caller saw a free slot). */
  private send(): void {
    const g = this.open;
    if (!g) return;
    this.open = undefined;
    const p = this.insert(g);
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  private abandonOpen(): void {
    const g = this.open;
    this.open = undefined;
    if (g) this.recycle(g);
    for (const m of g?.msgs ?? []) {
      this.held.delete(m.seq);
      m.nak(1000);
    }
  }

  private recycle(g: Group): void {
    g.blocks.forEach((b) => b.reset());
    this.spareBlocks.push(g.blocks);
  }

  /**
   * One insert per shard with rows, in parallel; acks when all succeeded, else naks every message
   * (the batches stay in the stream; what one shard did store is skipped on redelivery, storedSeqs).
   */
  private async insert(g: Group): Promise<void> {
    const started = performance.now();
    const rows = g.blocks.reduce((n, b) => n + b.rows, 0);
    // Tell JetStream these messages are still being worked on while the insert runs.
    const keepAlive = setInterval(() => g.msgs.forEach((m) => m.working()), ACK_WAIT_MS / 3);
    try {
      const sent = g.blocks.map((b, i) => (b.rows > 0 ? insertEventRows(this.routing.targets[i]!, b) : Promise.resolve()));
      // Every shard's insert settles before the verdict: a nak while one still runs could see its batch redelivered before its rows are visible.
      const failed = (await Promise.allSettled(sent)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      for (const m of g.msgs) m.ack();
      this.metrics.rowsInserted.inc(rows);
      this.metrics.insertSeconds.observe((performance.now() - started) / 1000);
    } catch (e) {
      this.metrics.insertErrors.inc();
      this.clickhouseDown = true;
      this.metrics.clickhouseUp.set(0);
      this.log.warn({ err: (e as Error).message, rows, messages: g.msgs.length }, 'insert failed; batches stay in the stream');
      for (const m of g.msgs) m.nak(1000);
    } finally {
      clearInterval(keepAlive);
      for (const m of g.msgs) this.held.delete(m.seq);
      this.recycle(g);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.pull?.stop();
    await this.drain();
  }
}
