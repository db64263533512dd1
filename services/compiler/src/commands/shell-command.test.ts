import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planShellCommand, shellSyntax } from './shell-command.js';

test('simple commands (quotes, redirections, expansions, comments) are exec\'d in place: the traced pid is the command\'s', () => {
  for (const cmd of [
    'ls -l',
    'python3 -c "import os\nfor i in range(3): os.getpid()"',
    "grep 'a;b|c' file",
    'echo a\\;b',
    'cmd > out.txt 2>&1',
    'cmd >&2',
    'echo $(date; uptime) "$HOME"',
    'FOO=1 ./server --flag # a comment; not a list',
    'iffy --for while',
  ]) {
    assert.equal(shellSyntax(cmd), undefined, cmd);
    assert.deepEqual(planShellCommand(cmd), { kind: 'exec', argv: ['/bin/sh', '-c', `exec ${cmd}`] });
  }
});

test('lists, pipelines, background jobs, subshells and compound commands run under sh -c as typed', () => {
  const cases: [string, string][] = [
    ['a; b', ';'],
    ['a && b', '&&'],
    ['a || b', '||'],
    ['a | b', '|'],
    ['a & b', '&'],
    ['a\nb', 'a newline'],
    ['(a)', '('],
    ['for i in 1 2; do a; done', 'for'],
    ['if true; then a; fi', 'if'],
    ['{ a; }', '{'],
    ['! a', '!'],
    ['a # note\nb', 'a newline'],
  ];
  for (const [cmd, syntax] of cases) {
    assert.equal(shellSyntax(cmd), syntax, cmd);
    assert.deepEqual(planShellCommand(cmd), { kind: 'shell', argv: ['/bin/sh', '-c', cmd], syntax });
  }
});
