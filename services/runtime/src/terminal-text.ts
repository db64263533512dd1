/**
 * Text from elsewhere (label values, host-reported reasons, transaction keys read out of traced
 * processes, server error messages) printed to a terminal must not act on it: an ESC starts a
 * control sequence (colours, cursor moves, window titles, on some terminals clipboard writes), a
 * CR or newline fakes a line, a C1 control does what ESC does on terminals that read UTF-8 C1, and
 * bidirectional overrides and zero-width characters make text read other than it is. Each such
 * character is written as a JSON-style escape (`\u001b`), which keeps `--json` output valid JSON
 * meaning the same string, and shows the rest of the text as it is.
 */
// Also: U+061C (Arabic letter mark, a bidi control), U+180E, the interlinear annotation controls
// U+FFF9-FFFB, the invisible tag characters U+E0000-E007F (text a reader cannot see), and a lone
// UTF-16 surrogate half (a label or reason can carry one: JSON's `\ud800`): written raw it reaches
// the terminal as U+FFFD, another string; escaped, the reader sees which.
const INVISIBLE = String.raw`\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u180e\u200b-\u200f\u202a-\u202e\u2028\u2029\u2060-\u2064\u2066-\u2069\ufeff\ufff9-\ufffb\u{e0000}-\u{e007f}\ud800-\udfff`;
const ACTING = new RegExp(`[${INVISIBLE}]`, 'gu');
const ACTING_OR_NEWLINE = new RegExp(`[${INVISIBLE}\\u000a]`, 'gu');

/** Each UTF-16 unit as `\uXXXX` (an astral character as its JSON surrogate pair). */
const escaped = (c: string) => Array.from({ length: c.length }, (_, i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`).join('');

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
  const widths = header.map((h, i) => Math.max(displayWidth(h), ...safe.map((r) => displayWidth(r[i] ?? ''))));
  const pad = (c: string, width: number) => c + ' '.repeat(Math.max(0, width - displayWidth(c)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : pad(c, widths[i]!))).join('  ').trimEnd();
  return [line(header), ...safe.map(line)];
}

/** East Asian wide and fullwidth characters, and emoji: two terminal columns each. */
const WIDE = /[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{1f300}-\u{1f64f}\u{1f900}-\u{1f9ff}\u{20000}-\u{3fffd}]/u;
/** Combining marks: no column of their own. */
const ZERO_WIDTH = /[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]/u;

/** Terminal columns a (terminal-safe) text takes: a CJK character two, a combining mark none, the rest one each. */
export function displayWidth(s: string): number {
  let width = 0;
  for (const c of s) width += WIDE.test(c) ? 2 : ZERO_WIDTH.test(c) ? 0 : 1;
  return width;
}
