import { setLongTimeout, type LongTimer } from '@tapfleet/runtime/light';

/** Firings one wake-up may run before the schedule skips ahead (a process stopped for an hour must not replay it). */
const MAX_FIRINGS_PER_WAKE = 1000;

/**
 * The interval probes of a run on one clock, as bpftrace fires them: probe i's Nth firing is due
 * at start + N × period (no drift from late wake-ups), and firings due at one moment run in
 * script order. Separate setInterval timers drift apart: `interval:s:1 { time(); }
 * interval:s:2 { exit(); }` printed one tick or two from run to run, where bpftrace prints two
 * (and one with the exit probe written first).
 */
export class IntervalSchedule {
  private next: bigint[] = [];
  private timer: LongTimer | undefined;
  private stopped = false;

  constructor(private readonly probes: { periodNs: bigint; fire: () => void }[]) {}

  start(): void {
    const now = process.hrtime.bigint();
    this.next = this.probes.map((p) => now + p.periodNs);
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.clear();
  }

  private arm(): void {
    if (this.stopped || !this.probes.length) return;
    const soonest = this.next.reduce((a, b) => (a < b ? a : b));
    const waitNs = soonest - process.hrtime.bigint();
    this.timer = setLongTimeout(() => this.wake(), waitNs > 0n ? Math.ceil(Number(waitNs) / 1e6) : 0);
  }

  /** Runs every firing due by now, earliest first, script order among equals. */
  private wake(): void {
    const now = process.hrtime.bigint();
    for (let n = 0; n < MAX_FIRINGS_PER_WAKE && !this.stopped; n++) {
      let i = -1;
      this.next.forEach((at, j) => {
        if (at <= now && (i < 0 || at < this.next[i]!)) i = j;
      });
      if (i < 0) break;
      this.next[i] = this.next[i]! + this.probes[i]!.periodNs;
      this.probes[i]!.fire();
    }
    // Still behind after that many: start again from now rather than replay the backlog.
    this.next = this.next.map((at, j) => (at <= now ? now + this.probes[j]!.periodNs : at));
    this.arm();
  }
}
