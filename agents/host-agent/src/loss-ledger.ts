import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod/v3';
import { LossCounters, Outage } from '@tapfleet/schemas';

/**
 * The end of tracing not yet followed by a restart: a runner that died (restart pending), a
 * deployment stopped, or (after a load) the previous agent incarnation. It becomes an outage
 * when a runner attaches again; a deployment that never resumes reports none.
 */
const Gap = z.object({
  kind: Outage.shape.kind,
  fromMs: z.number().int().safe().nonnegative(),
  cause: z.string(),
  /** The deployment was stopped (a final state), not merely down: only shown if it resumes. */
  stopped: z.boolean(),
});
type Gap = z.infer<typeof Gap>;

/** What the agent keeps per deployment across its own restarts (same boot). */
const PersistedDeployment = z.object({
  bootId: z.string(),
  nextSeq: z.number().int().safe().nonnegative(),
  loss: LossCounters,
  outages: z.array(Outage).default([]),
  gap: Gap.optional(),
  /** A runner was attached at this write: a later load means the agent died (or was stopped) under it. */
  tracing: z.boolean().default(false),
  /** Everything produced up to this wall ms was received and is durable (acked or spooled). */
  safeMs: z.number().int().safe().nonnegative().default(0),
  /** Events in batches reserved but neither acked nor spooled at this write. */
  inDoubt: z.number().int().safe().nonnegative().default(0),
});
type PersistedDeployment = z.infer<typeof PersistedDeployment>;

/** One disk page: one write, and room for the counters plus the recent outages. */
const RECORD_BYTES = 4096;
/** Outages kept in the record and in each status; older ones were reported before (and are in ClickHouse). */
const KEPT_OUTAGES = 16;

const zeroLoss = (): LossCounters => ({ producedByKernel: 0, ringBufferDrops: 0, spooled: 0, spoolDrops: 0, published: 0, malformed: 0, received: 0, publishedUnacked: 0 });

/** A batch reserved and not yet durable: its size, and the last safe event before it. */
interface Outstanding {
  count: number;
  safeBeforeMs: number;
}

/**
 * Per-deployment sequence numbers, loss counters and outages, for one (host, boot, deployment).
 *
 * Sequences must never repeat within a boot (a repeated Nats-Msg-Id would make JetStream drop
 * new events as duplicates), so the next sequence is persisted before a batch is handed on.
 *
 * Counters are monotonic across runner incarnations and agent restarts. The kernel's counters
 * restart at 0 with every runner, so each incarnation adds to a base: the totals when it
 * started. Every status the agent sends is a persisted snapshot (`report()`), so a restarted
 * agent resumes from at least what it last said. Invariants, at every report:
 *   received <= producedByKernel - ringBufferDrops   (the kernel counted every emit before the
 *       ring-buffer reserve; its stats arrive every statsMs and die with a killed runner, so the
 *       produced figure is at least what the stream proves: received + drops of the incarnation)
 *   published <= received - malformed                (only reserved batches are published)
 *   stored (distinct) <= published                    (published counts acks, plus on a load the
 *       batches that were in flight when the previous agent died: `publishedUnacked`)
 * A kill -9 loses the counts since the last persist (at most one batch, or one heartbeat
 * without events); what that agent held unsent is inside the agent outage it leaves, which
 * starts at `safeMs`, the last event known durable.
 */
export class DeploymentLedger {
  nextSeq = 0;
  loss: LossCounters = zeroLoss();
  private outages: Outage[] = [];
  private gap?: Gap;
  private tracing = false;
  private fd?: number;
  /** Totals when the current runner incarnation started, and its latest kernel counters. */
  private base = { produced: 0, drops: 0, received: 0 };
  private kernel = { produced: 0, drops: 0 };
  private readonly outstanding = new Map<number, Outstanding>();
  /** Wall ms of the last event of the last reserved batch (or the attach time). */
  private lastReservedMs = 0;
  /** Wall ms of the last event read from the current runner (or its attach time). */
  private lastReceivedMs = 0;
  private durableWaiters: (() => void)[] = [];
  /** The record last handed to a status, to tell whether a final status is stale. */
  private reportedText = '';

  constructor(private readonly file: string, private readonly bootId: string, private readonly now: () => number = Date.now) {
    const p = this.load();
    if (!p) return;
    this.nextSeq = p.nextSeq;
    this.loss = p.loss;
    this.outages = p.outages;
    this.lastReservedMs = p.safeMs;
    // Batches in flight when the previous incarnation died: their ack never came back, so
    // they count as published (stored or lost: ClickHouse says), never as vanished.
    this.loss.published += p.inDoubt;
    this.loss.publishedUnacked = (this.loss.publishedUnacked ?? 0) + p.inDoubt;
    if (p.tracing || p.gap) {
      const fromMs = p.gap ? Math.min(p.gap.fromMs, p.safeMs || p.gap.fromMs) : p.safeMs;
      const cause = p.tracing ? 'agent died' : p.gap!.stopped ? 'agent restarted' : `agent died while the runner was down (${p.gap!.cause})`;
      this.gap = { kind: 'agent', fromMs, cause, stopped: !p.tracing && p.gap!.stopped };
    }
  }

  private load(): PersistedDeployment | undefined {
    if (!existsSync(this.file)) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(this.file, 'utf8'));
    } catch {
      return undefined; // unreadable: start over (the boot id check would have reset it anyway)
    }
    const parsed = PersistedDeployment.safeParse(json);
    return parsed.success && parsed.data.bootId === this.bootId ? parsed.data : undefined;
  }

  /** A runner incarnation starts: its kernel counters count from 0 on top of today's totals. */
  runnerStarted(): void {
    this.settle();
    this.base = { produced: this.loss.producedByKernel, drops: this.loss.ringBufferDrops, received: this.loss.received };
    this.kernel = { produced: 0, drops: 0 };
  }

  /** The runner's stats record: cumulative for this incarnation. */
  kernelStats(produced: bigint, drops: bigint): void {
    this.kernel = { produced: Number(produced), drops: Number(drops) };
    this.settle();
  }

  /** The wall ms of the latest event read from the runner (the supervisor decodes it only when needed). */
  eventReceivedAt(wallMs: number): void {
    this.lastReceivedMs = Math.max(this.lastReceivedMs, wallMs);
  }

  /** The runner attached: a pending gap becomes an outage that ended now. */
  runnerReady(): void {
    const now = this.now();
    if (this.gap) {
      const { kind, fromMs, cause } = this.gap;
      this.addOutage({ kind, fromMs, toMs: now + 1, cause, resolution: 'restarted' });
      this.gap = undefined;
    }
    this.tracing = true;
    this.lastReceivedMs = now;
    this.lastReservedMs = Math.max(this.lastReservedMs, now);
    this.persist();
  }

  /** The runner died unasked: nothing is traced from the last event read from it. */
  runnerDied(cause: string): void {
    if (!this.tracing) return; // died again before attaching: the open gap goes on
    this.tracing = false;
    this.gap = { kind: 'runner', fromMs: this.lastReceivedMs, cause, stopped: false };
    this.persist();
  }

  /** The deployment reached a final state: a gap still open ends here; a later resume is an outage from now. */
  stopped(): void {
    const now = this.now();
    if (this.gap && !this.gap.stopped) {
      const { kind, fromMs, cause } = this.gap;
      this.addOutage({ kind, fromMs, toMs: now + 1, cause, resolution: 'stopped' });
    }
    if (this.tracing || !this.gap?.stopped) this.gap = { kind: 'runner', fromMs: this.tracing ? this.lastReceivedMs : now, cause: 'stopped', stopped: true };
    this.tracing = false;
    this.persist();
  }

  private addOutage(o: Outage): void {
    this.outages.push(o);
    if (this.outages.length > KEPT_OUTAGES) this.outages.splice(0, this.outages.length - KEPT_OUTAGES);
  }

  /** The produced figure is at least what the stream proves (see the class comment). */
  private settle(): void {
    const l = this.loss;
    const receivedNow = l.received - this.base.received;
    l.ringBufferDrops = Math.max(l.ringBufferDrops, this.base.drops + this.kernel.drops);
    l.producedByKernel = Math.max(l.producedByKernel, this.base.produced + Math.max(this.kernel.produced, receivedNow + this.kernel.drops));
  }

  /** Reserves `count` sequence numbers for a batch whose last event has wall time `lastEventMs`; persisted before use. */
  reserve(count: number, lastEventMs = this.lastReservedMs): number {
    const first = this.nextSeq;
    this.nextSeq += count;
    this.outstanding.set(first, { count, safeBeforeMs: this.lastReservedMs });
    this.lastReservedMs = Math.max(this.lastReservedMs, lastEventMs);
    this.persist();
    return first;
  }

  /** JetStream acked the batch starting at `firstSeq`. */
  acked(firstSeq: number, count: number): void {
    this.loss.published += count;
    // A batch replayed from the spool is not outstanding: persist now, before the spool
    // forgets it, so a restart neither replays it uncounted nor counts it twice.
    if (!this.outstanding.delete(firstSeq)) this.persist();
    this.notifyDurable();
  }

  /**
   * The batch is in the disk spool: durable, replayed later. Called after the spool write: a
   * kill between the two leaves the batch both in doubt and spooled, so it is counted published
   * twice (over by one batch, never under: stored <= published still holds).
   */
  spooled(firstSeq: number, count: number): void {
    this.loss.spooled += count;
    this.outstanding.delete(firstSeq);
    this.persist();
    this.notifyDurable();
  }

  /**
   * Resolves once every reserved batch is acked or spooled (or after `timeoutMs`), so a final
   * status counts the last batch's ack instead of racing it.
   */
  whenDurable(timeoutMs: number): Promise<boolean> {
    if (!this.outstanding.size) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.durableWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  private notifyDurable(): void {
    if (this.outstanding.size) return;
    for (const w of this.durableWaiters.splice(0)) w();
  }

  /** Counters or outages moved since the last status (a spool replayed after the deployment ended). */
  get changedSinceReport(): boolean {
    return JSON.stringify(this.report(false)) !== this.reportedText;
  }

  private safeMs(): number {
    let safe = this.lastReservedMs;
    for (const o of this.outstanding.values()) safe = Math.min(safe, o.safeBeforeMs);
    return safe;
  }

  /** The persisted record: written before any status carries these counters. */
  private record(): PersistedDeployment {
    this.settle();
    let inDoubt = 0;
    for (const o of this.outstanding.values()) inDoubt += o.count;
    return { bootId: this.bootId, nextSeq: this.nextSeq, loss: this.loss, outages: this.outages, ...(this.gap ? { gap: this.gap } : {}), tracing: this.tracing, safeMs: this.safeMs(), inDoubt };
  }

  /**
   * One fixed-size write at offset 0 of a file kept open: ~10 us, where write-temp-and-
   * rename cost ~1 ms a batch. The record is padded to a constant length so a shorter
   * record never leaves a longer one's tail behind.
   */
  persist(): void {
    const record = Buffer.alloc(RECORD_BYTES, ' ');
    let text = JSON.stringify(this.record());
    // Too many long causes: the oldest outages go first (they were reported already).
    while (Buffer.byteLength(text) > RECORD_BYTES && this.outages.length) {
      this.outages.shift();
      text = JSON.stringify(this.record());
    }
    if (record.write(text) < Buffer.byteLength(text)) throw new Error(`ledger record over ${RECORD_BYTES} bytes`);
    this.fd ??= openSync(this.file, existsSync(this.file) ? 'r+' : 'w+');
    writeSync(this.fd, record, 0, RECORD_BYTES, 0);
  }

  /** Counters and outages for a status, persisted first: a restart never goes below what was reported. */
  report(sending = true): { loss: LossCounters; outages: Outage[] } {
    if (sending) this.persist();
    const open = this.gap && !this.gap.stopped ? [{ kind: this.gap.kind, fromMs: this.gap.fromMs, cause: this.gap.cause }] : [];
    const r = { loss: { ...this.loss }, outages: [...this.outages, ...open] };
    if (sending) this.reportedText = JSON.stringify(r);
    return r;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Ledgers by deployment id, created on first use (spool replays may name a deployment that already ended). */
export class Ledgers {
  private readonly byDeployment = new Map<string, DeploymentLedger>();

  constructor(private readonly dir: string, private readonly bootId: string) {
    mkdirSync(dir, { recursive: true });
  }

  get(deploymentId: string): DeploymentLedger {
    let ledger = this.byDeployment.get(deploymentId);
    if (!ledger) {
      ledger = new DeploymentLedger(join(this.dir, `${deploymentId}.json`), this.bootId);
      this.byDeployment.set(deploymentId, ledger);
    }
    return ledger;
  }

  entries(): IterableIterator<[string, DeploymentLedger]> {
    return this.byDeployment.entries();
  }

  persistAll(): void {
    for (const l of this.byDeployment.values()) l.persist();
  }

  closeAll(): void {
    for (const l of this.byDeployment.values()) l.close();
  }
}
