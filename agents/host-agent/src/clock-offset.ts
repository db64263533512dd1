import type { ClockEstimate } from '@tapfleet/schemas';

/** One NTP-style exchange: host time at send (t1) and receive (t4), reference time in between. */
export interface ClockSample {
  sentNs: bigint;
  referenceNs: bigint;
  receivedNs: bigint;
}

/**
 * Offset (host minus reference) from the sample with the lowest round trip: queueing
 * only ever adds delay, so the fastest exchange is the least distorted. The reference
 * read happened somewhere within the round trip, hence the uncertainty of RTT/2.
 */
export function bestClockEstimate(samples: readonly ClockSample[], sampledAtMs: number): ClockEstimate | undefined {
  let best: ClockSample | undefined;
  for (const s of samples) if (s.receivedNs >= s.sentNs && (!best || s.receivedNs - s.sentNs < best.receivedNs - best.sentNs)) best = s;
  if (!best) return undefined;
  const rtt = best.receivedNs - best.sentNs;
  const midpoint = best.sentNs + rtt / 2n;
  return { offsetNs: Number(midpoint - best.referenceNs), uncertaintyNs: Number(rtt / 2n), sampledAtMs };
}
