import type { JetStreamClient } from '@tapfleet/runtime';
import { batchMsgId, decodeEventBatch, eventsSubject } from '@tapfleet/schemas';
import type { DiskSpool } from './disk-spool.js';
import type { Ledgers } from './loss-ledger.js';

export interface OutgoingBatch {
  subject: string;
  msgId: string;
  bytes: Uint8Array;
  deploymentId: string;
  count: number;
}

export interface PublisherOptions {
  maxInFlight: number;
  /** A publish without an ack after this long goes to the spool (and may be re-sent: de-duplicated). */
  ackTimeoutMs: number;
  onError?: (e: Error, batch: { deploymentId: string; count: number }) => void;
}

/**
 * Publishes event batches to JetStream with a `Nats-Msg-Id`, keeping at most
 * `maxInFlight` unacknowledged. Anything that cannot go now (NATS away, too many in
 * flight, a publish that failed) is written to the disk spool, and the spool is
 * drained oldest first once NATS is back. Once the spool holds anything, new batches
 * queue behind it, so a long outage replays in order.
 */
export class BatchPublisher {
  private inFlight = 0;
  private connected = true;
  private draining = false;
  private retryTimer?: NodeJS.Timeout;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly js: JetStreamClient, private readonly spool: DiskSpool, private readonly ledgers: Ledgers, private readonly o: PublisherOptions) {}

  get inFlightCount(): number {
    return this.inFlight;
  }

  get pending(): number {
    return this.inFlight + this.spool.length;
  }

  submit(b: OutgoingBatch): void {
    if (!this.connected || this.spool.length > 0 || this.inFlight >= this.o.maxInFlight) {
      this.toSpool(b);
      this.drain();
      return;
    }
    this.send(b).catch((e: Error) => {
      this.o.onError?.(e, b);
      this.toSpool(b);
      this.scheduleRetry();
    });
  }

  /** NATS connection state from the client's status stream. */
  setConnected(connected: boolean): void {
    this.connected = connected;
    if (connected) this.drain();
  }

  /** Resolves when nothing is in flight and the spool is empty (or `timeoutMs` passes). */
  async idle(timeoutMs: number): Promise<boolean> {
    if (this.pending === 0) return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  close(): void {
    clearTimeout(this.retryTimer);
  }

  private async send(b: { subject: string; msgId: string; bytes: Uint8Array; deploymentId: string; count: number }): Promise<void> {
    this.inFlight++;
    try {
      await this.js.publish(b.subject, b.bytes, { msgID: b.msgId, timeout: this.o.ackTimeoutMs });
      this.ledgers.get(b.deploymentId).loss.published += b.count;
    } finally {
      this.inFlight--;
      this.notifyIdle();
    }
  }

  private toSpool(b: OutgoingBatch): void {
    this.spool.append(b.bytes, b.deploymentId, b.count);
    this.ledgers.get(b.deploymentId).loss.spooled += b.count;
  }

  private scheduleRetry(): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.drain();
    }, 500);
  }

  /** Replays the spool, oldest first, up to maxInFlight at a time; stops at the first failure. */
  private drain(): void {
    if (this.draining || !this.connected) return;
    this.draining = true;
    const pump = () => {
      while (this.connected && this.inFlight < this.o.maxInFlight) {
        const next = this.spool.takeOldest();
        if (!next) break;
        const { header } = decodeEventBatch(next.batch);
        const b = { subject: eventsSubject(header.deploymentId, header.hostId), msgId: batchMsgId(header), bytes: next.batch, deploymentId: header.deploymentId, count: header.count };
        this.send(b).then(
          () => {
            this.spool.done(next.entry);
            pump();
          },
          (e: Error) => {
            this.o.onError?.(e, b);
            this.spool.release(next.entry);
            this.scheduleRetry();
          },
        );
      }
      this.draining = false;
      this.notifyIdle();
    };
    pump();
  }

  private notifyIdle(): void {
    if (this.pending !== 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

