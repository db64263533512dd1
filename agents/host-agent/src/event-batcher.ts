import { batchMsgId, EventBatchBuilder, EventLayouts, eventsSubject, PREFIX_FIELD, type BundleManifest, type EventBatchHeader } from '@tapfleet/schemas';
import type { OutgoingBatch } from './batch-publisher.js';
import type { HostClock } from './host-clock.js';
import type { DeploymentLedger } from './loss-ledger.js';

const KTIME_AT = PREFIX_FIELD.ktime_ns.offset;
const u32At = (d: Uint8Array, at: number) => (d[at]! | (d[at + 1]! << 8) | (d[at + 2]! << 16) | (d[at + 3]! << 24)) >>> 0;

export interface BatcherIdentity {
  hostId: string;
  bootId: string;
  deploymentId: string;
  kernelBuildId: string;
}

export interface BatcherOptions {
  maxEvents: number;
  /** Records' bytes that end a batch (one record may overshoot it; the limit leaves room under NATS's max_payload). */
  maxBytes?: number;
  maxDelayMs: number;
}

/**
 * Turns a runner's raw event records into sequenced, time-stamped batches. Each record
 * is fitted to the manifest's event layouts (schemas' EventLayouts: its id and exact size):
 * a record no layout fits is counted as malformed (in the status and on /metrics), never
 * published; the agent may not publish dead letters, and the record came from its own runner. Records stay binary; the
 * batch header carries host, boot, deployment, first sequence and the clock estimate.
 */
export class EventBatcher {
  /** The manifest's layouts: the only ones the agent trusts. */
  private readonly layouts: EventLayouts;
  private readonly builder = new EventBatchBuilder(1 << 18);
  private timer?: NodeJS.Timeout;
  private readonly subject: string;
  /** Wall time of the latest record, as u32 halves: the batch's last event, for the ledger's safe time. */
  private lastLo = 0;
  private lastHi = 0;

  constructor(
    private readonly id: BatcherIdentity,
    private readonly manifest: BundleManifest,
    private readonly clock: HostClock,
    private readonly clockEstimate: () => EventBatchHeader['clock'],
    private readonly ledger: DeploymentLedger,
    private readonly o: BatcherOptions,
    private readonly sink: (b: OutgoingBatch) => void,
  ) {
    this.layouts = EventLayouts.of(manifest);
    this.subject = eventsSubject(id.deploymentId, id.hostId);
  }

  add(d: Uint8Array): void {
    this.ledger.loss.received++;
    if (!this.layouts.fit(d)) {
      this.ledger.loss.malformed++;
      return;
    }
    // wall = ktime + the clock's offset, in u32 halves with carry (byte reads, not a DataView per record: this runs for every event).
    const kLo = u32At(d, KTIME_AT);
    const kHi = u32At(d, KTIME_AT + 4);
    let lo = kLo + this.clock.offsetLo;
    let carry = 0;
    if (lo >= 0x1_0000_0000) {
      lo -= 0x1_0000_0000;
      carry = 1;
    }
    this.lastLo = lo;
    this.lastHi = (kHi + this.clock.offsetHi + carry) >>> 0;
    this.builder.add(d, lo, this.lastHi);
    if (this.builder.count >= this.o.maxEvents || this.builder.bytes >= (this.o.maxBytes ?? Infinity)) this.flush();
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
      firstSeq: this.ledger.reserve(count, Math.floor(this.lastHi * 4294.967296 + this.lastLo / 1e6)),
      count,
      clock: this.clockEstimate(),
    };
    this.sink({ subject: this.subject, msgId: batchMsgId(header), bytes: this.builder.finish(header), deploymentId: this.id.deploymentId, firstSeq: header.firstSeq, count });
  }
}
