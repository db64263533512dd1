import type { NatsConnection } from '@tapfleet/runtime';
import { TIME_SUBJECT, TimeReply, type ClockEstimate, type EventBatchHeader, type KernelClockStatus } from '@tapfleet/schemas';
import { agedUncertaintyNs, bestClockEstimate, keptEstimate, type ClockSample } from './clock-offset.js';
import { chooseClock, type ChosenClock } from './clock-source.js';
import type { HostClock } from './host-clock.js';

export interface ClockSamplerOptions {
  sampleIntervalMs: number;
  samplesPerInterval: number;
  /** How fast this host's clock may drift from the reference's: ages a kept estimate's bound. */
  maxDriftPpm: number;
  /** agent.clock.artificialOffsetNs: forces the request/reply source (see chooseClock). */
  artificialOffsetNs: number;
  /** Reads the kernel's clock discipline (tapfleet-clock-status); without it, request/reply only. */
  readKernelClock?: () => Promise<KernelClockStatus>;
  onError?: (e: Error) => void;
  /** Called when the chosen source changes (and on the first choice), with the reason. */
  onSourceChange?: (chosen: ChosenClock) => void;
}

/**
 * Samples this host's clock offset to the control plane's time service: several
 * request/replies per interval, keeping the lowest-RTT one (see bestClockEstimate), and
 * reads the kernel's discipline each interval; chooseClock decides which bound is reported.
 * Until the first usable reading the clock is absent, never a guess.
 */
export class ClockSampler {
  /** The request/reply estimate alone. */
  estimate?: ClockEstimate;
  kernel?: { status: KernelClockStatus; readAtMs: number };
  /** What headers and heartbeats carry. */
  chosen?: ChosenClock;
  private timer?: NodeJS.Timeout;

  constructor(private readonly nc: NatsConnection, private readonly clock: HostClock, private readonly o: ClockSamplerOptions) {}

  start(): void {
    const tick = () => {
      this.sampleOnce().finally(() => {
        this.timer = setTimeout(tick, this.o.sampleIntervalMs);
        this.timer.unref();
      });
    };
    tick();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  async sampleOnce(): Promise<ChosenClock | undefined> {
    const [fresh] = await Promise.all([this.exchange(), this.readKernel()]);
    const now = Date.now();
    this.estimate = keptEstimate(this.estimate, fresh, now, this.o.maxDriftPpm);
    const requestReply = this.estimate && { ...this.estimate, uncertaintyNs: agedUncertaintyNs(this.estimate, now, this.o.maxDriftPpm) };
    const chosen = chooseClock({ ...(requestReply ? { requestReply } : {}), ...(this.kernel ? { kernel: this.kernel } : {}), artificialOffsetNs: this.o.artificialOffsetNs });
    if (chosen && chosen.source !== this.chosen?.source) this.o.onSourceChange?.(chosen);
    this.chosen = chosen;
    return chosen;
  }

  private async exchange(): Promise<ClockEstimate | undefined> {
    const samples: ClockSample[] = [];
    for (let i = 0; i < this.o.samplesPerInterval; i++) {
      try {
        const sentNs = this.clock.nowNs();
        const reply = await this.nc.request(TIME_SUBJECT, undefined, { timeout: 1000 });
        const receivedNs = this.clock.nowNs();
        const parsed = TimeReply.safeParse(reply.json());
        if (parsed.success) samples.push({ sentNs, referenceNs: BigInt(parsed.data.nowNs), receivedNs });
      } catch (e) {
        this.o.onError?.(e as Error);
        break; // no time service right now: try again next interval
      }
    }
    return bestClockEstimate(samples, Date.now());
  }

  /** A failed read forgets the last status: a bound is only used while it is being read. */
  private async readKernel(): Promise<void> {
    if (!this.o.readKernelClock) return;
    try {
      this.kernel = { status: await this.o.readKernelClock(), readAtMs: Date.now() };
    } catch (e) {
      this.kernel = undefined;
      this.o.onError?.(e as Error);
    }
  }

  /**
   * The chosen clock's bound now: a request/reply estimate widens by the drift since its exchange
   * (the kernel's estimated error is kept current by the kernel itself, and re-read each interval).
   */
  private uncertaintyNow(c: ChosenClock): number {
    return c.source === 'request-reply' && this.estimate ? agedUncertaintyNs(this.estimate, Date.now(), this.o.maxDriftPpm) : c.uncertaintyNs;
  }

  /** What the heartbeat carries: the chosen clock as an estimate with its source. */
  reported(): ClockEstimate | undefined {
    const c = this.chosen;
    return c ? { offsetNs: c.offsetNs, uncertaintyNs: this.uncertaintyNow(c), sampledAtMs: c.sampledAtMs, source: c.source } : undefined;
  }

  /** What a batch header carries: the chosen clock, or zero offset with unknown (max) uncertainty. */
  headerClock(): EventBatchHeader['clock'] {
    const c = this.chosen;
    return c ? { offsetNs: c.offsetNs, uncertaintyNs: this.uncertaintyNow(c), source: c.source } : { offsetNs: 0, uncertaintyNs: Number.MAX_SAFE_INTEGER };
  }
}
