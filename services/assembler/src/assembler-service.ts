import { jetstream, jetstreamManager, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { connectNats, createClickHouse, deadLetterMisfits, DirectObjectReader, JetStreamPull, ManifestCache, publishDeadLetter, readBatchMessage, sleep, startBusServiceHttp, type ClickHouseClient, type Logger, type NatsConnection, type ServiceHttp } from '@tapfleet/runtime';
import { BUNDLES_OBJECT_STORE, EVENTS_STREAM, INGEST_CONSUMERS, type TapfleetConfig, type TxnSpanRow } from '@tapfleet/schemas';
import { AssemblerCore } from './assembler-core.js';
import { createAssemblerMetrics, type AssemblerMetrics } from './assembler-metrics.js';
import { loadStoredEvents, type StoredEventRow } from './history-loader.js';
import { ensurePartitionConsumer, type PartitionConsumer } from './partition-consumer.js';
import { SpanExporter } from './span-exporter.js';
import { SpanMirror } from './span-mirror.js';
import { storeSpans } from './span-store.js';

/** Unacked batches come back this long after a crash; held ones are kept alive with working(). */
const ACK_WAIT_MS = 10_000;
/** How long one read of stored events waits for ingest: the flush waits with it, so short; a failed try is retried later. */
const HISTORY_WAIT_MS = 5_000;

/**
 * Waits for what the control plane or ingest creates at their start: the events stream, then the
 * bundles store (made just after it). The assembler may not create either (its credentials do not
 * allow it), and starting together with them it can find the stream before the store: opening the
 * store then failed, and the process sat unhealthy with its NATS connection open.
 */
async function waitForFleetResources(jsm: JetStreamManager, objm: Objm, log: Logger): Promise<Awaited<ReturnType<Objm['open']>>> {
  for (let i = 0; ; i++) {
    try {
      await jsm.streams.info(EVENTS_STREAM);
      return await objm.open(BUNDLES_OBJECT_STORE);
    } catch (e) {
      if (!/not found/i.test((e as Error).message)) throw e;
      if (i === 0) log.info({ err: (e as Error).message }, `waiting for the ${EVENTS_STREAM} stream and the ${BUNDLES_OBJECT_STORE} store (the control plane or ingest creates them)`);
      await sleep(500);
    }
  }
}

/**
 * The assembler process: its partition consumer on the events stream, the engine, the
 * txn_spans writer, the OTLP exporter and optional Kafka mirror, /metrics and /healthz.
 */
export class AssemblerService {
  private stopped = false;
  private pull?: JetStreamPull;
  private timers: NodeJS.Timeout[] = [];

  private constructor(
    readonly http: ServiceHttp,
    readonly metrics: AssemblerMetrics,
    readonly core: AssemblerCore<JsMsg>,
    private readonly nc: NatsConnection,
    private readonly ch: ClickHouseClient,
    private readonly exporter: SpanExporter | undefined,
    private readonly mirror: SpanMirror | undefined,
    private readonly log: Logger,
  ) {}

  static async start(config: TapfleetConfig, log: Logger): Promise<AssemblerService> {
    const o = config.assembler;
    const db = config.clickhouse.database;
    const nc = await connectNats(config, { name: `tapfleet-assembler-p${o.partition}`, identity: 'assembler', reconnectForever: true });
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const bundles = await waitForFleetResources(jsm, new Objm(nc), log);
    const ch = createClickHouse(config, { maxOpenConnections: 4 });
    const metrics = createAssemblerMetrics();
    const manifests = new ManifestCache(new DirectObjectReader(jsm, bundles, BUNDLES_OBJECT_STORE));
    const exporter = o.otlp.url ? new SpanExporter({ ...o.otlp, url: o.otlp.url }, {
      exported: (n) => metrics.exported.inc(n),
      dropped: (n) => metrics.exportDropped.inc(n),
      failed: () => metrics.exportFailures.inc(),
      queued: (n) => metrics.exportQueue.set(n),
    }, log) : undefined;
    const mirror = o.kafka ? new SpanMirror(o.kafka) : undefined;
    await mirror?.start();
    const history = (keys: Parameters<typeof loadStoredEvents>[2], upTo: number) =>
      loadStoredEvents({
        rows: async (sql) => (await (await ch.query({ query: sql, format: 'JSONEachRow' })).json<StoredEventRow>()),
        ingestAckFloor: async () => (await jsm.consumers.info(EVENTS_STREAM, INGEST_CONSUMERS.events.name)).ack_floor.stream_seq,
      }, db, keys, upTo, HISTORY_WAIT_MS);
    const core = new AssemblerCore<JsMsg>(o, {
      store: async (rows) => {
        await storeSpans(ch, db, rows);
        await mirror?.send(rows);
        if (mirror) metrics.mirrored.inc(rows.length);
      },
      ...(exporter ? { export: (rows: TxnSpanRow[], done: () => void) => exporter.enqueue(rows, done) } : {}),
    }, history, metrics, log);
    const consumer = await ensurePartitionConsumer(jsm, o, ACK_WAIT_MS, log);
    // The previous process's unacked batches come back after ack_wait: close nothing by quiet
    // time until they are in, or transactions would be emitted without their earlier events.
    if (consumer.pendingAtStart > 0) core.table.holdClosingUntil(Date.now() + ACK_WAIT_MS + o.quietMs);
    exporter?.start();
    const http = await startBusServiceHttp({ host: o.metricsHost, port: o.metricsPort, registry: metrics.registry, nc, log });
    const service = new AssemblerService(http, metrics, core, nc, ch, exporter, mirror, log);
    service.timers.push(setInterval(() => core.tick(), 20));
    service.timers.push(setInterval(() => void core.flush(() => service.stopped), 50));
    service.timers.push(setInterval(() => core.holds.keepAlive(), ACK_WAIT_MS / 3));
    service.read(js, jsm, config, consumer, manifests);
    log.info({ metricsPort: http.port, partition: o.partition, partitions: o.partitions, otlp: o.otlp.url ?? 'off', kafka: o.kafka?.topic ?? 'off' }, 'assembler started');
    return service;
  }

  /**
   * Reads the partition consumer. Each message is taken as it arrives (at a low rate a batch
   * waiting for its pull to end would add that wait to every span's latency); if the consumer is
   * deleted under this process, it is made again where this process had not finished.
   */
  private read(js: ReturnType<typeof jetstream>, jsm: JetStreamManager, config: TapfleetConfig, first: PartitionConsumer, manifests: ManifestCache): void {
    let { name, catchUpTo } = first;
    this.pull = new JetStreamPull({
      name,
      open: async (again) => {
        if (again && (await this.consumerGone(jsm, name))) {
          ({ name, catchUpTo } = await ensurePartitionConsumer(jsm, config.assembler, ACK_WAIT_MS, this.log, this.resumePoint()));
          this.metrics.consumerRecreated.inc();
          this.log.warn({ consumer: name, catchUpTo }, 'the partition consumer was deleted under this process; made it again where this process had not finished');
        }
        return js.consumers.get(EVENTS_STREAM, name);
      },
      maxMessages: 100,
      expiresMs: 1000,
      endWhenDeleted: true,
      retry: { firstMs: 500, maxMs: 500 },
      read: async (messages) => {
        for await (const m of messages) await this.take(m, catchUpTo, manifests);
      },
      log: this.log,
    });
    this.pull.start();
  }

  private async consumerGone(jsm: JetStreamManager, name: string): Promise<boolean> {
    return jsm.consumers.info(EVENTS_STREAM, name).then(() => false, (e: Error) => {
      if (/consumer not found/i.test(e.message)) return true;
      throw e;
    });
  }

  /** Where a re-made consumer starts: the oldest batch still held (its acks went to the deleted consumer), else after the newest taken. */
  private resumePoint(): { startSeq: number; catchUpTo: number } | undefined {
    const last = this.core.lastSeenStreamSeq;
    if (last === 0) return undefined; // nothing taken yet: start as a new replica would
    let startSeq = last + 1;
    for (const m of this.core.holds.held()) startSeq = Math.min(startSeq, m.info.streamSequence);
    return { startSeq, catchUpTo: last };
  }

  private async take(m: JsMsg, catchUpTo: number, manifests: ManifestCache): Promise<void> {
    const read = await readBatchMessage(m.subject, m.data, manifests);
    if (read.kind === 'retry') return void m.nak(2000);
    if (read.kind === 'malformed') return this.deadLetter(m, read.reason);
    const { batch, manifest } = read;
    if (this.core.ignores(manifest)) return void m.ack();
    const fit = this.core.fit(batch, manifest);
    if (fit.misfits.length) {
      // As ingest does, under the same message ids (one copy); the batch's other records are taken.
      if (m.info.deliveryCount === 1) this.metrics.misfitRecords.inc(fit.misfits.length);
      this.log.warn({ subject: m.subject, misfits: fit.misfits.length, first: fit.misfits[0]!.reason }, 'records that fit no layout dead-lettered');
      this.metrics.deadLettered.inc(await deadLetterMisfits(jetstream(this.nc), m.subject, batch, fit.misfits));
    }
    const streamSeq = m.info.streamSequence;
    this.core.accept(batch, manifest, m, m.info.deliveryCount > 1 || streamSeq <= catchUpTo, streamSeq, fit);
  }

  private async deadLetter(m: JsMsg, reason: string): Promise<void> {
    this.metrics.deadLettered.inc();
    this.log.warn({ subject: m.subject, reason }, 'malformed event batch dead-lettered');
    await publishDeadLetter(jetstream(this.nc), 'assembler', m.subject, m.data, reason);
    m.ack();
  }

  /** Stops fetching, stores what is closed, leaves open transactions unacked (the next process gets them again). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.pull?.stop();
    this.timers.forEach(clearInterval);
    await this.core.flush(() => true);
    this.core.drainExports();
    await this.exporter?.stop();
    await this.mirror?.stop();
    await this.http.close();
    await this.nc.close();
    await this.ch.close();
    this.log.info('assembler stopped');
  }
}
