/** Per-bundle budget: probe CPU time (percent of one core) and events per second. */
export interface Budget {
  maxCpuPercent: number;
  maxEventsPerSec: number;
  /** Consecutive over-budget windows that trip the governor (one spike is tolerated). */
  windows: number;
}

export interface LoadReading {
  /** Monotonic time of the reading, ns. */
  atNs: bigint;
  /** Sum of the bundle's programs' run time (kernel run-time stats), ns. */
  runTimeNs: bigint;
  /** Events the bundle's programs produced (submitted or dropped). */
  produced: bigint;
}

export interface Load {
  cpuPercent: number;
  eventsPerSec: number;
  over: boolean;
  /** Over budget for `windows` readings in a row: detach now. */
  trip: boolean;
}

/**
 * SystemTap's STP_OVERLOAD for eBPF: a probe cannot be preempted, so the only way to
 * protect a production host from an expensive script is to measure and detach it.
 */
export class Governor {
  private last?: LoadReading;
  private overCount = 0;
  latest: Load = { cpuPercent: 0, eventsPerSec: 0, over: false, trip: false };

  constructor(private readonly budget: Budget) {}

  observe(r: LoadReading): Load {
    const prev = this.last;
    this.last = r;
    if (!prev || r.atNs <= prev.atNs) return this.latest;
    const elapsed = Number(r.atNs - prev.atNs);
    const cpuPercent = (Number(r.runTimeNs - prev.runTimeNs) / elapsed) * 100;
    const eventsPerSec = (Number(r.produced - prev.produced) / elapsed) * 1e9;
    const over = cpuPercent > this.budget.maxCpuPercent || eventsPerSec > this.budget.maxEventsPerSec;
    this.overCount = over ? this.overCount + 1 : 0;
    this.latest = { cpuPercent, eventsPerSec, over, trip: this.overCount >= this.budget.windows };
    return this.latest;
  }

  describe(load: Load = this.latest): string {
    return `probe CPU ${load.cpuPercent.toFixed(1)}% of one core (budget ${this.budget.maxCpuPercent}%), ${Math.round(load.eventsPerSec)} events/s (budget ${this.budget.maxEventsPerSec})`;
  }
}
