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

/**
 * An estimate's uncertainty `atMs`: since it was sampled the two clocks may have drifted apart by
 * up to `maxDriftPpm` (1 ppm = 1 ns per ms), so the bound widens with age. Without this the bound
 * between samples would be a promise the crystals do not keep.
 */
export function agedUncertaintyNs(e: ClockEstimate, atMs: number, maxDriftPpm: number): number {
  return e.uncertaintyNs + Math.ceil(Math.max(0, atMs - e.sampledAtMs) * maxDriftPpm);
}

/**
 * The estimate to keep: a fresh one, unless the previous one is still tighter after ageing (an
 * interval whose exchanges all queued behind load would otherwise replace a good estimate with a
 * poor one: seen as 1.4 ms hops in both directions on a busy machine). Like NTP's clock filter,
 * the least-delayed sample of a window wins, with age counted against it.
 */
export function keptEstimate(previous: ClockEstimate | undefined, fresh: ClockEstimate | undefined, nowMs: number, maxDriftPpm: number): ClockEstimate | undefined {
  if (!fresh) return previous;
  if (!previous) return fresh;
  return agedUncertaintyNs(previous, nowMs, maxDriftPpm) < fresh.uncertaintyNs ? previous : fresh;
}
