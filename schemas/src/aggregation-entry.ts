/**
 * One aggregation entry as a map prints it: what the runner decodes from a host's maps and what
 * the fleet merges across hosts. Shared by the runner (decoding), `tapfleet run` and `tapfleet aggs`
 * (printing), so it lives below all of them.
 */
export interface AggEntry {
  key: (bigint | string)[];
  /** count/sum/min/max: value; avg, stats: sum and count; hist/lhist: buckets; a value map: its integer (0 for a string). */
  value: bigint;
  /** A string value map's value. */
  text?: string;
  count?: bigint;
  buckets?: bigint[];
  /** print(@h, top, div) of a hist(): the bucket counts print divided by this (the bars are drawn from the counts). */
  div?: bigint;
}

/** Lower bound of hist bucket i: [0] negative, [1] zero, [2+k] from 2^k. */
export const histBucketLow = (i: number): bigint => (i === 0 ? -1n : i === 1 ? 0n : 1n << BigInt(i - 2));
