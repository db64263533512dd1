import { test } from 'node:test';
import assert from 'node:assert/strict';
import { displayWidth, terminalText, terminalWord, textTable } from './terminal-text.js';

test('terminalText escapes every character a terminal acts on and keeps tabs, newlines and the rest as they are', () => {
  assert.equal(terminalText('plain text, ünïcödé 漢字 ±1.5 us\tcol\nnext'), 'plain text, ünïcödé 漢字 ±1.5 us\tcol\nnext');
  assert.equal(terminalText('\u001b]0;pwned\u0007\u001b[2J'), '\\u001b]0;pwned\\u0007\\u001b[2J');
  assert.equal(terminalText('over\rwrite'), 'over\\u000dwrite');
  assert.equal(terminalText('\u0000\u007f\u0080\u009b\u009f'), '\\u0000\\u007f\\u0080\\u009b\\u009f');
  assert.equal(terminalText('a\u202eb\u2066c\u2069d\u200be\ufeff'), 'a\\u202eb\\u2066c\\u2069d\\u200be\\ufeff');
});

test('terminalText keeps JSON output valid JSON meaning the same value', () => {
  const value = { label: 'x\u007f\u009b\u202e\u2028y', n: 1 };
  const line = terminalText(JSON.stringify(value));
  assert.doesNotMatch(line, /[\u007f-\u009f\u2028\u202e]/);
  assert.deepEqual(JSON.parse(line), value);
});

test('terminalWord escapes newlines too: a value never starts a line of its own', () => {
  assert.equal(terminalWord('a\nd-fake000  running'), 'a\\u000ad-fake000  running');
});

test('textTable: hostile cells cannot add rows or act on the terminal, and columns align on what is printed', () => {
  const lines = textTable(['HOST', 'LABELS', 'SEEN'], [['h1', 'role=a\nh2  live', '1s ago'], ['h3', 'x=\u001b[31mred', '2s ago']]);
  assert.equal(lines.length, 3);
  assert.equal(lines[1], 'h1    role=a\\u000ah2  live  1s ago');
  assert.equal(lines[2], 'h3    x=\\u001b[31mred       2s ago');
  for (const l of lines) assert.doesNotMatch(l, /[\u0000-\u001f]/);
});

test('terminalText also escapes the Arabic letter mark, invisible tag characters and lone surrogate halves; --json keeps the exact string', () => {
  assert.equal(terminalText('a\u061cb\u180ec\ufff9d'), 'a\\u061cb\\u180ec\\ufff9d');
  assert.equal(terminalText('tag\u{e0041}\u{e007f}'), 'tag\\udb40\\udc41\\udb40\\udc7f');
  assert.equal(terminalText('half\ud800 \udc00 pair\u{1f600}'), 'half\\ud800 \\udc00 pair\u{1f600}');
  assert.equal(terminalText('\u0085'), '\\u0085');
  const value = { key: 'x\ud800y\u{e0041}' };
  assert.deepEqual(JSON.parse(terminalText(JSON.stringify(value))), value);
  // Written to a UTF-8 stream, the escaped line is what it says (a raw lone half would arrive as U+FFFD).
  assert.deepEqual(JSON.parse(Buffer.from(terminalText(JSON.stringify(value)), 'utf8').toString('utf8')), value);
});

test('textTable aligns columns on terminal columns: CJK characters take two, combining marks none', () => {
  const lines = textTable(['NAME', 'V'], [['漢字', '1'], ['e\u0301t\u00e9', '2'], ['abcd', '3']]);
  assert.deepEqual(lines, ['NAME  V', '漢字  1', 'e\u0301t\u00e9   2', 'abcd  3']);
  assert.equal(displayWidth('漢字±µ'), 6);
});
