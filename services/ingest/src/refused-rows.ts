/**
 * ClickHouse error codes an insert gets because of the rows it carries, never because of the
 * server's state: the same rows fail the same way on every retry. A lone UTF-16 surrogate in a
 * string (JSON.stringify writes `\ud800`, which ClickHouse's JSON reader refuses: 25), `-5` for a
 * UInt64 (72), a value no column type holds. Load and health errors (too many parts, memory,
 * timeouts, a read-only table) are not here: those pass, and their rows must wait.
 */
const CONTENT_ERROR_CODES = new Set([
  6, // CANNOT_PARSE_TEXT
  25, // CANNOT_PARSE_ESCAPE_SEQUENCE
  26, // CANNOT_PARSE_QUOTED_STRING
  27, // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  38, // CANNOT_PARSE_DATE
  41, // CANNOT_PARSE_DATETIME
  53, // TYPE_MISMATCH
  69, // ARGUMENT_OUT_OF_BOUND
  70, // CANNOT_CONVERT_TYPE
  72, // CANNOT_PARSE_NUMBER
  117, // INCORRECT_DATA
  131, // TOO_LARGE_STRING_SIZE
  246, // CORRUPTED_DATA (18.16: "Partition value mismatch")
]);

/**
 * The server's error code of a failed call, or undefined when the server did not answer with an
 * exception (a refused connection, a timeout). The client parses current servers' messages into
 * `code`; 18.16's (`Code: 25, e.displayText() = ...`) it leaves as text.
 */
export function clickhouseErrorCode(e: unknown): number | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^\d+$/.test(code)) return Number(code);
  const m = /^Code: (\d+)[,.]/.exec(e instanceof Error ? e.message : '');
  return m ? Number(m[1]) : undefined;
}

/** Whether ClickHouse refused the rows themselves (the same insert fails on every retry). */
export const refusedForContent = (e: unknown): boolean => CONTENT_ERROR_CODES.has(clickhouseErrorCode(e) ?? -1);
