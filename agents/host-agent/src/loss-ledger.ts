import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { LossCounters } from '@tapfleet/schemas';

/** What the agent keeps per deployment across its own restarts (same boot): next sequence and counters. */
const PersistedDeployment = z.object({ bootId: z.string(), nextSeq: z.number().int().nonnegative(), loss: LossCounters });

const zeroLoss = (): LossCounters => ({ producedByKernel: 0, ringBufferDrops: 0, spooled: 0, spoolDrops: 0, published: 0, malformed: 0, received: 0 });

/**
 * Per-deployment sequence numbers and loss counters. Sequences are per (host, boot,
 * deployment) and must never repeat within a boot: a repeated Nats-Msg-Id would make
 * JetStream drop new events as duplicates. So the next sequence is persisted before a
 * batch is handed to the publisher.
 */
export class DeploymentLedger {
  nextSeq = 0;
  loss: LossCounters = zeroLoss();

  constructor(private readonly file: string, private readonly bootId: string) {
    if (!existsSync(file)) return;
    const parsed = PersistedDeployment.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (parsed.success && parsed.data.bootId === bootId) {
      this.nextSeq = parsed.data.nextSeq;
      this.loss = parsed.data.loss;
    }
  }

  /** Reserves `count` sequence numbers, persisted before use. */
  reserve(count: number): number {
    const first = this.nextSeq;
    this.nextSeq += count;
    this.persist();
    return first;
  }

  persist(): void {
    writeFileSync(`${this.file}.tmp`, JSON.stringify({ bootId: this.bootId, nextSeq: this.nextSeq, loss: this.loss }));
    renameSync(`${this.file}.tmp`, this.file);
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
}
