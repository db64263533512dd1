import { batchMsgId, EventBatchBuilder, eventsSubject, type BundleManifest, type EventBatchHeader } from '@tapfleet/schemas';
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
  private readonly builder = new EventBatchBuilder(1 << 18);
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

  add(d: Uint8Array): void {
    this.ledger.loss.received++;
    // Byte reads instead of a DataView per record: this runs for every event.
    const eventId = (d[0]! | (d[1]! << 8) | (d[2]! << 16) | (d[3]! << 24)) >>> 0;
    if (d.length < 24 || this.sizeById[eventId] !== d.length) {
      this.ledger.loss.malformed++;
      return;
    }
    // wall = ktime (prefix bytes 16..23) + the clock's offset, in u32 halves with carry.
    const kLo = (d[16]! | (d[17]! << 8) | (d[18]! << 16) | (d[19]! << 24)) >>> 0;
    const kHi = (d[20]! | (d[21]! << 8) | (d[22]! << 16) | (d[23]! << 24)) >>> 0;
    let lo = kLo + this.clock.offsetLo;
    let carry = 0;
    if (lo >= 0x1_0000_0000) {
      lo -= 0x1_0000_0000;
      carry = 1;
    }
    this.builder.add(d, lo, (kHi + this.clock.offsetHi + carry) >>> 0);
    if (this.builder.count >= this.o.maxEvents) this.flush();
    else if (!this.timer) this.timer = setTimeout(() => this.flush(), this.o.maxDelayMs);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const count = this.builder.count;
    if (!count) return;
    const header: EventBatchHeader = {
      v: 1,
      hostId: this.id.hostId,
      bootId: this.id.bootId,
      deploymentId: this.id.deploymentId,
      bundleId: this.manifest.bundleId,
      kernelBuildId: this.id.kernelBuildId,
      firstSeq: this.ledger.reserve(count),
      count,
      clock: this.clockEstimate(),
    };
    this.sink({ subject: this.subject, msgId: batchMsgId(header), bytes: this.builder.finish(header), deploymentId: this.id.deploymentId, count });
  }
}
