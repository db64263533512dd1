/**
 * Node's timers hold a signed 32-bit millisecond delay: anything above 2^31-1 ms
 * (about 24.8 days) is replaced by 1 ms, so a long TTL would fire at once. These
 * helpers chain shorter timers until the whole delay has passed.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A cancellable timer of any length; `clear()` is idempotent. */
export interface LongTimer {
  clear(): void;
}

/**
 * Calls `fn` every `periodMs` (at least 1 ms), however long the period: Node's setInterval
 * silently fires every millisecond past ~24.8 days, so longer periods chain setLongTimeout.
 */
export function setLongInterval(fn: () => void, periodMs: number): LongTimer {
  const period = Math.max(1, periodMs);
  if (period <= MAX_TIMER_MS) {
    const t = setInterval(fn, period);
    return { clear: () => clearInterval(t) };
  }
  let current: LongTimer;
  let cleared = false;
  const arm = () => {
    current = setLongTimeout(() => {
      if (cleared) return;
      arm();
      fn();
    }, period);
  };
  arm();
  return {
    clear() {
      cleared = true;
      current.clear();
    },
  };
}

/**
 * Calls `fn` once `delayMs` has passed (a negative or non-finite delay fires as soon as possible;
 * an infinite one never). Each link re-measures the wall clock, so the chain neither drifts
 * nor fires early.
 */
export function setLongTimeout(fn: () => void, delayMs: number): LongTimer {
  let timer: NodeJS.Timeout | undefined;
  let cleared = false;
  if (delayMs === Infinity) return { clear: () => undefined };
  const due = Date.now() + (Number.isFinite(delayMs) ? Math.max(0, delayMs) : 0);
  // Always through the event loop, even when already due: callers arm timers mid-constructor.
  const arm = () => {
    timer = setTimeout(() => {
      if (due - Date.now() > 0) arm();
      else fn();
    }, Math.min(Math.max(0, due - Date.now()), MAX_TIMER_MS));
  };
  arm();
  return {
    clear() {
      if (cleared) return;
      cleared = true;
      clearTimeout(timer);
    },
  };
}
