import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeliverPolicy } from '@nats-io/jetstream';
import { ApiClient, adminTokenPath } from '@tapfleet/control-plane';
import { AGENT_NODE_FLAGS, connectJetStream, DEFAULT_DATA_DIR, PROJECT_ROOT, sleep } from '@tapfleet/runtime';
import { stackDown, stackUp, type ServiceName } from '@tapfleet/stack';
import { z } from 'zod/v3';
import { AgentDeploymentStatus, HostView, PREFIX_FIELD, decodeEventBatch, deploymentEventsFilter, EVENTS_STREAM, AGENT_STREAM, statusSubject, type TapfleetConfig } from '@tapfleet/schemas';
import { isolatedStackConfig, testLogger } from '../stack-harness.js';

const log = testLogger('fleet');
const TAPFLEET = join(PROJECT_ROOT, 'bin', 'tapfleet.js');
/** The one sleep (runtime's), for the tests that import it from here. */
export { sleep };

/** Waits for `check` to return a value (not undefined/false), polling; fails with `what` after timeoutMs. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(everyMs);
  }
}

/** Ingest's durable consumers (events, agent status, snapshots) have nothing pending or unacked. */
export async function ingestCaughtUp(config: TapfleetConfig): Promise<boolean> {
  const { nc, jsm } = await connectJetStream(config, { name: 'test-ingest-caught-up' });
  try {
    for (const stream of [EVENTS_STREAM, AGENT_STREAM])
      for await (const c of jsm.consumers.list(stream)) if (c.config.durable_name && (c.num_pending > 0 || c.num_ack_pending > 0)) return false;
    return true;
  } finally {
    await nc.close();
  }
}

/** A private NATS + Redis (no ClickHouse: the fleet does not need it) on their own ports and data dir. */
export class FleetStack {
  readonly config: TapfleetConfig;
  private readonly children = new Set<ChildProcess>();
  private readonly configFile: string;

  /** `configure` adjusts the isolated config before anything uses it (e.g. ClickHouse shards). */
  constructor(basePort: number, controlPlanePort: number, configure: (c: TapfleetConfig) => TapfleetConfig = (c) => c) {
    const base = configure(isolatedStackConfig(basePort));
    this.config = { ...base, controlPlane: { ...base.controlPlane, port: controlPlanePort, url: `http://127.0.0.1:${controlPlanePort}`, hostLivenessMs: 3000, canaryTimeoutMs: 15_000 } };
    this.configFile = join(this.config.dataDir, 'tapfleet.json');
    writeFileSync(this.configFile, JSON.stringify({ dataDir: this.config.dataDir, nats: this.config.nats, redis: this.config.redis, clickhouse: this.config.clickhouse, controlPlane: this.config.controlPlane }));
  }

  private readonly started = new Set<ServiceName>();

  async up(only: ServiceName[] = ['nats', 'redis']): Promise<void> {
    only.forEach((s) => this.started.add(s));
    await stackUp(this.config, log, { install: false, only });
  }

  async down(only: ServiceName[] = ['nats', 'redis']): Promise<void> {
    await stackDown(this.config, log, only);
  }

  /** Spawns `tapfleet ARGS` with this stack's config; the child is killed at cleanup if still running. */
  spawnTapfleet(args: string[], extraConfig: Record<string, unknown> = {}, name = args[0]!, nodeFlags: readonly string[] = []): ChildProcess {
    let file = this.configFile;
    if (Object.keys(extraConfig).length) {
      file = join(this.config.dataDir, `${name}.json`);
      writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(this.configFile, 'utf8')), ...extraConfig }));
    }
    const logDir = join(this.config.dataDir, 'logs');
    mkdirSync(logDir, { recursive: true });
    const child = spawn(process.execPath, [...nodeFlags, TAPFLEET, ...args, '--config', file], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TAPFLEET_LOG_LEVEL: process.env.TAPFLEET_LOG_LEVEL ?? 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString()).slice(-20_000);
      writeFileSync(join(logDir, `${name}.log`), stderr);
    });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  /** Runs a short `tapfleet` command against this stack and returns its outcome. */
  cli(args: string[], cwd = PROJECT_ROOT): { code: number | null; stdout: string; stderr: string } {
    const r = spawnSync(process.execPath, [TAPFLEET, ...args, '--config', this.configFile], { encoding: 'utf8', cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TAPFLEET_LOG_LEVEL: 'warn' }, timeout: 60_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  async startControlPlane(): Promise<ChildProcess> {
    const cp = this.spawnTapfleet(['control-plane'], {}, 'control-plane');
    await eventually('the control plane to answer /healthz', async () => (await fetch(`${this.config.controlPlane.url}/healthz`)).ok);
    return cp;
  }

  api(token?: string): ApiClient {
    return new ApiClient(this.config.controlPlane.url, token ?? readFileSync(adminTokenPath(this.config.dataDir), 'utf8').trim());
  }

  async stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
  }

  async cleanup(): Promise<void> {
    await Promise.all([...this.children].map(async (c) => {
      const t = Date.now();
      await this.stopChild(c);
      log.info({ args: c.spawnargs.slice(2, 5), ms: Date.now() - t }, 'child stopped');
    }));
    await this.down([...this.started]);
    rmSync(this.config.dataDir, { recursive: true, force: true });
  }
}

export interface AgentSpec {
  hostId: string;
  labels: Record<string, string>;
  scopePid: number;
  binaries?: Record<string, string>;
  agent?: Record<string, unknown>;
}

/** A host agent as a real process; `metricsPort` is fixed so tests can scrape it. */
export class AgentProcess {
  child!: ChildProcess;
  constructor(readonly stack: FleetStack, readonly spec: AgentSpec, readonly metricsPort: number) {}

  async start(): Promise<void> {
    const s = this.spec;
    this.child = this.stack.spawnTapfleet(
      ['agent', '--host-id', s.hostId, '--labels', Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(','), '--scope-pid', String(s.scopePid), '--metrics-port', String(this.metricsPort),
        ...Object.entries(s.binaries ?? {}).flatMap(([n, p]) => ['--binary', `${n}=${p}`])],
      { agent: { heartbeatMs: 300, runner: { snapshotMs: 300, statsMs: 300 }, clock: { sampleIntervalMs: 1000 }, ...s.agent } },
      `agent-${s.hostId}`,
      AGENT_NODE_FLAGS, // as every start path runs it: the bench measures the agent's footprint here
    );
    await eventually(`agent ${s.hostId} to be live in the inventory`, async () => (await this.stack.api().call('GET', '/v1/hosts', z.array(HostView))).some((h) => h.hostId === s.hostId && h.live));
  }

  async metrics(): Promise<string> {
    return (await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`)).text();
  }

  async metric(name: string): Promise<number> {
    const line = (await this.metrics()).split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`) && l.includes(name));
    return line ? Number(line.split(' ').pop()) : 0;
  }

  /** The runner processes this agent started (its children), optionally only those loading one bundle. */
  runnerPids(bundleId = 'tapfleet-runner'): number[] {
    try {
      return execFileSync('pgrep', ['-P', String(this.child.pid), '-f', bundleId], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  }
}

/** The tracee fixture built to a path of its own (an agent's "binary"), optionally a different build. */
export function buildTraceeAt(path: string, variant?: string): string {
  mkdirSync(join(path, '..'), { recursive: true });
  execFileSync('gcc', ['-O1', '-g', '-fno-omit-frame-pointer', '-mno-omit-leaf-frame-pointer', '-Wl,--build-id', ...(variant ? [`-DTRACEE_VARIANT="${variant}"`] : []), '-o', path, join(PROJECT_ROOT, 'test', 'fixtures', 'tracee.c')]);
  return path;
}

export const fleetBinDir = () => join(DEFAULT_DATA_DIR, 'test-bin', 'fleet');

export interface StoredEvents {
  /** host id -> sequence numbers in arrival order (duplicates kept, to be caught). */
  seqs: Map<string, number[]>;
  /** host id -> pids seen in the records. */
  pids: Map<string, Set<number>>;
  /** host id -> the records themselves (prefix and fields), in arrival order. */
  records: Map<string, Uint8Array[]>;
  messages: number;
}

/** Everything JetStream stored for a deployment's events, decoded. */
export async function storedEvents(config: TapfleetConfig, deploymentId: string): Promise<StoredEvents> {
  const { nc, js, jsm } = await connectJetStream(config, { name: 'fleet-test-reader' });
  const out: StoredEvents = { seqs: new Map(), pids: new Map(), records: new Map(), messages: 0 };
  try {
    const info = await jsm.streams.info(EVENTS_STREAM, { subjects_filter: deploymentEventsFilter(deploymentId) });
    const total = Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
    if (!total) return out;
    const consumer = await js.consumers.get(EVENTS_STREAM, { filter_subjects: deploymentEventsFilter(deploymentId), deliver_policy: DeliverPolicy.All });
    const iter = await consumer.fetch({ max_messages: total, expires: 5000 });
    for await (const m of iter) {
      out.messages++;
      const { header, records } = decodeEventBatch(m.data);
      const seqs = out.seqs.get(header.hostId) ?? [];
      const pids = out.pids.get(header.hostId) ?? new Set<number>();
      out.records.set(header.hostId, [...(out.records.get(header.hostId) ?? []), ...records.map((r) => r.data)]);
      records.forEach((r, i) => {
        seqs.push(header.firstSeq + i);
        pids.add(new DataView(r.data.buffer, r.data.byteOffset).getUint32(PREFIX_FIELD.pid.offset, true));
      });
      out.seqs.set(header.hostId, seqs);
      out.pids.set(header.hostId, pids);
      if (out.messages >= total) break;
    }
    return out;
  } finally {
    await nc.close();
  }
}

/** Agent status messages for a deployment, from the agent stream (works for assignments made behind the control plane's back). */
export async function agentStatuses(config: TapfleetConfig, hostId: string, deploymentId: string): Promise<AgentDeploymentStatus[]> {
  const { nc, js, jsm } = await connectJetStream(config, { name: 'fleet-test-status-reader' });
  try {
    const subject = statusSubject(hostId);
    const info = await jsm.streams.info(AGENT_STREAM, { subjects_filter: subject });
    const total = info.state.subjects?.[subject] ?? 0;
    if (!total) return [];
    const consumer = await js.consumers.get(AGENT_STREAM, { filter_subjects: subject, deliver_policy: DeliverPolicy.All });
    const out: AgentDeploymentStatus[] = [];
    let n = 0;
    for await (const m of await consumer.fetch({ max_messages: total, expires: 5000 })) {
      const s = AgentDeploymentStatus.parse(m.json());
      if (s.deploymentId === deploymentId) out.push(s);
      if (++n >= total) break;
    }
    return out;
  } finally {
    await nc.close();
  }
}

/** Sequences 0..n-1 each exactly once. */
export function gapFreeOnce(seqs: number[]): { ok: boolean; count: number; duplicates: number; missing: number } {
  const seen = new Set<number>();
  let duplicates = 0;
  for (const s of seqs) {
    if (seen.has(s)) duplicates++;
    seen.add(s);
  }
  const max = seqs.length ? Math.max(...seqs) : -1;
  const missing = max + 1 - seen.size;
  return { ok: duplicates === 0 && missing === 0, count: seen.size, duplicates, missing };
}
