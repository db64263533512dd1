import type { JetStreamClient } from '@tapfleet/runtime';
import { batchMsgId, decodeEventBatch, eventsSubject } from '@tapfleet/schemas';
import type { DiskSpool } from './disk-spool.js';
import type { Ledgers } from './loss-ledger.js';

export interface OutgoingBatch {
  subject: string;
  msgId: string;
  bytes: Uint8Array;
  deploymentId: string;
  /** The batch's first sequence: the ledger tracks each batch until it is acked or spooled. */
  firstSeq: number;
  count: number;
}

export interface PublisherOptions {
  maxInFlight: number;
  /** Batches waiting in memory for an ack slot (backpressure, not an outage); beyond this they spool. */
  maxQueuedBytes: number;
  /** A publish without an ack after this long goes to the spool (and may be re-sent: de-duplicated). */
  ackTimeoutMs: number;
  onError?: (e: Error, batch: { deploymentId: string; count: number }) => void;
}

/**
 * Publishes event batches to JetStream with a `Nats-Msg-Id`, keeping at most
 * `maxInFlight` unacknowledged. Batches waiting for an ack slot queue in memory
 * (bounded); what cannot go at all (NATS away, the memory queue full, a publish that
 * failed) is written to the disk spool, which is drained oldest first once NATS is
 * back. Once the spool holds anything, new batches queue behind it, so a long outage
 * replays in order; a disconnect moves the memory queue to the spool too.
 */
export class BatchPublisher {
  private inFlight = 0;
  private connected = true;
  private draining = false;
  private retryTimer?: NodeJS.Timeout;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private queue: OutgoingBatch[] = [];
  private queuedBytes = 0;

  constructor(private readonly js: JetStreamClient, private readonly spool: DiskSpool, private readonly ledgers: Ledgers, private readonly o: PublisherOptions) {}

  get inFlightCount(): number {
    return this.inFlight;
  }

  get pending(): number {
    return this.inFlight + this.queue.length + this.spool.length;
  }

  submit(b: OutgoingBatch): void {
    if (this.closed || !this.connected || this.spool.length > 0) {
      this.toSpool(b);
      this.drain();
    } else if (this.inFlight < this.o.maxInFlight) {
      this.sendDirect(b);
    } else if (this.queuedBytes + b.bytes.length <= this.o.maxQueuedBytes) {
      this.queue.push(b);
      this.queuedBytes += b.bytes.length;
    } else {
      this.toSpool(b);
    }
  }

  private sendDirect(b: OutgoingBatch): void {
    this.send(b).then(
      () => this.pumpQueue(),
      (e: Error) => {
        this.o.onError?.(e, b);
        this.toSpool(b);
        this.scheduleRetry();
      },
    );
  }

  /** An ack slot is free: the memory queue goes first (nothing is spooled while it holds batches). */
  private pumpQueue(): void {
    while (this.connected && !this.closed && this.inFlight < this.o.maxInFlight && this.queue.length) {
      const b = this.queue.shift()!;
      this.queuedBytes -= b.bytes.length;
      this.sendDirect(b);
    }
    if (!this.queue.length) this.drain();
  }

  /** NATS connection state from the client's status stream. */
  setConnected(connected: boolean): void {
    this.connected = connected;
    if (!connected) this.spoolQueue();
    else this.drain();
  }

  /** The memory queue goes to disk (a disconnect, or shutting down): it must survive a restart. */
  private spoolQueue(): void {
    for (const b of this.queue) this.toSpool(b);
    this.queue = [];
    this.queuedBytes = 0;
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

  /** No more sends or retries; what fails from now on stays in the spool for the next start. */
  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.spoolQueue();
  }

  private async send(b: OutgoingBatch): Promise<void> {
    this.inFlight++;
    try {
      await this.js.publish(b.subject, b.bytes, { msgID: b.msgId, timeout: this.o.ackTimeoutMs });
      this.ledgers.get(b.deploymentId).acked(b.firstSeq, b.count);
    } finally {
      this.inFlight--;
      this.notifyIdle();
    }
  }

  private toSpool(b: OutgoingBatch): void {
    this.spool.append(b.bytes, b.deploymentId, b.count);
    this.ledgers.get(b.deploymentId).spooled(b.firstSeq, b.count);
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.drain();
    }, 500);
  }

  /** Replays the spool, oldest first, up to maxInFlight at a time; stops at the first failure. */
  private drain(): void {
    if (this.draining || !this.connected || this.closed) return;
    this.draining = true;
    const pump = () => {
      while (this.connected && !this.closed && this.inFlight < this.o.maxInFlight) {
        const next = this.spool.takeOldest();
        if (!next) break;
        const { header } = decodeEventBatch(next.batch);
        const b = { subject: eventsSubject(header.deploymentId, header.hostId), msgId: batchMsgId(header), bytes: next.batch, deploymentId: header.deploymentId, firstSeq: header.firstSeq, count: header.count };
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

