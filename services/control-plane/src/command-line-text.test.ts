import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commandLineText } from './commands/command-line-text.js';
import { hostStateText } from './commands/common.js';

test('a deployment\'s words print as they are when plain, JSON-quoted otherwise: no row split, no terminal escape, "a b" is not a b', () => {
  assert.equal(commandLineText(['params.tap', '1234', 'tagged', '-0x10']), 'params.tap 1234 tagged -0x10');
  assert.equal(commandLineText(['s.tap', 'a b', '']), 's.tap "a b" ""');
  assert.equal(commandLineText(['s.tap', 'x\nd-fake000 running', '\u001b[2J']), 's.tap "x\\nd-fake000 running" "\\u001b[2J"');
});

test('a quoted word escapes what JSON leaves raw: DEL, C1 controls (CSI is U+009B), bidi overrides, zero-width and line separators', () => {
  assert.equal(commandLineText(['s.tap', 'a\u007fb', '\u009b31m', 'evil\u202etxt.exe', 'zero\u200bwidth', 'l\u2028s']), 's.tap "a\\u007fb" "\\u009b31m" "evil\\u202etxt.exe" "zero\\u200bwidth" "l\\u2028s"');
});

test('a host\'s reason cannot print a rollout line of its own: its newline is escaped', () => {
  assert.equal(hostStateText({ state: 'failed', reason: 'x\n  h2: running', runnerRestarts: 0 } as Parameters<typeof hostStateText>[0]), 'failed(x\\u000a  h2: running)');
});
