import type { Consumer, ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import type { Logger } from './logger.js';

export interface JetStreamPullOptions {
  /** The consumer's name, for logs. */
  name: string;
  /**
   * The durable consumer to read: at the start, then again after its messages ended or failed
   * (`again`: re-ensure or re-make it there if the caller may; it may have been deleted).
   */
  open: (again: boolean) => Promise<Consumer>;
  /** Messages pulled ahead at most (consume's max_messages). */
  maxMessages: number;
  /**
   * How long one pull request lives. A pull held by a consumer leader that died is noticed only by
   * missed idle heartbeats, every expires/2: nats.js's default of 30 s left a reader idle for
   * 27-30 s after kill -9 of that leader's node (bench/results/nats-cluster.md).
   */
  expiresMs: number;
  /**
   * End the messages when the consumer or stream is deleted (then `open(true)` runs), rather than
   * wait for it to come back. For readers that re-make their consumer themselves.
   */
  endWhenDeleted?: boolean;
  /** Pause before re-opening after a failure: `first`, doubled on each failure in a row up to `max`. */
  retry: { firstMs: number; maxMs: number };
  /**
   * Takes the messages until they end. Each message is acked by the reader after its work is
   * done (stored, forwarded, or dead-lettered), or nak'ed to come back: an unacked message is
   * redelivered after the consumer's ack_wait.
   */
  read: (messages: ConsumerMessages) => Promise<void>;
  log: Logger;
}

/**
 * The one JetStream read loop of the services (ingest, the Kafka mirror, the assembler, the
 * control plane's agent stream): a continuous pull (consume) that is re-opened after a pause
 * whenever it ends or fails (NATS stalled or restarted, the consumer deleted under it), never left
 * to reject unhandled. start() and stop(); stop() ends the messages (those pulled and not taken
 * come back to another reader) and waits for the reader to finish the one it holds.
 */
export class JetStreamPull {
  private stopped = false;
  private messages?: ConsumerMessages;
  private loop?: Promise<void>;
  /** Ends the pause between re-opens at once when stopping (no timer left behind). */
  private wake = () => {};

  constructor(private readonly o: JetStreamPullOptions) {}

  start(): void {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    let failures = 0;
    for (let again = false; !this.stopped; again = true) {
      this.messages = undefined;
      try {
        const consumer = await this.o.open(again);
        if (this.stopped) break;
        const endWhenDeleted = this.o.endWhenDeleted ? { abort_on_missing_resource: true } : {};
        this.messages = await consumer.consume({ max_messages: this.o.maxMessages, expires: this.o.expiresMs, ...endWhenDeleted });
        if (this.stopped) await this.messages.close();
        await this.o.read(this.messages);
        if (this.stopped) break;
        this.o.log.warn({ consumer: this.o.name }, 'consumer messages ended; re-opening');
      } catch (e) {
        if (this.stopped) break;
        this.o.log.warn({ consumer: this.o.name, err: (e as Error).message }, 'consumer failed; re-opening it');
      }
      // Ended for good: a reader that threw leaves its pull request open otherwise.
      await this.messages?.close().catch(() => undefined);
      // A failure in a row waits longer; one after messages flowed again starts from the first pause.
      if ((this.messages?.getReceived() ?? 0) > 0) failures = 0;
      await this.pause(Math.min(this.o.retry.maxMs, this.o.retry.firstMs * 2 ** failures));
      failures = Math.min(failures + 1, 16);
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    // Ends the iterator (a pending next() resolves done); what was pulled but not taken is redelivered.
    await this.messages?.close().catch(() => undefined);
    await this.loop;
  }
}

/**
 * A reader that takes each message as it arrives: `work`, then ack; when `work` throws, nak (the
 * message comes back after `nakDelayMs`). Dead letters are part of `work` (publish, then return).
 */
export function ackAfterWork(work: (m: JsMsg) => Promise<void>, nakDelayMs: number, log: Logger, what: string): (messages: ConsumerMessages) => Promise<void> {
  return async (messages) => {
    for await (const m of messages) {
      try {
        await work(m);
        m.ack();
      } catch (e) {
        log.warn({ subject: m.subject, err: (e as Error).message }, `${what} failed; the message comes back`);
        m.nak(nakDelayMs);
      }
    }
  };
}
