import { batchMsgId, encodeEventBatch, eventsSubject, type BatchRecord, type BundleManifest, type EventBatchHeader } from '@tapfleet/schemas';
import type { OutgoingBatch } from './batch-publisher.js';
import type { HostClock } from './host-clock.js';
import type { DeploymentLedger } from './loss-ledger.js';

export interface BatcherIdentity {
  hostId: string;
  bootId: string;
  deploymentId: string;
  kernelBuildId: string;
}

export interface BatcherOptions {
  maxEvents: number;
  maxDelayMs: number;
}

/**
 * Turns a runner's raw event records into sequenced, time-stamped batches. Each record
 * is checked against the manifest's event layouts (its id and exact size): a record no
 * layout describes is counted as malformed, never published. Records stay binary; the
 * batch header carries host, boot, deployment, first sequence and the clock estimate.
 */
export class EventBatcher {
  /** Record size by event id, from the manifest: the only layout the agent trusts. */
  private readonly sizeById: number[] = [];
  private records: BatchRecord[] = [];
  private timer?: NodeJS.Timeout;
  private readonly subject: string;

  constructor(
    private readonly id: BatcherIdentity,
    private readonly manifest: BundleManifest,
    private readonly clock: HostClock,
    private readonly clockEstimate: () => EventBatchHeader['clock'],
    private readonly ledger: DeploymentLedger,
    private readonly o: BatcherOptions,
    private readonly sink: (b: OutgoingBatch) => void,
  ) {
    for (const layout of manifest.events) this.sizeById[layout.id] = layout.size;
    this.subject = eventsSubject(id.deploymentId, id.hostId);
  }

  add(data: Uint8Array): void {
    this.ledger.loss.received++;
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    if (data.byteLength < 24 || this.sizeById[view.getUint32(0, true)] !== data.byteLength) {
      this.ledger.loss.malformed++;
      return;
    }
    this.records.push({ wallNs: this.clock.wallOfKtime(view.getBigUint64(16, true)), data });
    if (this.records.length >= this.o.maxEvents) this.flush();
    else if (!this.timer) this.timer = setTimeout(() => this.flush(), this.o.maxDelayMs);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.records.length) return;
    const records = this.records;
    this.records = [];
    const header: EventBatchHeader = {
      v: 1,
      hostId: this.id.hostId,
      bootId: this.id.bootId,
      deploymentId: this.id.deploymentId,
      bundleId: this.manifest.bundleId,
      kernelBuildId: this.id.kernelBuildId,
      firstSeq: this.ledger.reserve(records.length),
      count: records.length,
      clock: this.clockEstimate(),
    };
    this.sink({ subject: this.subject, msgId: batchMsgId(header), bytes: encodeEventBatch(header, records), deploymentId: this.id.deploymentId, count: records.length });
  }
}
