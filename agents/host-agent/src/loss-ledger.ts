import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { LossCounters } from '@tapfleet/schemas';

/** What the agent keeps per deployment across its own restarts (same boot): next sequence and counters. */
const PersistedDeployment = z.object({ bootId: z.string(), nextSeq: z.number().int().nonnegative(), loss: LossCounters });

const RECORD_BYTES = 480;

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
  private fd?: number;

  constructor(private readonly file: string, private readonly bootId: string) {
    if (!existsSync(file)) return;
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      return; // unreadable: start over (the boot id check would have reset it anyway)
    }
    const parsed = PersistedDeployment.safeParse(json);
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

  /**
   * One fixed-size write at offset 0 of a file kept open: ~10 us, where write-temp-and-
   * rename cost ~1 ms a batch. The record is padded to a constant length so a shorter
   * record never leaves a longer one's tail behind, and it fits one disk sector.
   */
  persist(): void {
    const text = JSON.stringify({ bootId: this.bootId, nextSeq: this.nextSeq, loss: this.loss });
    const record = Buffer.alloc(RECORD_BYTES, ' ');
    if (record.write(text) < Buffer.byteLength(text)) throw new Error(`ledger record over ${RECORD_BYTES} bytes`);
    this.fd ??= openSync(this.file, existsSync(this.file) ? 'r+' : 'w+');
    writeSync(this.fd, record, 0, RECORD_BYTES, 0);
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
