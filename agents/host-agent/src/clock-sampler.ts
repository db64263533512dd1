import type { NatsConnection } from '@tapfleet/runtime';
import { TIME_SUBJECT, TimeReply, type ClockEstimate } from '@tapfleet/schemas';
import { bestClockEstimate, type ClockSample } from './clock-offset.js';
import type { HostClock } from './host-clock.js';

export interface ClockSamplerOptions {
  sampleIntervalMs: number;
  samplesPerInterval: number;
  onError?: (e: Error) => void;
}

/**
 * Samples this host's clock offset to the control plane's time service: several
 * request/replies per interval, keeping the lowest-RTT one (see bestClockEstimate).
 * Until the first good sample the estimate is absent, never a guess.
 */
export class ClockSampler {
  estimate?: ClockEstimate;
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

  async sampleOnce(): Promise<ClockEstimate | undefined> {
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
    const estimate = bestClockEstimate(samples, Date.now());
    if (estimate) this.estimate = estimate;
    return estimate;
  }

  /** What a batch header carries: the estimate, or zero offset with unknown (max) uncertainty. */
  headerClock(): { offsetNs: number; uncertaintyNs: number } {
    return this.estimate ? { offsetNs: this.estimate.offsetNs, uncertaintyNs: this.estimate.uncertaintyNs } : { offsetNs: 0, uncertaintyNs: Number.MAX_SAFE_INTEGER };
  }
}
