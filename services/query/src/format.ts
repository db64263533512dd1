/**
 * The number formats the CLI and the web page share: the page loads this file's compiled form as
 * /format.js (page-files.ts), so it imports nothing at run time, ever; a browser cannot resolve a
 * package name (page-files.test.ts checks the served file).
 */

/** A duration in the unit that keeps 3-4 significant digits: `850ns`, `12.5us`, `3.20ms`, `1.50s`. */
export function durationText(ns: number): string {
  const a = Math.abs(ns);
  if (a < 1_000) return `${ns}ns`;
  if (a < 1_000_000) return `${(ns / 1_000).toFixed(a < 10_000 ? 2 : 1)}us`;
  if (a < 1_000_000_000) return `${(ns / 1_000_000).toFixed(a < 10_000_000 ? 2 : 1)}ms`;
  return `${(ns / 1_000_000_000).toFixed(2)}s`;
}

/** UTC wall time of an ns timestamp to the microsecond: `14:03:07.123456`. */
export function clockText(ns: bigint): string {
  const iso = new Date(Number(ns / 1_000_000n)).toISOString();
  return `${iso.slice(11, 19)}.${String((ns / 1000n) % 1_000_000n).padStart(6, '0')}`;
}
