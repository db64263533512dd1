import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Diagnostics, formatDiagnostic } from './diagnostics.js';
import { Lexer } from './lexer.js';
import { Source } from './source.js';

/** The value of the one string literal in `text`, and the diagnostics lexing it gave. */
function lexString(text: string): { value: string | undefined; errors: string[] } {
  const diags = new Diagnostics();
  const lexer = new Lexer(new Source('s.tap', text), diags);
  const token = lexer.next();
  return { value: token.kind === 'string' ? (token as { value: string }).value : undefined, errors: diags.items.map((d) => formatDiagnostic(d).split('\n')[0]!) };
}

test('string escapes read as C and bpftrace read them: \\n \\t \\r \\\\ \\" \\xHH and octal', () => {
  assert.deepEqual(lexString(String.raw`"a\x41b|\101|c\rd|\\|\"q\"|\t\n"`), { value: 'aAb|A|c\rd|\\|"q"|\t\n', errors: [] });
  assert.deepEqual(lexString(String.raw`"\x7|\7|\0end|\a\b\f\v|\'"`), { value: "\x07|\x07|\x00end|\x07\b\f\v|'", errors: [] });
  assert.deepEqual(lexString(String.raw`"\x414"`), { value: 'A4', errors: [] }, 'at most two hex digits');
});

test('an unknown escape is a diagnostic at its backslash, not a silently dropped backslash', () => {
  const r = lexString(String.raw`"e\qf"`);
  assert.equal(r.value, 'ef');
  assert.deepEqual(r.errors, [String.raw`s.tap:1:3: error: invalid escape '\q' in a string`]);
});
