import type { Target } from './resolve-points.js';

/** Rates above this would sample every 10 us: the cpu-clock event's cost would swamp the CPU. */
export const MAX_PROFILE_HZ = 100_000;
const UNIT_NS: Record<string, number> = { s: 1e9, ms: 1e6, us: 1e3 };

/**
 * `profile:hz:N` (N samples a second on every CPU) or `profile:s|ms|us:N` (one every N units),
 * bpftrace's forms. Returns the target, or the message and hint of why the text is not one.
 */
export function parseProfilePoint(rest: string[]): Extract<Target, { kind: 'profile' }> | { error: string; hint: string } {
  const hint = 'expected profile:hz:N (samples a second on every CPU, e.g. profile:hz:99) or profile:ms:N / profile:us:N';
  if (rest.length !== 2 || !/^[1-9][0-9]{0,9}$/.test(rest[1]!)) return { error: `'profile:${rest.join(':')}' is not a profile probe`, hint };
  const n = Number(rest[1]);
  if (rest[0] === 'hz') {
    if (n > MAX_PROFILE_HZ) return { error: `profile:hz:${n} samples more than ${MAX_PROFILE_HZ} times a second`, hint: 'bpftrace users profile at 49 or 99 Hz; 997 is fine-grained' };
    return { kind: 'profile', hz: n };
  }
  const unit = UNIT_NS[rest[0]!];
  if (unit === undefined) return { error: `unknown profile unit '${rest[0]}'`, hint };
  const periodNs = n * unit;
  if (periodNs < 1e9 / MAX_PROFILE_HZ) return { error: `profile:${rest[0]}:${n} samples more than ${MAX_PROFILE_HZ} times a second`, hint: 'a period of at least 10 us' };
  return { kind: 'profile', periodNs };
}
