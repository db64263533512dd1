/**
 * A FIFO of (item, stamp) pairs in two growing arrays with a moving head, compacted when the
 * dead prefix is half of it. Used for "oldest first" orders with lazy deletion: an item may be
 * queued many times; only the entry whose stamp matches the item's current one is live.
 * (A Map used as a queue degrades: V8 skips every deleted slot at its front on each iteration.)
 */
export class TouchQueue<T> {
  private items: (T | undefined)[] = [];
  private stamps: number[] = [];
  private head = 0;

  push(item: T, stamp: number): void {
    this.items.push(item);
    this.stamps.push(stamp);
  }

  get length(): number {
    return this.items.length - this.head;
  }

  /** The oldest entry, without removing it. */
  peek(): { item: T; stamp: number } | undefined {
    if (this.head >= this.items.length) return undefined;
    return { item: this.items[this.head]!, stamp: this.stamps[this.head]! };
  }

  shift(): void {
    this.items[this.head] = undefined;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.stamps = this.stamps.slice(this.head);
      this.head = 0;
    }
  }
}
