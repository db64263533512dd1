import { createPublicKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connectNats, DirectObjectReader, openFleetStores, type BlobReader, startServiceHttp, type FleetStores, type JetStreamClient, type Logger, type NatsConnection, type ServiceHttp } from '@tapfleet/runtime';
import {
  agentInboxPrefix, aggsSubject, BUNDLES_OBJECT_STORE, heartbeatSubject, helloSubject, statusSubject,
  type AgentDeploymentStatus, type AgentHeartbeat, type AgentHello, type AggregationSnapshot, type Assignment, type LossCounters, type TapfleetConfig,
} from '@tapfleet/schemas';
import { createAgentMetrics, type AgentMetrics } from './agent-metrics.js';
import { BatchPublisher } from './batch-publisher.js';
import { ClockSampler } from './clock-sampler.js';
import { readKernelClockStatus } from '@tapfleet/runner/clock-status';
import type { DeploymentSupervisor, SupervisorStatus } from './deployment-supervisor.js';
import { AssignmentWatch } from './assignment-watch.js';
import { DiskSpool } from './disk-spool.js';
import { agentCredentials } from './enrollment.js';
import { HostClock } from './host-clock.js';
import { publishHostProfiles, type HostProfileRefs } from './host-profiles.js';
import { hostIdentity, type HostIdentity } from './identity.js';
import { Ledgers } from './loss-ledger.js';
import { OverloadVerdicts } from './overload-verdicts.js';

export const AGENT_VERSION = '0.1.0';
/** The hello is re-sent this often, so a control plane that lost its inventory relearns the host. */
const HELLO_EVERY_MS = 30_000;

/**
 * The deployment machinery (runner process, record decoding, batcher, governor, bundle checks,
 * stack symbolisers), loaded when the first assignment arrives: an idle agent does not hold it
 * (issue 13's idle RSS goal). Loading it takes a few ms of the first deployment's start.
 */
let supervisorModule: Promise<typeof import('./deployment-supervisor.js')> | undefined;
const loadSupervisorModule = () => (supervisorModule ??= import('./deployment-supervisor.js'));

export interface HostAgentOptions {
  config: TapfleetConfig;
  log: Logger;
  /** Another runner executable (tests of crash handling). */
  runnerBinary?: string;
}

async function waitForStores(nc: NatsConnection, log: Logger): Promise<FleetStores> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await openFleetStores(nc);
    } catch (e) {
      if (attempt === 0) log.info({ err: (e as Error).message }, 'waiting for the control plane to create the fleet streams and stores');
      await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)));
    }
  }
}

/**
 * The host agent: says hello with its profiles, heartbeats, watches its assignment
 * key, and runs one supervised runner per assignment; events are batched, published
 * with de-duplication ids, and spooled to disk while NATS is away.
 */
export class HostAgent {
  private readonly supervisors = new Map<string, DeploymentSupervisor>();
  private readonly unsentStatus = new Set<string>();
  /** Overloaded deployments already reported as such by this agent (from a verdict of an earlier one). */
  private readonly overloadReported = new Set<string>();
  private overloads!: OverloadVerdicts;
  private timers: NodeJS.Timeout[] = [];
  private assignmentWatch?: AssignmentWatch;
  private stopped = false;
  http?: ServiceHttp;
  metrics!: AgentMetrics;
  refs!: HostProfileRefs;
  private js!: JetStreamClient;
  private stores!: FleetStores;
  private bundleReader!: BlobReader;
  private spool!: DiskSpool;
  private ledgers!: Ledgers;
  private publisher!: BatchPublisher;
  private sampler!: ClockSampler;

  private constructor(
    readonly id: HostIdentity,
    private readonly o: HostAgentOptions,
    private readonly nc: NatsConnection,
    readonly clock: HostClock,
  ) {}

  private get cfg() {
    return this.o.config.agent;
  }

  get stateDir(): string {
    return join(this.o.config.dataDir, 'agent', this.id.hostId);
  }

  /**
   * Connects with this host's own credentials (enrolling first if it has none). A server that
   * refuses them (its auth was re-created) gets one re-enrollment with the same key.
   */
  private static async connect(o: HostAgentOptions, id: HostIdentity, log: Logger): Promise<NatsConnection> {
    const stateDir = join(o.config.dataDir, 'agent', id.hostId);
    const options = { name: `tapfleet-agent-${id.hostId}`, reconnectForever: true, inboxPrefix: agentInboxPrefix(id.hostId) };
    const credsFile = await agentCredentials(o.config, id.hostId, stateDir, log);
    try {
      return await connectNats(o.config, { ...options, credsFile });
    } catch (e) {
      if (o.config.nats.credsFile || !/refused .*(authori[sz]ation|authentication)/i.test((e as Error).message)) throw e;
      log.warn({ err: (e as Error).message }, 'NATS refused this agent\'s credentials; enrolling again');
      return connectNats(o.config, { ...options, credsFile: await agentCredentials(o.config, id.hostId, stateDir, log, true) });
    }
  }

  static async start(o: HostAgentOptions): Promise<HostAgent> {
    const id = hostIdentity(o.config.agent.hostId);
    const log = o.log.child({ hostId: id.hostId });
    await requireTrustedKey(o.config); // before enrolling: an agent that can accept nothing must not claim a host id
    const nc = await HostAgent.connect(o, id, log);
    const agent = new HostAgent(id, { ...o, log }, nc, new HostClock(o.config.agent.clock.artificialOffsetNs));
    try {
      await agent.init();
    } catch (e) {
      await agent.stop();
      throw e;
    }
    return agent;
  }

  private async init(): Promise<void> {
    const { log } = this.o;
    this.js = jetstream(this.nc);
    this.ledgers = new Ledgers(join(this.stateDir, 'ledger'), this.id.bootId);
    this.overloads = new OverloadVerdicts(join(this.stateDir, 'overload-verdicts.json'));
    this.spool = new DiskSpool(join(this.stateDir, 'spool'), this.cfg.spool.maxBytes, {
      onDrop: (deploymentId, events) => {
        this.ledgers.get(deploymentId).loss.spoolDrops += events;
        log.warn({ deploymentId, events }, 'spool full: dropped the oldest batch');
      },
      onCorrupt: (file, reason) => log.error({ file, reason }, 'unreadable spool file moved aside'),
    });
    this.publisher = new BatchPublisher(this.js, this.spool, this.ledgers, {
      maxInFlight: this.cfg.batch.maxInFlight,
      maxQueuedBytes: this.cfg.batch.maxQueuedBytes,
      ackTimeoutMs: 5000,
      onError: (e, b) => {
        this.metrics.publishErrors.inc();
        log.debug({ err: e.message, deploymentId: b.deploymentId, events: b.count }, 'publish failed; spooled');
      },
    });
    this.sampler = new ClockSampler(this.nc, this.clock, {
      ...this.cfg.clock,
      readKernelClock: () => readKernelClockStatus(),
      onError: (e) => log.debug({ err: e.message }, 'clock sample failed'),
      onSourceChange: (c) => log.info({ source: c.source, uncertaintyNs: c.uncertaintyNs, reason: c.reason }, 'clock source'),
    });
    this.metrics = createAgentMetrics({
      ledgers: () => [...this.allLedgerLoss()],
      spool: () => ({ bytes: this.spool.totalBytes, batches: this.spool.length }),
      inFlight: () => this.publisher.inFlightCount,
      deploymentStates: () => [...this.supervisors.values()].map((s) => s.state),
      clock: () => this.sampler.reported(),
      kernelClock: () => this.sampler.kernel?.status,
    });
    this.metrics.natsConnected.set(1);
    this.http = await startServiceHttp({
      host: this.cfg.metricsHost,
      port: this.cfg.metricsPort,
      registry: this.metrics.registry,
      health: () => (this.nc.isClosed() ? 'NATS connection closed' : null),
      onError: (e) => log.error({ err: (e as Error).message }, 'http handler failed'),
    });
    void this.watchConnection();
    this.stores = await waitForStores(this.nc, log);
    this.bundleReader = new DirectObjectReader(await jetstreamManager(this.nc), this.stores.bundles, BUNDLES_OBJECT_STORE);
    this.refs = await publishHostProfiles(this.js, this.stores.profiles, this.id.hostId, this.cfg.binaries);
    this.sampler.start();
    await this.sendHello();
    this.every(HELLO_EVERY_MS, () => void this.sendHello());
    this.every(this.cfg.heartbeatMs, () => void this.heartbeat());
    this.every(60_000, () => this.clock.recalibrate());
    this.assignmentWatch = new AssignmentWatch(this.stores.assignments, this.id.hostId, this.stateDir, () => this.trustedKey(), {
      apply: (assignments) => this.reconcile(assignments),
      refuse: async (reason, named) => {
        this.metrics.assignmentsRefused.inc();
        // Each deployment the refused set claims is reported refused, so the control plane lists it.
        for (const depId of named) if (!this.supervisors.has(depId)) await this.report(depId, { state: 'refused', reason, probes: [], runnerRestarts: 0 });
      },
    }, this.o.log);
    await this.assignmentWatch.start();
    log.info({ metricsPort: this.http.port, kernel: this.refs.kernel.release, binaries: this.refs.binaries.length, spooled: this.spool.length }, 'agent started');
  }

  private *allLedgerLoss() {
    // Every ledger of this boot, including deployments already stopped: their counters stay visible.
    for (const [depId, ledger] of this.ledgers.entries()) yield [depId, ledger.loss] as [string, LossCounters];
  }

  private every(ms: number, f: () => void): void {
    const t = setInterval(f, ms);
    this.timers.push(t);
  }

  private async watchConnection(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === 'disconnect') {
        this.metrics.natsConnected.set(0);
        this.publisher.setConnected(false);
        this.o.log.warn('NATS disconnected: batches go to the disk spool');
      } else if (s.type === 'reconnect') {
        this.metrics.natsConnected.set(1);
        this.publisher.setConnected(true);
        this.o.log.info({ spooled: this.spool.length }, 'NATS reconnected: replaying the spool');
        void this.sendHello();
      }
    }
  }

  private identityFields() {
    return { hostId: this.id.hostId, bootId: this.id.bootId, agentVersion: AGENT_VERSION, sentAtMs: Date.now() };
  }

  private async publishJson(subject: string, body: unknown): Promise<boolean> {
    try {
      await this.js.publish(subject, JSON.stringify(body), { timeout: 2000 });
      return true;
    } catch (e) {
      this.o.log.debug({ subject, err: (e as Error).message }, 'publish failed');
      return false;
    }
  }

  private async sendHello(): Promise<void> {
    const hello: AgentHello = { ...this.identityFields(), labels: this.cfg.labels, kernel: this.refs.kernel, binaries: this.refs.binaries };
    await this.publishJson(helloSubject(this.id.hostId), hello);
  }

  private async heartbeat(): Promise<void> {
    const hb: AgentHeartbeat = {
      ...this.identityFields(),
      labels: this.cfg.labels,
      kernelBuildId: this.refs.kernel.buildId,
      runningDeployments: [...this.supervisors.entries()].filter(([, s]) => s.state === 'running').map(([d]) => d),
      ...(this.sampler.chosen ? { clock: this.sampler.reported()! } : {}),
    };
    await this.publishJson(heartbeatSubject(this.id.hostId), hb);
    this.ledgers.persistAll();
    // Running deployments report fresh loss and load; statuses that could not be sent are retried.
    // A final status is sent again when its counters moved (spooled batches replayed after the stop).
    for (const [depId, s] of this.supervisors) if (s.state === 'running' || this.unsentStatus.has(depId) || this.ledgers.get(depId).changedSinceReport) await this.report(depId, s.current());
  }

  private async report(deploymentId: string, s: SupervisorStatus): Promise<void> {
    // Persisted before it is sent: a restarted agent never reports less than this.
    const status: AgentDeploymentStatus = { ...this.identityFields(), deploymentId, ...s, ...this.ledgers.get(deploymentId).report() };
    if (await this.publishJson(statusSubject(this.id.hostId), status)) this.unsentStatus.delete(deploymentId);
    else this.unsentStatus.add(deploymentId);
  }

  /** Starts what is newly assigned, stops what is no longer assigned; a changed bundle restarts. */
  private async reconcile(assignments: Assignment[]): Promise<void> {
    if (this.stopped) return;
    const wanted = new Map(assignments.map((a) => [a.deploymentId, a]));
    const stops: Promise<void>[] = [];
    for (const [depId, sup] of this.supervisors) {
      const a = wanted.get(depId);
      if (a && a.bundleId === sup.assignment.bundleId && a.expiresAtMs === sup.assignment.expiresAtMs) continue;
      this.supervisors.delete(depId);
      if (!sup.isFinal) stops.push(sup.stop('stopped', a ? 'assignment changed' : 'stopped by the control plane'));
    }
    await Promise.all(stops);
    this.overloads.retain(new Set(wanted.keys()));
    const added = [...wanted.values()].filter((a) => !this.supervisors.has(a.deploymentId));
    if (!added.length) return;
    const { DeploymentSupervisor } = await loadSupervisorModule();
    if (this.stopped) return;
    for (const a of added) {
      const depId = a.deploymentId;
      if (this.supervisors.has(depId)) continue;
      const overloaded = this.overloads.get(depId, a.bundleId);
      if (overloaded !== undefined) {
        if (!this.overloadReported.has(depId)) {
          this.overloadReported.add(depId);
          void this.report(depId, { state: 'overloaded', reason: `${overloaded} (detached before this agent started; a new deployment runs it again)`, probes: [], runnerRestarts: 0 });
        }
        continue;
      }
      const sup = this.supervisor(DeploymentSupervisor, a);
      this.supervisors.set(depId, sup);
      sup.start().catch((e: Error) => {
        this.o.log.error({ deploymentId: depId, err: e.message }, 'deployment start failed');
        void this.report(depId, { state: 'failed', reason: e.message, probes: [], runnerRestarts: 0 });
      });
    }
  }

  private trustedKey(): string {
    const file = trustedKeyFile(this.o.config);
    return existsSync(file) ? readFileSync(file, 'utf8') : '';
  }

  private supervisor(Supervisor: typeof DeploymentSupervisor, a: Assignment): DeploymentSupervisor {
    return new Supervisor(a, {
      identity: { hostId: this.id.hostId, bootId: this.id.bootId, deploymentId: a.deploymentId, kernelBuildId: this.refs.kernel.buildId },
      config: this.cfg,
      bundles: this.bundleReader,
      trustedKeyPem: this.trustedKey(),
      clock: this.clock,
      headerClock: () => this.sampler.headerClock(),
      ledger: this.ledgers.get(a.deploymentId),
      publish: (b) => this.publisher.submit(b),
      publishAggregations: (s) => void this.publishAggregations(s),
      report: (s) => {
        if (s.state === 'overloaded') this.overloads.record(a.deploymentId, a.bundleId, s.reason ?? 'over its budget');
        void this.report(a.deploymentId, s);
      },
      onRunnerStart: () => this.metrics.runnerStarts.inc(),
      workDir: join(this.stateDir, 'bundles'),
      log: this.o.log,
      ...(this.o.runnerBinary ? { runnerBinary: this.o.runnerBinary } : {}),
    });
  }

  private async publishAggregations(s: Omit<AggregationSnapshot, 'hostId' | 'bootId' | 'agentVersion' | 'sentAtMs'>): Promise<void> {
    const snapshot: AggregationSnapshot = { ...this.identityFields(), ...s };
    if (!(await this.publishJson(aggsSubject(s.deploymentId, this.id.hostId), snapshot))) this.metrics.aggregationsSkipped.inc();
  }

  /** Supervisors by deployment (tests and the simulated-fleet benchmark read them). */
  deploymentStates(): Record<string, string> {
    return Object.fromEntries([...this.supervisors].map(([d, s]) => [d, s.state]));
  }

  /** Detaches every deployment, waits briefly for in-flight publishes (the rest stays spooled), and disconnects. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const { log } = this.o;
    this.timers.forEach(clearInterval);
    this.assignmentWatch?.stop();
    this.sampler?.stop();
    await Promise.all([...this.supervisors.values()].filter((s) => !s.isFinal).map((s) => s.stop('stopped', 'agent shutting down')));
    if (this.publisher) {
      const idle = await this.publisher.idle(3000);
      if (!idle) log.warn({ spooled: this.spool.length }, 'stopping with batches unacknowledged; they stay in the spool for the next start');
      this.publisher.close();
    }
    this.ledgers?.persistAll();
    this.ledgers?.closeAll();
    await this.http?.close();
    // close, not drain: drain waits for every subscription (the KV watcher's included) to finish.
    if (!this.nc.isClosed()) await this.nc.close();
    log.info('agent stopped');
  }
}

const trustedKeyFile = (config: TapfleetConfig) => config.agent.trustedKeyFile ?? join(config.dataDir, 'control-plane', 'signing-key.pub');

/**
 * The control plane's public key must be there before the agent accepts any work: without it
 * every assignment would be refused while deploys report success elsewhere. The local default
 * (the control plane's own file) may appear a moment after the agent starts with the stack.
 */
async function requireTrustedKey(config: TapfleetConfig): Promise<void> {
  const file = trustedKeyFile(config);
  const deadline = Date.now() + (config.agent.trustedKeyFile ? 0 : 30_000);
  while (!existsSync(file) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
  const hint = "copy the control plane's control-plane/signing-key.pub (under its data dir) to this host and set agent.trustedKeyFile";
  if (!existsSync(file)) throw new Error(`no trusted control-plane key at ${file}: ${hint}`);
  try {
    createPublicKey(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file} is not a public key (${(e as Error).message}): ${hint}`);
  }
}
