import { mkdirSync, existsSync, readdirSync } from 'node:fs';
import { stackTlsMismatches } from './stack-tls.js';
import { join } from 'node:path';
import type { TapfleetConfig } from '@tapfleet/schemas';
import { ensureNatsAuth, isNatsCluster, withNatsCluster, type Logger } from '@tapfleet/runtime';
import { ensureDebianPackages, STACK_PACKAGES } from './debian-packages.js';
import { isOwnedAlive, readPidFile, removePidFile, spawnDetached, stopOwned, type PidRecord } from './owned-process.js';
import { healthReason, StackError, waitHealthy } from './health-wait.js';
import { isPortOpen } from './tcp-port.js';
import { ensureTracefs } from './tracefs.js';
import { ensureCgroup2 } from './cgroup2.js';
import type { ServiceDirs, StackService } from './services/service.js';
import { natsServices } from './services/nats.js';
import { clickhouseService, clickhouseShardServices } from './services/clickhouse.js';
import { redisService } from './services/redis.js';
import { kafkaService } from './services/kafka.js';
import { jaegerService } from './services/jaeger.js';
import { agentService, assemblerService, controlPlaneService, ingestService, queryService } from './services/product.js';
import { demoAgentService, demoStageService } from './services/demo.js';

export type ServiceState = 'started' | 'running' | 'reused' | 'stopped' | 'unhealthy';

export interface ServiceReport {
  name: StackService['name'];
  state: ServiceState;
  /** Set when tapfleet owns the process. */
  pid?: number;
  address: string;
  logFile: string;
  reason?: string;
}

/** What `--with`, start groups and `only` name: a NATS cluster's nodes go by `nats`. */
export type ServiceName = Exclude<StackService['name'], `nats-${number}`>;
/** The services known by name before reading the configuration (a cluster's shards are not). */
type FixedServiceName = Exclude<ServiceName, `clickhouse-shard${number}`>;
/** The start group a service belongs to: a NATS cluster node's is `nats`, a ClickHouse shard's `clickhouse`. */
export const serviceGroupName = (name: StackService['name']): ServiceName =>
  name.startsWith('nats-') ? 'nats' : name.startsWith('clickhouse-shard') ? 'clickhouse' : (name as ServiceName);
/** What `stack up` starts unless told otherwise: the servers the product needs. */
export const SERVER_SERVICES: readonly ServiceName[] = ['nats', 'clickhouse', 'redis'];
/** tapfleet's own processes, started after the servers and stopped before them. */
export const PRODUCT_SERVICES: readonly ServiceName[] = ['control-plane', 'ingest', 'assembler', 'query', 'agent'];
/** The demo trading pipeline's stages, then one agent per stage (each scoped to its stage's process). */
export const DEMO_STAGE_SERVICES: readonly ServiceName[] = ['demo-matcher', 'demo-risk', 'demo-gateway'];
export const DEMO_AGENT_SERVICES: readonly ServiceName[] = ['demo-agent-gateway', 'demo-agent-risk', 'demo-agent-matcher'];
export const DEMO_SERVICES: readonly ServiceName[] = [...DEMO_STAGE_SERVICES, ...DEMO_AGENT_SERVICES];
export const ALL_SERVICES: readonly ServiceName[] = [...SERVER_SERVICES, 'kafka', 'jaeger', ...PRODUCT_SERVICES, ...DEMO_SERVICES];

/**
 * Start order: each group starts (its members in parallel) once the group before is healthy, and
 * stops in the reverse order: tapfleet's processes connect to the servers at start and flush to
 * them as they stop; a demo agent is scoped to its stage's process, so the stage comes first.
 */
const START_GROUPS: readonly (readonly ServiceName[])[] = [[...SERVER_SERVICES, 'kafka', 'jaeger'], PRODUCT_SERVICES, DEMO_STAGE_SERVICES, DEMO_AGENT_SERVICES];

/**
 * The named services (default: the servers). Kafka runs only when named: it backs the
 * optional mirror, and its first start fetches the broker from Maven Central. So does Jaeger,
 * the OTLP receiver of the tests and of local span export.
 */
export function stackServices(config: TapfleetConfig, only: readonly ServiceName[] = SERVER_SERVICES, log?: Logger): StackService[] {
  const make: Record<FixedServiceName, () => StackService | StackService[]> = {
    nats: () => natsServices(config),
    clickhouse: () => clickhouseService(config),
    redis: () => redisService(config),
    kafka: () => kafkaService(config, log),
    jaeger: () => jaegerService(config, log),
    'control-plane': () => controlPlaneService(config),
    ingest: () => ingestService(config),
    // With the stack's Jaeger running, the assembler exports to it unless told otherwise.
    assembler: () => assemblerService(config.assembler.otlp.url || !only.includes('jaeger') ? config : { ...config, assembler: { ...config.assembler, otlp: { ...config.assembler.otlp, url: `http://127.0.0.1:${config.jaeger.otlpHttpPort}/v1/traces` } } }),
    query: () => queryService(config),
    agent: () => agentService(config),
    'demo-gateway': () => demoStageService(config, 'gateway'),
    'demo-risk': () => demoStageService(config, 'risk'),
    'demo-matcher': () => demoStageService(config, 'matcher'),
    'demo-agent-gateway': () => demoAgentService(config, 'gateway', serviceDirs(config, 'demo-gateway')),
    'demo-agent-risk': () => demoAgentService(config, 'risk', serviceDirs(config, 'demo-risk')),
    'demo-agent-matcher': () => demoAgentService(config, 'matcher', serviceDirs(config, 'demo-matcher')),
  };
  // A cluster's further shards come and go with `clickhouse`, or one by one by their names.
  const shards = clickhouseShardServices(config).filter((s) => only.includes('clickhouse') || only.includes(s.name as ServiceName));
  const fixed = ALL_SERVICES.filter((n): n is FixedServiceName => only.includes(n) && !n.startsWith('clickhouse-shard'));
  return [...fixed.flatMap((n) => make[n]()), ...shards];
}


export function serviceDirs(config: TapfleetConfig, name: string): ServiceDirs {
  const root = join(config.dataDir, 'stack', name);
  return { root, data: join(root, 'data'), logFile: join(root, `${name}.log`), pidFile: join(root, `${name}.pid`) };
}

type StartPlan = { action: 'wait'; rec: PidRecord } | { action: 'reuse' } | { action: 'start' };

/** Decides, without starting anything, what `up` will do with one service; throws if it cannot. */
async function planOne(svc: StackService, dirs: ServiceDirs): Promise<StartPlan> {
  const owned = readPidFile(dirs.pidFile);
  if (isOwnedAlive(owned)) return { action: 'wait', rec: owned };
  if (owned) removePidFile(dirs.pidFile);
  if (await isPortOpen(svc.host, svc.port)) {
    const reason = await healthReason(svc);
    if (reason === undefined) return { action: 'reuse' };
    throw new StackError(
      `${svc.host}:${svc.port} is taken by something that does not answer as ${svc.binary} (${reason}); stop it, or point tapfleet at a free port (see README, Configuration)`,
    );
  }
  for (const port of svc.extraPorts) {
    if (await isPortOpen(svc.host, port))
      throw new StackError(`${svc.binary} also needs ${svc.host}:${port}, which is taken; free it or configure another port`);
  }
  return { action: 'start' };
}

/**
 * Starts one service in two steps: launching (its process spawned and its pid file written, or
 * nothing to spawn) and then the returned wait for health. Split so a Ctrl-C can stop waiting
 * without a process appearing after the stop that should have ended it.
 */
async function launch(svc: StackService, dirs: ServiceDirs, plan: StartPlan, log: Logger): Promise<() => Promise<ServiceReport>> {
  const address = `${svc.host}:${svc.port}`;
  const base = { name: svc.name, address, logFile: dirs.logFile };
  switch (plan.action) {
    case 'wait':
      return async () => (await waitHealthy(svc, plan.rec, dirs), { ...base, state: 'running', pid: plan.rec.pid });
    case 'reuse':
      return async () => {
        log.info({ service: svc.name, address }, 'reusing a healthy service already listening');
        return { ...base, state: 'reused' };
      };
    case 'start': {
      mkdirSync(dirs.data, { recursive: true });
      const rec = spawnDetached(svc.binary, await svc.prepare(dirs), dirs.logFile, dirs.pidFile, dirs.root, svc.env);
      log.info({ service: svc.name, childPid: rec.pid, address }, 'started');
      return async () => (await waitHealthy(svc, rec, dirs), { ...base, state: 'started', pid: rec.pid });
    }
  }
}

/** Starts (or waits for, or reuses) one service the way `up` does: exported for tests of the start-up wait. */
export async function startService(svc: StackService, dirs: ServiceDirs, log: Logger): Promise<ServiceReport> {
  return (await launch(svc, dirs, await planOne(svc, dirs), log))();
}

/** Settles every promise; throws one StackError listing every failure. */
async function allOrExplain<T>(promises: Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failures.length) throw new StackError(failures.map((f) => (f.reason as Error).message).join('\n'));
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

export interface StackUpOptions {
  install?: boolean;
  only?: readonly ServiceName[];
  /** Called as each service is up (healthy, or found running or reused), for progress. */
  onReady?: (report: ServiceReport) => void;
  /**
   * Ctrl-C: once aborted, no further group starts and the group starting stops being waited for
   * (its processes are spawned, with pid files, so the caller's stop ends them); the returned
   * reports and `onReady` cover only what was up before.
   */
  signal?: AbortSignal;
}

/** Installs what is missing, mounts tracefs, starts (or reuses) every service, waits for health. */
export async function stackUp(config: TapfleetConfig, log: Logger, options: StackUpOptions = {}): Promise<ServiceReport[]> {
  const tlsProblems = stackTlsMismatches(config);
  if (tlsProblems.length) throw new Error(`stack.tls is set, so the clients must use TLS too; set:\n  ${tlsProblems.join('\n  ')}`);
  if (options.install !== false) ensureDebianPackages(STACK_PACKAGES, log);
  ensureTracefs(log);
  ensureCgroup2(log);
  const services = stackServices(config, options.only, log).map((svc) => ({ svc, dirs: serviceDirs(config, svc.name) }));
  // The operator, accounts and service credentials must exist before nats-server (or any client) starts.
  if (services.some(({ svc }) => serviceGroupName(svc.name) === 'nats')) await ensureNatsAuth(config);
  // Plan everything first so a taken port fails the whole command before anything starts.
  const plans = await allOrExplain(services.map(({ svc, dirs }) => planOne(svc, dirs)));
  const reports: ServiceReport[] = [];
  const aborted = abortPromise(options.signal);
  for (const group of START_GROUPS) {
    // A Ctrl-C that arrived with the last health answer (one poll of the event loop) is handled
    // in that poll's callbacks: let them run before deciding whether to start the next group.
    await new Promise((r) => setImmediate(r));
    if (options.signal?.aborted) break;
    const members = services.flatMap(({ svc, dirs }, i) => (group.includes(serviceGroupName(svc.name)) ? [{ svc, dirs, plan: plans[i]! }] : []));
    const waits = await allOrExplain(members.map(({ svc, dirs, plan }) => launch(svc, dirs, plan, log)));
    const starting = allOrExplain(
      waits.map((wait) =>
        wait().then((r) => {
          if (!options.signal?.aborted) options.onReady?.(r);
          return r;
        }),
      ),
    );
    // Once aborted nobody awaits this group: its failures (the stop kills what it waits for) are expected.
    starting.catch(() => undefined);
    const done = await Promise.race([starting, aborted]);
    if (done === 'aborted') break;
    reports.push(...done);
  }
  return services.flatMap(({ svc }) => reports.filter((r) => r.name === svc.name));
}

/** Resolves 'aborted' when the signal fires; never, without a signal. */
function abortPromise(signal: AbortSignal | undefined): Promise<'aborted'> {
  return new Promise((resolve) => {
    if (!signal) return;
    if (signal.aborted) resolve('aborted');
    else signal.addEventListener('abort', () => resolve('aborted'), { once: true });
  });
}

/**
 * The configuration `down` and `status` go by: a NATS cluster `stack up --cluster` started
 * (its nodes' pid files) is stopped and shown without the flag being given again.
 */
function withStartedCluster(config: TapfleetConfig): TapfleetConfig {
  if (isNatsCluster(config)) return config;
  let nodes = 0;
  while (nodes < 5 && existsSync(serviceDirs(config, `nats-${nodes + 1}`).pidFile)) nodes++;
  return nodes > 1 ? withNatsCluster(config, nodes) : config;
}

/** Stops exactly the processes this stack started (by pid file); leaves reused ones alone. */
export async function stackDown(configured: TapfleetConfig, log: Logger, only: readonly ServiceName[] = ALL_SERVICES): Promise<ServiceReport[]> {
  const config = withStartedCluster(configured);
  // Reverse start order (demo agents, stages, tapfleet's processes, then the servers). Reports
  // for the servers always, for the others only if this stack started them.
  const started = (n: ServiceName) => SERVER_SERVICES.includes(n) || existsSync(serviceDirs(config, n).pidFile);
  const reports: ServiceReport[] = [];
  for (const group of [...START_GROUPS].reverse()) reports.unshift(...(await stopEach(config, log, only.filter((n) => group.includes(serviceGroupName(n)) && started(n)))));
  if (only.includes('clickhouse')) await stopLeftoverShards(config, log);
  return reports;
}

/** Shards a `stack up --shards N` started that this configuration does not name: still ours (pid file), so still stopped. */
async function stopLeftoverShards(config: TapfleetConfig, log: Logger): Promise<void> {
  const root = join(config.dataDir, 'stack');
  const names = existsSync(root) ? readdirSync(root).filter((n) => /^clickhouse-shard[0-9]+$/.test(n)) : [];
  for (const name of names) {
    const dirs = serviceDirs(config, name);
    const rec = readPidFile(dirs.pidFile);
    if (!rec) continue;
    const outcome = await stopOwned(rec);
    removePidFile(dirs.pidFile);
    if (outcome !== 'not-running') log.info({ service: name, childPid: rec.pid, outcome }, 'stopped');
  }
}

async function stopEach(config: TapfleetConfig, log: Logger, only: readonly ServiceName[]): Promise<ServiceReport[]> {
  return Promise.all(
    stackServices(config, only, log).map(async (svc) => {
      const dirs = serviceDirs(config, svc.name);
      const rec = readPidFile(dirs.pidFile);
      const base = { name: svc.name, address: `${svc.host}:${svc.port}`, logFile: dirs.logFile, state: 'stopped' as const };
      if (!rec) return base;
      const outcome = await stopOwned(rec);
      removePidFile(dirs.pidFile);
      if (outcome !== 'not-running') log.info({ service: svc.name, childPid: rec.pid, outcome }, 'stopped');
      return { ...base, pid: rec.pid };
    }),
  );
}

/** The servers, plus any other service this stack has a pid file for. */
export async function stackStatus(configured: TapfleetConfig): Promise<ServiceReport[]> {
  const config = withStartedCluster(configured);
  const names = ALL_SERVICES.filter((n) => SERVER_SERVICES.includes(n) || existsSync(serviceDirs(config, n).pidFile));
  return Promise.all(
    stackServices(config, names).map(async (svc): Promise<ServiceReport> => {
      const dirs = serviceDirs(config, svc.name);
      const base = { name: svc.name, address: `${svc.host}:${svc.port}`, logFile: dirs.logFile };
      const rec = readPidFile(dirs.pidFile);
      const owned = isOwnedAlive(rec);
      if (!owned && !(await isPortOpen(svc.host, svc.port))) return { ...base, state: 'stopped' };
      const reason = await healthReason(svc);
      const pid = owned ? { pid: rec.pid } : {};
      if (reason !== undefined) return { ...base, ...pid, state: 'unhealthy', reason };
      return { ...base, ...pid, state: owned ? 'running' : 'reused' };
    }),
  );
}
