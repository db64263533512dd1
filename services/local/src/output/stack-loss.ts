import type { AggEntry } from '@tapfleet/schemas';
import { LOST_STACK_PREFIX } from '@tapfleet/runner';

export { LOST_STACK_PREFIX };

/** Samples whose stack the kernel could not keep (stack map full or its bucket taken), over every map. */
export function lostStackSamples(maps: Map<string, AggEntry[]>): bigint {
  let n = 0n;
  for (const entries of maps.values())
    for (const e of entries) if (e.key.some((k) => typeof k === 'string' && k.startsWith(LOST_STACK_PREFIX))) n += e.count !== undefined && e.buckets === undefined ? e.count : e.value;
  return n;
}
