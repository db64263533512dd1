import { realtimeNs } from '@tapfleet/runtime';

/**
 * This host's wall clock in ns, and the mapping from BPF time (bpf_ktime_get_ns is
 * CLOCK_MONOTONIC, as is process.hrtime) to wall-clock time. The mapping is
 * re-measured periodically so NTP slewing of the realtime clock is followed.
 * `artificialOffsetNs` shifts this host's clock (tests of cross-host correction).
 */
export class HostClock {
  private monoToWallNs = 0n;
  /** The same offset as two u32 halves, for the per-event path (no BigInt per event). */
  offsetLo = 0;
  offsetHi = 0;

  constructor(private readonly artificialOffsetNs = 0) {
    this.recalibrate();
  }

  recalibrate(): void {
    // Take the pair whose two monotonic reads are closest: the realtime read sits between them.
    let best = { gap: Infinity, offset: 0n };
    for (let i = 0; i < 5; i++) {
      const a = process.hrtime.bigint();
      const wall = realtimeNs();
      const b = process.hrtime.bigint();
      const gap = Number(b - a);
      if (gap < best.gap) best = { gap, offset: wall - (a + b) / 2n };
    }
    this.monoToWallNs = best.offset + BigInt(this.artificialOffsetNs);
    this.offsetLo = Number(this.monoToWallNs & 0xffffffffn);
    this.offsetHi = Number((this.monoToWallNs >> 32n) & 0xffffffffn);
  }

  nowNs(): bigint {
    return process.hrtime.bigint() + this.monoToWallNs;
  }

  /** Wall-clock ns of a BPF ktime (CLOCK_MONOTONIC) timestamp. */
  wallOfKtime(ktimeNs: bigint): bigint {
    return ktimeNs + this.monoToWallNs;
  }
}
