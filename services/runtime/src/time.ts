/** Realtime clock in ns with sub-microsecond resolution (Date.now() has only ms). */
export function realtimeNs(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
}

/** Resolves after `ms` milliseconds (a retry's pause, a backoff step). */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
