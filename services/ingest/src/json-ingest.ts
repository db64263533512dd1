import { type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { ensureDurableConsumer, publishDeadLetter, sleep, type ClickHouseClient, type Logger } from '@tapfleet/runtime';
import { identityMismatch, issuesOf } from '@tapfleet/schemas';
import type { z } from 'zod/v3';
import type { IngestMetrics } from './ingest-metrics.js';
import { clickhouseErrorCode, refusedForContent } from './refused-rows.js';

/** Every message read here is published by an agent and names its host (and maybe deployment). */
type AgentMessage = z.ZodType<{ hostId: string; deploymentId?: string }>;

export interface JsonIngestSpec<S extends AgentMessage> {
  stream: string;
  consumer: string;
  filterSubject: string;
  /** Dead-letter origin (`tapfleet.dlq.<origin>`). */
  origin: string;
  table: string;
  schema: S;
  rows: (message: z.output<S>) => object[];
}

/**
 * Low-volume JSON messages (agent status, aggregation snapshots) into a table:
 * validated with their schema (the malformed go to the dead-letter subject), inserted
 * as JSONEachRow, acked after the insert. When the server refuses the insert, each message
 * is inserted on its own: one whose rows ClickHouse refuses for their content (refused-rows.ts)
 * is dead-lettered with ClickHouse's error, as a malformed one is, where it used to fail every
 * retry of every fetch it was in and keep every host's statuses out. On any other failure the
 * messages are nak'ed and come back.
 */
export class JsonIngest<S extends AgentMessage> {
  private stopped = false;
  private loop?: Promise<void>;

  constructor(
    private readonly spec: JsonIngestSpec<S>,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly ch: ClickHouseClient,
    private readonly database: string,
    private readonly metrics: IngestMetrics,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    await this.ensure();
    this.loop = this.run();
  }

  private ensure() {
    return ensureDurableConsumer(this.jsm, this.spec.stream, { name: this.spec.consumer, filterSubject: this.spec.filterSubject, ackWaitMs: 60_000 });
  }

  /**
   * Its own loop, not the services' JetStreamPull: it gathers up to a second of messages (one
   * fetch) into one insert, where a continuous pull would make many small inserts of these rows.
   */
  private async run(): Promise<void> {
    let consumer = await this.js.consumers.get(this.spec.stream, this.spec.consumer);
    while (!this.stopped) {
      const msgs: JsMsg[] = [];
      try {
        for await (const m of await consumer.fetch({ max_messages: 1000, expires: 1000 })) msgs.push(m);
      } catch (e) {
        this.log.warn({ err: (e as Error).message, consumer: this.spec.consumer }, 'fetch failed; making sure the consumer exists, then retrying');
        await sleep(500);
        // Deleted under ingest: made again. It then reads the stream from its start; the repeated
        // status and snapshot rows change no answer (their readers take the latest per host and time).
        consumer = await this.ensure().then(() => this.js.consumers.get(this.spec.stream, this.spec.consumer)).catch(() => consumer);
        continue;
      }
      if (msgs.length) await this.handle(msgs);
    }
  }

  private async handle(msgs: JsMsg[]): Promise<void> {
    const rows: object[] = [];
    const good: JsMsg[] = [];
    for (const m of msgs) {
      let json: unknown;
      try {
        json = JSON.parse(new TextDecoder().decode(m.data));
      } catch (e) {
        await this.deadLetter(m, `not JSON: ${(e as Error).message}`);
        continue;
      }
      const parsed = this.spec.schema.safeParse(json);
      if (!parsed.success) {
        await this.deadLetter(m, issuesOf(parsed.error).map((i) => `${i.path || '(root)'}: ${i.message}`).join('; '));
        continue;
      }
      const forged = identityMismatch(m.subject, parsed.data);
      if (forged) {
        await this.deadLetter(m, forged);
        continue;
      }
      rows.push(...this.spec.rows(parsed.data));
      good.push(m);
    }
    if (!good.length) return;
    try {
      await this.insert(rows);
      for (const m of good) m.ack();
    } catch (e) {
      if (clickhouseErrorCode(e) !== undefined) await this.oneByOne(good);
      else await this.backOff(good, e);
    }
  }

  private async insert(rows: object[]): Promise<void> {
    if (rows.length) await this.ch.insert({ table: `${this.database}.${this.spec.table}`, values: rows, format: 'JSONEachRow' });
    this.metrics.otherRows.inc({ table: this.spec.table }, rows.length);
  }

  /** After a server exception: each message alone, so the one ClickHouse refuses cannot hold the others. */
  private async oneByOne(msgs: JsMsg[]): Promise<void> {
    for (const [i, m] of msgs.entries()) {
      try {
        // Parsed again (it passed above): cheaper than keeping every message's rows apart for a rare failure.
        await this.insert(this.spec.rows(this.spec.schema.parse(JSON.parse(new TextDecoder().decode(m.data)))));
        m.ack();
      } catch (e) {
        if (!refusedForContent(e)) return this.backOff(msgs.slice(i), e);
        await this.deadLetter(m, `ClickHouse refused this message's rows: ${(e as Error).message}`);
      }
    }
  }

  private async backOff(msgs: JsMsg[], e: unknown): Promise<void> {
    this.log.warn({ err: (e as Error).message, table: this.spec.table }, 'insert failed; messages stay in the stream');
    for (const m of msgs) m.nak(2000);
    await sleep(1000);
  }

  private async deadLetter(m: JsMsg, reason: string): Promise<void> {
    this.metrics.deadLettered.inc();
    this.log.warn({ subject: m.subject, reason }, 'malformed message dead-lettered');
    await publishDeadLetter(this.js, this.spec.origin, m.subject, m.data, reason);
    m.ack();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}
