/**
 * The one way tapfleet puts a value into ClickHouse SQL text. ClickHouse 18.16 (what the
 * stack runs) has no server-side query parameters (`{name:Type}` arrived in 19.x; 18.16
 * answers "Unknown setting param_x"), so values are written as literals, here and only here.
 * Every user-supplied value reaches SQL through one of these functions, after its zod check.
 */

/**
 * A single-quoted string literal. Backslash is ClickHouse's escape character inside quotes,
 * so it is doubled first; the quote and the control characters that could end or confuse a
 * literal (NUL, newlines) are written as escapes. The result reads back as exactly `s`.
 */
export function sqlString(s: string): string {
  return `'${s.replace(/[\\'\0\n\r\t]/g, (c) => ESCAPES[c]!)}'`;
}

const ESCAPES: Record<string, string> = { '\\': '\\\\', "'": "\\'", '\0': '\\0', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** An unsigned integer literal (ns times, counts, limits); refuses anything but a non-negative integer. */
export function sqlUInt(n: bigint | number): string {
  const v = BigInt(n);
  if (v < 0n || v >= 1n << 64n) throw new RangeError(`not a UInt64: ${v}`);
  return v.toString();
}

/** A signed 64-bit integer literal; refuses what does not fit. */
export function sqlInt(n: bigint | number): string {
  const v = BigInt(n);
  if (v < -(1n << 63n) || v >= 1n << 63n) throw new RangeError(`not an Int64: ${v}`);
  // -9223372036854775808 parses as a UInt64 negated and overflows; spell it the safe way.
  return v === -(1n << 63n) ? 'toInt64(-9223372036854775807 - 1)' : v.toString();
}

/** A list for `IN (...)`, of strings; an empty list becomes a list no value matches. */
export function sqlStringList(values: readonly string[]): string {
  return values.length ? `(${values.map(sqlString).join(', ')})` : "('\\0never')";
}
