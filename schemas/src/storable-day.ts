/**
 * The day every table is partitioned by (its `date` column), derived from a wall time an agent
 * sent. ClickHouse 18.16's date table ends in 2106: a later day gets 1970-01-01's partition id
 * with another value, and an insert holding one while a real 1970-01-01 row is stored fails
 * ("Partition value mismatch", code 246), and again on every retry: one agent with a clock, or
 * a forged wall time, past 2106 would stop ingest for the whole fleet. Newer servers end at
 * 2149-06-06, and the column's UInt16 wraps past that. So the day is clamped to the last one every
 * supported server stores as itself; the exact time stays in its own column (ts_ns, at_ms).
 */
export const LAST_STORABLE_DAY = 49_672; // 2105-12-31
const MS_PER_DAY = 86_400_000;

/** Days since 1970-01-01 of a wall time in ms, as the `date` column stores it. */
export function storableDay(ms: number): number {
  return Math.min(Math.max(Math.floor(ms / MS_PER_DAY), 0), LAST_STORABLE_DAY);
}

/** The same day as `YYYY-MM-DD` (JSONEachRow inserts). */
export function storableDayText(ms: number): string {
  return new Date(storableDay(ms) * MS_PER_DAY).toISOString().slice(0, 10);
}
