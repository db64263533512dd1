import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connectNats, createClickHouse, DirectObjectReader, createRedis, ensureFleetResources, natsReplicas, startBusServiceHttp, type ClickHouseClient, type Logger, type NatsConnection, type ServiceHttp } from '@tapfleet/runtime';
import { AGENT_STREAM, AGGS_FILTER, AgentDeploymentStatus, AggregationSnapshot, BUNDLES_OBJECT_STORE, EVENTS_STREAM, INGEST_CONSUMERS, STATUS_FILTER, type TapfleetConfig } from '@tapfleet/schemas';
import { BundleManifests } from './bundle-manifests.js';
import { EventIngest, EVENTS_CONSUMER } from './event-ingest.js';
import { createIngestMetrics, type IngestMetrics } from './ingest-metrics.js';
import { JsonIngest } from './json-ingest.js';
import { KafkaMirror } from './kafka-mirror.js';
import { migrateConfigured, retainOnEveryShard } from './database-setup.js';
import { ShardRouting } from './shard-routing.js';
import { clickHouseRunner } from './sql-runner.js';
import { snapshotRows, statusRow } from './status-rows.js';

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
    await migrateConfigured(config, log);
    const ch = createClickHouse(config, { maxOpenConnections: o.insertsInFlight + 2 });
    const sql = clickHouseRunner(ch);
    const nc = await connectNats(config, { name: 'tapfleet-ingest', identity: 'ingest', reconnectForever: true });
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const metrics = createIngestMetrics();
    metrics.clickhouseUp.set(1);
    // Ingest may start before the control plane (npm start starts them together): the
    // streams and stores it reads must exist either way.
    const { bundles } = await ensureFleetResources(nc, jsm, { update: false, replicas: natsReplicas(config) });
    // Direct reads: ingest's credentials may not create consumers on the bundle store.
    const manifests = new BundleManifests(new DirectObjectReader(jsm, bundles, BUNDLES_OBJECT_STORE), { insertJson: (table, rows) => ch.insert({ table: `${db}.${table}`, values: rows, format: 'JSONEachRow' }).then(() => undefined) });
    const routing = ShardRouting.fromConfig(config, ch, o.insertsInFlight + 2);
    const events = new EventIngest(js, jsm, routing, sql, db, manifests, metrics, o, log);
    const statuses = new JsonIngest({ stream: AGENT_STREAM, consumer: INGEST_CONSUMERS.status.name, filterSubject: STATUS_FILTER, origin: 'status', table: 'agent_status', schema: AgentDeploymentStatus, rows: (s) => [statusRow(s)] }, js, jsm, ch, db, metrics, log);
    const snapshots = new JsonIngest({ stream: EVENTS_STREAM, consumer: INGEST_CONSUMERS.aggs.name, filterSubject: AGGS_FILTER, origin: 'aggs', table: 'aggregation_snapshots', schema: AggregationSnapshot, rows: snapshotRows }, js, jsm, ch, db, metrics, log);
    const parts: { start(): Promise<void>; stop(): Promise<void> }[] = [events, statuses, snapshots, { start: async () => {}, stop: () => routing.close() }];
    let redis: ReturnType<typeof createRedis> | undefined;
    if (o.kafka) {
      redis = createRedis(config);
      parts.push(new KafkaMirror(o.kafka, js, jsm, redis, manifests, metrics, log));
    }
    for (const p of parts) await p.start();
    const http = await startBusServiceHttp({ host: o.metricsHost, port: o.metricsPort, registry: metrics.registry, nc, log });
    const service = new IngestService(http, metrics, nc, ch, [...parts, ...(redis ? [{ stop: async () => void redis.disconnect() }] : [])], log);
    const lag = async () => {
      for (const [stream, consumer] of [[EVENTS_STREAM, EVENTS_CONSUMER], [AGENT_STREAM, INGEST_CONSUMERS.status.name], [EVENTS_STREAM, INGEST_CONSUMERS.aggs.name]] as const) {
        const info = await jsm.consumers.info(stream, consumer).catch(() => undefined);
        if (info) metrics.lag.set({ consumer }, info.num_pending + info.num_ack_pending);
      }
    };
    service.timers.push(setInterval(() => void lag(), 2000));
    const retention = () => retainOnEveryShard(config, log).catch((e: Error) => log.warn({ err: e.message }, 'retention job failed'));
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
