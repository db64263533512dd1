import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { Redis } from 'ioredis';
import type { Subscription } from '@nats-io/transport-node';
import { loadTapsets, TAPSETS_DIR, warmCompileWorkers } from '@tapfleet/compiler';
import { adminTokenPath, connectNats, createClickHouse, loadAccountSigner, createRedis, ensureFleetResources, ensureKvBucket, natsReplicas, startServiceHttp, serverTlsMaterial, type Logger, type NatsConnection, type ServiceHttp } from '@tapfleet/runtime';
import { ENROLLMENTS_BUCKET, sha256Hex, type TapfleetConfig } from '@tapfleet/schemas';
import { AgentListener } from './agent-listener.js';
import { apiHandler } from './api-routes.js';
import { AssignmentWriter } from './assignment-writer.js';
import { CompileService } from './compile-service.js';
import { CompileQueue } from './compile-queue.js';
import { createControlPlaneMetrics, type ControlPlaneMetrics } from './control-plane-metrics.js';
import { DeploymentService } from './deployment-service.js';
import { DeploymentStore } from './deployment-store.js';
import { Enrollment } from './enrollment.js';
import { assignmentRecords } from './host-assignments.js';
import { UnknownDeployments } from './unknown-deployments.js';
import { Inventory } from './inventory.js';
import { controlPlaneSigningKey } from './signing-key.js';
import { lossReport } from './loss-report.js';
import { redisProfileQuota } from './profile-intake.js';
import { startTimeService } from './time-service.js';
import type { CorruptRecordSink } from '@tapfleet/runtime';
import { TokenStore } from '@tapfleet/runtime';

export { adminTokenPath };

/** Digest of the tapset sources: a tapset change must miss the compile cache. */
function tapsetsDigest(dir: string): string {
  const files = readdirSync(dir).filter((f) => f.endsWith('.tap')).sort();
  return sha256Hex(files.map((f) => `${f}\n${readFileSync(join(dir, f), 'utf8')}`).join('\n\0'));
}

export interface ControlPlaneOptions {
  config: TapfleetConfig;
  log: Logger;
  tapsetsDir?: string;
}

/** The control plane process: HTTP API, agent listener, time service, expiry sweep. Stateless apart from Redis and NATS. */
export class ControlPlane {
  private sweepTimer?: NodeJS.Timeout;
  private timeSub?: Subscription;
  private readonly onStop: (() => Promise<void>)[] = [];

  private constructor(
    readonly http: ServiceHttp,
    readonly deployments: DeploymentService,
    readonly adminToken: string,
    private readonly nc: NatsConnection,
    private readonly redis: Redis,
    private readonly listener: AgentListener,
    private readonly log: Logger,
  ) {}

  get url(): string {
    return `${this.http.scheme}://127.0.0.1:${this.http.port}`;
  }

  static async start(o: ControlPlaneOptions): Promise<ControlPlane> {
    const { config, log } = o;
    const cp = config.controlPlane;
    const key = controlPlaneSigningKey(config.dataDir);
    const tapsetsDir = o.tapsetsDir ?? TAPSETS_DIR;
    const tapsets = loadTapsets(tapsetsDir);
    const nc = await connectNats(config, { name: 'tapfleet-control-plane', identity: 'control-plane', reconnectForever: true });
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    const replicas = natsReplicas(config);
    const stores = await ensureFleetResources(nc, jsm, { update: true, replicas });
    const enrollments = await ensureKvBucket(nc, jsm, ENROLLMENTS_BUCKET, { history: 1, replicas });
    const redis = createRedis(config);
    const ch = createClickHouse(config);
    // Stores report records they cannot read here (log and metric) and skip them; the metrics need the inventory first.
    let metrics: ControlPlaneMetrics | undefined;
    const onCorrupt: CorruptRecordSink = (storeName, recordKey, reason) => {
      metrics?.corruptRecords.inc({ store: storeName });
      log.error({ store: storeName, key: recordKey, reason }, 'unreadable stored record skipped');
    };
    const tokens = new TokenStore(redis, onCorrupt);
    const adminToken = await tokens.bootstrapAdmin(adminTokenPath(config.dataDir));
    const inventory = new Inventory(redis, cp.hostLivenessMs, onCorrupt);
    const store = new DeploymentStore(redis, onCorrupt);
    const liveMetrics = createControlPlaneMetrics(async () => (await inventory.list()).hosts.filter((h) => h.live).length);
    metrics = liveMetrics;
    const cc = config.compiler;
    const queue = new CompileQueue({ concurrency: cc.concurrency ?? Math.max(1, availableParallelism() - 1), maxQueued: cc.maxQueued, retryAfterS: cc.retryAfterS }, {
      changed: (running, queued) => (liveMetrics.compilesRunning.set(running), liveMetrics.compileQueueDepth.set(queued)),
      rejected: () => liveMetrics.compileRejected.inc(),
    });
    warmCompileWorkers(1); // the first deploy then waits for clang, not for a thread to load the compiler
    const compiler = new CompileService(redis, stores.bundles, stores.profiles, key.privateKey, tapsetsDir, tapsetsDigest(tapsetsDir), {
      queue, build: { clang: cc.clang, timeoutMs: cc.clangTimeoutMs }, onTimeout: () => liveMetrics.compileTimeouts.inc(),
    });
    const assignments = new AssignmentWriter(stores.assignments, key, assignmentRecords(store, redis), log);
    assignments.onUntrusted = (hostId, reason) => {
      liveMetrics.untrustedAssignmentSets.inc();
      onCorrupt('assignments', hostId, reason);
    };
    const deployments = new DeploymentService(inventory, store, compiler, assignments, tapsets.aliases, { canaryTimeoutMs: cp.canaryTimeoutMs }, log);
    const unknown = new UnknownDeployments(redis);
    deployments.onCompile = (ms, cached) => metrics.compileSeconds.observe({ cached: String(cached) }, ms / 1000);
    const listener = new AgentListener(nc, js, jsm, inventory, store, stores.profiles, redisProfileQuota(redis), unknown, {
      processed: (kind) => metrics.agentMessages.inc({ kind }),
      deadLettered: (kind) => metrics.deadLettered.inc({ kind }),
      refused: (reason) => metrics.reportsRefused.inc({ reason }),
    }, log);
    await listener.start();
    const http = await startServiceHttp({
      host: cp.host,
      port: cp.port,
      registry: metrics.registry,
      health: () => (nc.isClosed() ? 'NATS connection closed' : redis.status !== 'ready' ? `Redis ${redis.status}` : null),
      handler: apiHandler({
        tokens, inventory, store, deployments, unknown, bundles: stores.bundles, metrics, log,
        enrollment: new Enrollment(enrollments, loadAccountSigner(config), log),
        removeAssignment: (hostId, id) => assignments.remove(hostId, id),
        loss: (id) => lossReport(ch, config.clickhouse.database, id),
      }),
      onError: (e) => log.error({ err: (e as Error).message }, 'http handler failed'),
      ...(cp.tls ? { tls: serverTlsMaterial(cp.tls, 'control plane') } : {}),
    });
    const plane = new ControlPlane(http, deployments, adminToken, nc, redis, listener, log);
    plane.onStop.push(() => ch.close());
    plane.timeSub = startTimeService(nc);
    plane.sweepTimer = setInterval(() => {
      deployments.sweepExpired().catch((e: Error) => log.warn({ err: e.message }, 'expiry sweep failed'));
    }, 2000);
    log.info({ port: http.port, tapsets: tapsets.aliases.length }, 'control plane started');
    return plane;
  }

  async stop(): Promise<void> {
    clearInterval(this.sweepTimer);
    this.timeSub?.unsubscribe();
    await this.deployments.idle();
    await this.listener.stop();
    await this.http.close();
    await this.nc.close();
    this.redis.disconnect();
    for (const f of this.onStop) await f();
  }
}
