import { terminalWord } from '@tapfleet/runtime';
/**
 * A deployment's script and parameters as one line of `tapfleet deployments` / `status`: a word a
 * shell would take as it is stays so; any other (a space, a quote, a newline, a terminal escape,
 * an empty word) is written JSON-quoted, so a parameter can neither split a row nor send control
 * characters to the terminal of whoever lists the fleet, and `a b` differs from `a` `b`.
 */
const PLAIN = /^[A-Za-z0-9_.,:/=+@%-]+$/;
// JSON.stringify leaves DEL, C1 controls and bidi overrides as they are: terminalWord escapes those too.

export function commandLineText(words: readonly string[]): string {
  return words.map((w) => (PLAIN.test(w) ? w : terminalWord(JSON.stringify(w)))).join(' ');
}
