import { z } from 'zod/v3';

/*
 * Durations as the API, the config and the CLI write them. Their own module, not the API's: the
 * config's schema takes a deployment TTL, and every command parses the config at start, which
 * must not build the API's and the agents' schemas for it.
 */

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
/** At most 16 digits: with any unit the product stays far inside a safe integer, so no text overflows. */
const DURATION = /^([1-9][0-9]{0,15})(ms|s|m|h)$/;

/** Milliseconds of a duration text like `30s`, `10m`, `2h`, `500ms`; throws on anything else. */
export function durationMs(text: string): number {
  const m = DURATION.exec(text);
  if (!m) throw new Error(`not a duration: ${text}`);
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

/** Shortest readable form of a bound, for messages (`720h`, `1s`). */
const durationText = (ms: number) =>
  ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : ms % 60_000 === 0 ? `${ms / 60_000}m` : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;

/** A duration text within [minMs, maxMs]; the message states the bounds, so a 400 says what would be right. */
export function boundedDuration(what: string, minMs: number, maxMs: number) {
  const bounds = `${what} must be between ${durationText(minMs)} and ${durationText(maxMs)}`;
  return z
    .string()
    .max(32, `expected a duration like 30s, 10m or 2h; ${bounds}`)
    .regex(DURATION, `expected a duration like 30s, 10m or 2h; ${bounds}`)
    // zod runs refinements after a failed regex too: a text that is no duration is the regex's to report.
    .refine((t) => !DURATION.test(t) || (durationMs(t) >= minMs && durationMs(t) <= maxMs), { message: bounds });
}

export const TTL_MIN_MS = 1000;
/** 30 days: far inside what every timer and timestamp downstream can hold, and long enough for any trace. */
export const TTL_MAX_MS = 30 * 24 * 3_600_000;
export const DeploymentTtl = boundedDuration('a deployment TTL', TTL_MIN_MS, TTL_MAX_MS);

/** Durations on the API and CLI: `30s`, `10m`, `2h`, `500ms` (unbounded apart from the digit count). */
export const DurationText = z.string().regex(DURATION, 'expected a duration like 30s, 10m or 2h');
