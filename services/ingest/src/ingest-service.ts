import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connectNats, createClickHouse, DirectObjectReader, createRedis, ensureFleetResources, startBusServiceHttp, type ClickHouseClient, type Logger, type NatsConnection, type ServiceHttp } from '@tapfleet/runtime';
import { AGENT_STREAM, AgentDeploymentStatus, AggregationSnapshot, BUNDLES_OBJECT_STORE, EVENTS_STREAM, INGEST_CONSUMERS, type TapfleetConfig } from '@tapfleet/schemas';
import { BundleManifests } from './bundle-manifests.js';
import { EventIngest, EVENTS_CONSUMER } from './event-ingest.js';
import { createIngestMetrics, type IngestMetrics } from './ingest-metrics.js';
import { JsonIngest } from './json-ingest.js';
import { KafkaMirror } from './kafka-mirror.js';
import { migrate } from './migrate.js';
import { applyRetention } from './retention.js';
import { clickHouseRunner } from './sql-runner.js';
import { snapshotRows, statusRow } from './status-rows.js';

async function ensureDatabase(config: TapfleetConfig): Promise<void> {
  const admin = createClickHouse(config, { database: 'default' });
  try {
    await migrate(clickHouseRunner(admin), config.clickhouse.database);
  } finally {
    await admin.close();
  }
}

/** The ingest process: migrations on start, three consumers, retention, /metrics. Replicas share the consumers. */
export class IngestService {
  private timers: NodeJS.Timeout[] = [];
  private constructor(
    readonly http: ServiceHttp,
    readonly metrics: IngestMetrics,
    private readonly nc: NatsConnection,
    private readonly ch: ClickHouseClient,
    private readonly parts: { stop(): Promise<void> }[],
    private readonly log: Logger,
  ) {}

  static async start(config: TapfleetConfig, log: Logger): Promise<IngestService> {
    const o = config.ingest;
    const db = config.clickhouse.database;
    await ensureDatabase(config);
    const ch = createClickHouse(config, { maxOpenConnections: o.insertsInFlight + 2 });
    const sql = clickHouseRunner(ch);
    const nc = await connectNats(config, { name: 'tapfleet-ingest', identity: 'ingest', reconnectForever: true });
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const metrics = createIngestMetrics();
    metrics.clickhouseUp.set(1);
    // Ingest may start before the control plane (npm start starts them together): the
    // streams and stores it reads must exist either way.
    const { bundles } = await ensureFleetResources(nc, jsm, { update: false });
    // Direct reads: ingest's credentials may not create consumers on the bundle store.
    const manifests = new BundleManifests(new DirectObjectReader(jsm, bundles, BUNDLES_OBJECT_STORE), { insertJson: (table, rows) => ch.insert({ table: `${db}.${table}`, values: rows, format: 'JSONEachRow' }).then(() => undefined) });
    const events = new EventIngest(js, jsm, { ch, database: db, table: 'probe_events' }, sql, manifests, metrics, o, log);
    const statuses = new JsonIngest({ stream: AGENT_STREAM, consumer: INGEST_CONSUMERS.status.name, filterSubject: 'tapfleet.agent.status.>', origin: 'status', table: 'agent_status', schema: AgentDeploymentStatus, rows: (s) => [statusRow(s)] }, js, jsm, ch, db, metrics, log);
    const snapshots = new JsonIngest({ stream: EVENTS_STREAM, consumer: INGEST_CONSUMERS.aggs.name, filterSubject: 'tapfleet.aggs.>', origin: 'aggs', table: 'aggregation_snapshots', schema: AggregationSnapshot, rows: snapshotRows }, js, jsm, ch, db, metrics, log);
    const parts: { start(): Promise<void>; stop(): Promise<void> }[] = [events, statuses, snapshots];
    let redis: ReturnType<typeof createRedis> | undefined;
    if (o.kafka) {
      redis = createRedis(config);
      parts.push(new KafkaMirror(o.kafka, js, jsm, redis, manifests, metrics, log));
    }
    for (const p of parts) await p.start();
    const http = await startBusServiceHttp({ host: o.metricsHost, port: o.metricsPort, registry: metrics.registry, nc, log });
    const service = new IngestService(http, metrics, nc, ch, [...parts, ...(redis ? [{ stop: async () => void redis.disconnect() }] : [])], log);
    const lag = async () => {
      for (const [stream, consumer] of [[EVENTS_STREAM, EVENTS_CONSUMER], [AGENT_STREAM, 'ingest-status'], [EVENTS_STREAM, 'ingest-aggs']] as const) {
        const info = await jsm.consumers.info(stream, consumer).catch(() => undefined);
        if (info) metrics.lag.set({ consumer }, info.num_pending + info.num_ack_pending);
      }
    };
    service.timers.push(setInterval(() => void lag(), 2000));
    const retention = () => applyRetention(sql, db, o.retentionDays, log).catch((e: Error) => log.warn({ err: e.message }, 'retention job failed'));
    void retention();
    service.timers.push(setInterval(() => void retention(), o.retentionEveryMs));
    log.info({ metricsPort: http.port, database: db, kafkaMirror: o.kafka ? o.kafka.topic : 'off' }, 'ingest started');
    return service;
  }

  async stop(): Promise<void> {
    this.timers.forEach(clearInterval);
    for (const p of this.parts) await p.stop();
    await this.http.close();
    await this.nc.close();
    await this.ch.close();
    this.log.info('ingest stopped');
  }
}
