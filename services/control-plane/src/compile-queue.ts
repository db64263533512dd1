/** The compile queue is full: the API answers 503 with Retry-After. */
export class CompileQueueFullError extends Error {
  readonly code = 'TAPFLEET_COMPILE_QUEUE_FULL';
  constructor(readonly retryAfterS: number, running: number, queued: number) {
    super(`the control plane is busy compiling (${running} running, ${queued} waiting): retry in ${retryAfterS} s`);
  }
}

export interface CompileQueueOptions {
  /** Builds at once: each is a clang process taking a core. */
  concurrency: number;
  /** Builds waiting for a slot; one more is refused at once. */
  maxQueued: number;
  retryAfterS: number;
}

export interface CompileQueueEvents {
  changed?(running: number, queued: number): void;
  rejected?(): void;
}

/**
 * A bounded pool for bundle builds. clang is CPU-bound for seconds to minutes on a large
 * script; running every request's build at once would take every core from the API, the
 * agent listener and Redis. At most `concurrency` run, `maxQueued` wait in arrival order,
 * and the rest are refused straight away rather than piling up.
 */
export class CompileQueue {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly o: CompileQueueOptions, private readonly events: CompileQueueEvents = {}) {}

  get stats(): { running: number; queued: number } {
    return { running: this.running, queued: this.waiting.length };
  }

  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.running < this.o.concurrency) this.running++;
    else {
      if (this.waiting.length >= this.o.maxQueued) {
        this.events.rejected?.();
        throw new CompileQueueFullError(this.o.retryAfterS, this.running, this.waiting.length);
      }
      // release() hands its slot straight to the first waiter, so `running` stays put.
      const turn = new Promise<void>((resolve) => this.waiting.push(resolve));
      this.changed();
      await turn;
    }
    this.changed();
    try {
      return await job();
    } finally {
      this.release();
    }
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
    this.changed();
  }

  private changed(): void {
    this.events.changed?.(this.running, this.waiting.length);
  }
}
