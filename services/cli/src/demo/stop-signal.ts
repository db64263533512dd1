/**
 * SIGINT/SIGTERM as a request to stop, taken from the start: without a handler Node would die on
 * Ctrl-C at once and leave every service it had started running. Later signals while stopping
 * only say that the stop is under way.
 */
export class StopSignal {
  requested = false;
  private wake: (() => void) | undefined;
  private readonly abort = new AbortController();
  /** Aborted on the first signal: start-up checks it between groups, so no further service starts. */
  readonly signal: AbortSignal = this.abort.signal;
  private readonly onSignal = (sig: NodeJS.Signals) => {
    if (this.requested) {
      process.stderr.write(`${sig}: already stopping what was started, please wait\n`);
      return;
    }
    // Said at once: during start-up, what is starting finishes first, which can take seconds.
    process.stderr.write(`${sig}: stopping; nothing more starts, and everything this started is stopped\n`);
    this.requested = true;
    this.abort.abort();
    this.wake?.();
  };

  constructor() {
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
  }

  /** Resolves 'stop' as soon as a stop is requested, else 'tick' after `ms`. */
  wait(ms: number): Promise<'stop' | 'tick'> {
    if (this.requested) return Promise.resolve('stop');
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve('tick');
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve('stop');
      };
    });
  }

  dispose(): void {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }
}
