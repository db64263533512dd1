import { performance } from 'node:perf_hooks';

/** Realtime clock in ns with sub-microsecond resolution (Date.now() has only ms). */
export function realtimeNs(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
}
