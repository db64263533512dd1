/**
 * Text from elsewhere (label values, host-reported reasons, transaction keys read out of traced
 * processes, server error messages) printed to a terminal must not act on it: an ESC starts a
 * control sequence (colours, cursor moves, window titles, on some terminals clipboard writes), a
 * CR or newline fakes a line, a C1 control does what ESC does on terminals that read UTF-8 C1, and
 * bidirectional overrides and zero-width characters make text read other than it is. Each such
 * character is written as a JSON-style escape (`\u001b`), which keeps `--json` output valid JSON
 * meaning the same string, and shows the rest of the text as it is.
 */
const ACTING = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2028\u2029\u2060-\u2064\u2066-\u2069\ufeff]/g;
const ACTING_OR_NEWLINE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2028\u2029\u2060-\u2064\u2066-\u2069\ufeff]/g;

const escaped = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** A line of output with every terminal-acting character escaped; tabs and newlines stay (a command may print several lines at once). */
export function terminalText(s: string): string {
  return s.replace(ACTING, escaped);
}

/** One cell or word of output: newlines escaped too, so a value can never start a line of its own. */
export function terminalWord(s: string): string {
  return s.replace(ACTING_OR_NEWLINE, escaped);
}

/** Plain aligned columns, every cell a terminalWord: readable in a terminal, greppable in scripts. */
export function textTable(header: string[], rows: string[][]): string[] {
  const safe = rows.map((r) => r.map(terminalWord));
  const widths = header.map((h, i) => Math.max(h.length, ...safe.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...safe.map(line)];
}
