/** What the assembler needs of a JetStream message: ack when done, keep alive while held. */
export interface Ackable {
  ack(): void;
  working(): void;
}

/**
 * Messages stay unacknowledged until every transaction that took events from them has its
 * spans stored: after a crash, JetStream redelivers exactly what was not finished. A message
 * is acked when its last holder releases it.
 */
export class MessageHolds<M extends Ackable> {
  private readonly count = new Map<M, number>();

  hold(m: M): void {
    this.count.set(m, (this.count.get(m) ?? 0) + 1);
  }

  /** Releases one hold; acks the message when none is left. Returns whether it was acked. */
  release(m: M): boolean {
    const n = (this.count.get(m) ?? 0) - 1;
    if (n > 0) {
      this.count.set(m, n);
      return false;
    }
    this.count.delete(m);
    m.ack();
    return true;
  }

  /** The messages held now. */
  held(): IterableIterator<M> {
    return this.count.keys();
  }

  get size(): number {
    return this.count.size;
  }

  /** Tells JetStream every held message is still being worked on (so ack_wait does not redeliver it). */
  keepAlive(): void {
    for (const m of this.count.keys()) m.working();
  }
}
