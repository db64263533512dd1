import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setLongTimeout, type BlobReader, type LongTimer, type Logger } from '@tapfleet/runtime';
import { boundStackEntries } from './stack-snapshot-bound.js';
import { decodeSnapshot, mergeEqualKeys, RunnerProcess, StackPublisher, symbolizerFor, whenReady, type StackSymbolizer, type ProcessScope, type RunnerRecord } from '@tapfleet/runner';
import { FINAL_STATES, hasHostKey, mapObjectName, parseBundle, publishedManifest, stackKeysOf, PREFIX_FIELD, type AgentConfig, type AggregationSnapshot, type Assignment, type Bundle, type DeploymentState, type EventBatchHeader } from '@tapfleet/schemas';
import type { OutgoingBatch } from './batch-publisher.js';
import { EventBatcher, type BatcherIdentity } from './event-batcher.js';
import { Governor } from './governor.js';
import type { HostClock } from './host-clock.js';
import type { DeploymentLedger } from './loss-ledger.js';
import { describeBundleError, verifyForThisHost } from './verify-bundle.js';

/** Longest a stop waits for its last batches to be acked or spooled (the publisher spools after its 5 s ack timeout). */
const FINAL_ACK_WAIT_MS = 6000;

/** What a supervisor reports; the agent adds identity and loss counters and publishes it. */
export interface SupervisorStatus {
  state: DeploymentState;
  reason?: string;
  bundleId?: string;
  probes: { program: string; ok: boolean; errno?: number; message?: string }[];
  runnerRestarts: number;
  load?: { cpuPercent: number; eventsPerSec: number };
}

export interface SupervisorDeps {
  identity: BatcherIdentity;
  config: AgentConfig;
  /** Bundles by id (direct reads: agents may not create consumers on the store). */
  bundles: BlobReader;
  trustedKeyPem: string;
  clock: HostClock;
  headerClock: () => EventBatchHeader['clock'];
  ledger: DeploymentLedger;
  publish: (b: OutgoingBatch) => void;
  publishAggregations: (s: Omit<AggregationSnapshot, 'hostId' | 'bootId' | 'agentVersion' | 'sentAtMs'>) => void;
  report: (s: SupervisorStatus) => void;
  onRunnerStart: () => void;
  workDir: string;
  log: Logger;
  runnerBinary?: string;
}


/**
 * One assignment on this host: fetch, verify, run (restarting a crashed runner with
 * backoff), batch events, publish map snapshots, enforce the TTL and the overload
 * budget, and report every state change. A bundle that fails verification is never
 * written to disk, let alone handed to the runner.
 */
export class DeploymentSupervisor {
  private status: SupervisorStatus = { state: 'pending', probes: [], runnerRestarts: 0 };
  private runner?: RunnerProcess;
  private bundle?: Bundle;
  /** Symbolises the bundle's kstack/ustack keys; new per runner: a new runner's stack ids are new. */
  private stacks?: StackSymbolizer;
  /** Rewrites records with stack fields into their published layout (symbolised text); absent when no event has one. */
  private eventStacks?: StackPublisher;
  private batcher?: EventBatcher;
  private governor: Governor;
  private ttlTimer?: LongTimer;
  private restartTimer?: NodeJS.Timeout;
  private intervalTimers: NodeJS.Timeout[] = [];
  private stopping = false;
  /** The latest event record of the current runner: its time starts the outage if the runner dies. */
  private lastEvent?: Uint8Array;
  private pendingMaps = new Map<string, AggregationSnapshot['maps'][number]>();
  /** The runner's fatal error (load refused by the verifier, ...): restarting cannot help. */
  private runnerError?: string;
  private everReady = false;

  constructor(readonly assignment: Assignment, private readonly d: SupervisorDeps) {
    this.governor = new Governor(d.config.governor);
  }

  get state(): DeploymentState {
    return this.status.state;
  }

  get isFinal(): boolean {
    return FINAL_STATES.includes(this.status.state);
  }

  private set(patch: Partial<SupervisorStatus>): void {
    this.status = { ...this.status, ...patch };
    if (!('reason' in patch) && patch.state) delete this.status.reason;
    // A final state owns no timers: a refused deployment's TTL timer would otherwise keep ticking.
    if (this.isFinal) this.clearTimers();
    this.d.report(this.status);
  }

  /** The latest status again (heartbeat-time refresh with fresh loss counters). */
  current(): SupervisorStatus {
    if (this.status.state !== 'running') return this.status;
    return { ...this.status, load: { cpuPercent: this.governor.latest.cpuPercent, eventsPerSec: this.governor.latest.eventsPerSec } };
  }

  async start(): Promise<void> {
    const { assignment: a, d } = this;
    const remaining = a.expiresAtMs - Date.now();
    if (remaining <= 0) return this.set({ state: 'expired', reason: `expired at ${new Date(a.expiresAtMs).toISOString()} before it could start` });
    // Chained: a TTL over ~24.8 days would overflow Node's 32-bit timer and fire at once.
    this.ttlTimer = setLongTimeout(() => void this.stop('expired', `TTL reached at ${new Date(a.expiresAtMs).toISOString()}`), remaining);
    this.set({ state: 'pending', bundleId: a.bundleId });
    let bytes: Uint8Array | null;
    try {
      bytes = await d.bundles.getBlob(a.bundleId);
    } catch (e) {
      return this.set({ state: 'failed', reason: `cannot fetch bundle ${a.bundleId.slice(0, 12)}: ${(e as Error).message}` });
    }
    if (this.stopping) return;
    if (!bytes) return this.set({ state: 'failed', reason: `bundle ${a.bundleId.slice(0, 12)} is not in the object store` });
    let bundle: Bundle;
    try {
      bundle = parseBundle(new TextDecoder().decode(bytes));
    } catch (e) {
      const reason = describeBundleError(e);
      if (!reason) throw e;
      return this.set({ state: 'refused', reason });
    }
    const verdict = verifyForThisHost(bundle, a.bundleId, d.trustedKeyPem, d.identity.kernelBuildId);
    if (!verdict.ok) {
      d.log.warn({ deploymentId: a.deploymentId, reason: verdict.reason }, 'bundle refused');
      return this.set({ state: 'refused', reason: verdict.reason });
    }
    this.bundle = bundle;
    // Stack fields are symbolised here, before batching: addresses never leave the host, and the
    // batcher checks each record against the published layout it is then in.
    const stackPublisher = new StackPublisher(bundle.manifest);
    this.eventStacks = stackPublisher.needed ? stackPublisher : undefined;
    this.batcher = new EventBatcher(d.identity, publishedManifest(bundle.manifest), d.clock, d.headerClock, d.ledger, d.config.batch, d.publish);
    mkdirSync(d.workDir, { recursive: true });
    writeFileSync(join(d.workDir, `${bundle.manifest.bundleId}.bpf.o`), bundle.object);
    await this.launch();
  }

  private scope(): ProcessScope | undefined {
    if (this.assignment.pids.length) return { pids: this.assignment.pids };
    return this.d.config.scope;
  }

  private async launch(): Promise<void> {
    const { d } = this;
    const manifest = this.bundle!.manifest;
    this.stacks = symbolizerFor(manifest);
    const scope = this.scope();
    const runner = new RunnerProcess({
      objectPath: join(d.workDir, `${manifest.bundleId}.bpf.o`),
      manifest,
      ...(scope ? { scope } : {}),
      snapshotMs: d.config.runner.snapshotMs,
      statsMs: d.config.runner.statsMs,
      runStats: true, // the governor's input
      ...(d.runnerBinary ? { binary: d.runnerBinary } : {}),
    });
    this.runner = runner;
    this.lastEvent = undefined;
    d.ledger.runnerStarted();
    this.governor = new Governor(d.config.governor);
    d.onRunnerStart();
    let stderr = '';
    runner.on('stderr', (s) => (stderr = (stderr + s).slice(-2000)));
    const probes: SupervisorStatus['probes'] = [];
    const programs = manifest.attach.flatMap((x) => ('program' in x ? [x.program] : []));
    runner.on('record', (r) => this.onRecord(r, probes, programs));
    runner.on('exit', (code, signal) => this.onExit(runner, code, signal, stderr));
    try {
      const ready = await whenReady(runner);
      if (ready.ok === 0 && ready.failed > 0) {
        await this.stop('failed', `no probe attached: ${probes.map((p) => p.message).join('; ')}`);
        return;
      }
      this.everReady = true;
      d.ledger.runnerReady();
      this.set({ state: 'running', probes });
      d.log.info({ deploymentId: this.assignment.deploymentId, attachMs: Number(ready.attachNs) / 1e6, attached: ready.ok, failed: ready.failed }, 'deployment running');
      this.startIntervals();
    } catch (e) {
      if (!this.stopping) d.log.warn({ deploymentId: this.assignment.deploymentId, err: (e as Error).message, stderr: stderr.trim() }, 'runner failed to start');
      // onExit schedules the restart (or reports the final failure).
    }
  }

  private startIntervals(): void {
    for (const a of this.bundle!.manifest.attach) {
      if (a.kind !== 'interval') continue;
      const clears = a.actions.filter((x) => x.op === 'clear').map((x) => mapObjectName(x.map));
      const kernel = a.kernel;
      this.intervalTimers.push(setInterval(() => {
        // The probe's map writes, then the snapshot (which publishes them), then its clears.
        if (kernel) this.runner?.run(kernel);
        // Snapshot first, so what is cleared has been published.
        this.runner?.snapshot();
        for (const m of clears) this.runner?.clear(m);
      }, Math.max(10, Math.round(a.periodNs / 1e6))));
    }
  }

  private onRecord(r: RunnerRecord, probes: SupervisorStatus['probes'], programs: string[]): void {
    switch (r.type) {
      case 'event':
        this.lastEvent = r.data;
        this.batcher!.add(this.eventStacks ? this.eventStacks.publish(r.data) : r.data);
        break;
      case 'attach':
        probes.push({ program: programs[r.index] ?? `#${r.index}`, ok: r.errno === 0, ...(r.errno ? { errno: r.errno } : {}), message: r.message });
        break;
      case 'map':
        this.onMap(r);
        break;
      case 'stats':
        this.onStats(r);
        break;
      case 'error':
        this.runnerError = r.message;
        break;
      default:
        break;
    }
  }

  private onMap(r: Extract<RunnerRecord, { type: 'map' }>): void {
    const maps = this.bundle!.manifest.maps;
    // Stacks are symbolised here, before publishing: host addresses never leave the host, and
    // the same stack on two hosts is one key in the fleet's merge.
    if (this.stacks?.owns(r.name)) return this.stacks.update(r.name, r.entries);
    const layout = maps.find((m) => mapObjectName(m.name) === r.name);
    if (!layout) return;
    const decoded = decodeSnapshot(layout, r.entries, this.stacks);
    const stackKeys = stackKeysOf(layout);
    // ksym()/usym()/strftime() keys are text once published: two addresses in one function (two
    // nsecs in one minute) are one key, as on every other host.
    const merged = stackKeys.length ? boundStackEntries(layout.kind, stackKeys, mergeEqualKeys(layout.kind, decoded)) : hasHostKey(layout) ? mergeEqualKeys(layout.kind, decoded) : decoded;
    const entries = merged.map((e) => ({
      key: e.key.map(String),
      value: String(e.value),
      ...(e.count !== undefined ? { count: String(e.count) } : {}),
      ...(e.buckets ? { buckets: e.buckets.map(String) } : {}),
      ...(e.text !== undefined ? { text: e.text } : {}),
    }));
    this.pendingMaps.set(layout.name, { name: layout.name, entries });
    // The runner writes every map of a snapshot back to back: publish once all are in.
    if (this.pendingMaps.size === maps.length) {
      this.d.publishAggregations({ deploymentId: this.assignment.deploymentId, bundleId: this.bundle!.manifest.bundleId, maps: [...this.pendingMaps.values()] });
      this.pendingMaps.clear();
    }
  }

  private onStats(r: Extract<RunnerRecord, { type: 'stats' }>): void {
    this.d.ledger.kernelStats(r.produced, r.ringbufDrops);
    const load = this.governor.observe({
      atNs: process.hrtime.bigint(),
      runTimeNs: r.programs.reduce((a, p) => a + p.runTimeNs, 0n),
      produced: r.produced + r.ringbufDrops,
    });
    if (load.trip && this.status.state === 'running') {
      const reason = `over budget: ${this.governor.describe(load)}`;
      this.d.log.warn({ deploymentId: this.assignment.deploymentId, cpuPercent: load.cpuPercent, eventsPerSec: load.eventsPerSec }, 'overload governor detached the bundle');
      void this.stop('overloaded', reason, { cpuPercent: load.cpuPercent, eventsPerSec: load.eventsPerSec });
    }
  }

  /** Wall ms of the last event read from the current runner (decoded once, not per event). */
  private noteLastEvent(): void {
    const e = this.lastEvent;
    if (!e || e.length < PREFIX_FIELD.ktime_ns.offset + 8) return;
    const ktime = new DataView(e.buffer, e.byteOffset, e.byteLength).getBigUint64(PREFIX_FIELD.ktime_ns.offset, true);
    this.d.ledger.eventReceivedAt(Number(this.d.clock.wallOfKtime(ktime) / 1_000_000n));
  }

  private onExit(runner: RunnerProcess, code: number | null, signal: NodeJS.Signals | null, stderr: string): void {
    this.batcher?.flush();
    if (this.stopping || runner !== this.runner) return;
    this.noteLastEvent();
    this.d.ledger.runnerDied(signal ?? `exit code ${code}`);
    this.intervalTimers.forEach(clearInterval);
    this.intervalTimers = [];
    if (!this.everReady && this.runnerError) {
      void this.stop('failed', `runner could not load the bundle: ${this.runnerError}`);
      return;
    }
    const restarts = this.status.runnerRestarts + 1;
    const backoff = Math.min(this.d.config.runner.maxRestartBackoffMs, this.d.config.runner.restartBackoffMs * 2 ** Math.min(restarts - 1, 16));
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    const last = stderr.trim().split('\n').pop();
    this.d.log.warn({ deploymentId: this.assignment.deploymentId, how, restarts, backoffMs: backoff, stderr: last }, 'runner died; restarting');
    this.set({ state: 'pending', reason: `runner died (${how}${last ? `: ${last}` : ''}); restart ${restarts} in ${backoff} ms`, runnerRestarts: restarts });
    this.restartTimer = setTimeout(() => void this.launch(), backoff);
  }

  private clearTimers(): void {
    this.ttlTimer?.clear();
    clearTimeout(this.restartTimer);
    this.intervalTimers.forEach(clearInterval);
    this.intervalTimers = [];
  }

  /** Detaches (the runner drains, snapshots and exits) and reports the final state. */
  async stop(state: Extract<DeploymentState, 'stopped' | 'expired' | 'overloaded' | 'failed'>, reason?: string, load?: SupervisorStatus['load']): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.clearTimers();
    const runner = this.runner;
    if (runner) await runner.stop();
    this.batcher?.flush();
    this.noteLastEvent();
    this.d.ledger.stopped();
    // The final status carries the last batches' acks (or their move to the spool), not a race with them.
    await this.d.ledger.whenDurable(FINAL_ACK_WAIT_MS);
    // The figures that tripped the governor, not the runner's final partial window.
    this.set({ state, ...(reason ? { reason } : {}), ...(load ? { load } : {}) });
  }
}
