import { test } from 'node:test';
import assert from 'node:assert/strict';
import { terminalText, terminalWord, textTable } from './terminal-text.js';

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
