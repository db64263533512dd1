/**
 * A 64-bit integer as JSON: a number where JSON parsers read it exactly (|v| <= 2^53 - 1), else its
 * decimal string. One rule for every JSON the fleet writes from binary fields (`tapfleet run
 * --json`, the query API's event fields, the Kafka event mirror), so a reader that handles one
 * handles all, and no value is ever rounded.
 */
export function exactJsonInteger(v: bigint): number | string {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

/** JSON.stringify's replacer for values that may hold bigints: each becomes exactJsonInteger(it). */
export const jsonSafe = (_key: string, v: unknown): unknown => (typeof v === 'bigint' ? exactJsonInteger(v) : v);
