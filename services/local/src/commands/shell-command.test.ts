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
    'iffy --for while',
  ]) {
    assert.equal(shellSyntax(cmd), undefined, cmd);
    assert.deepEqual(planShellCommand(cmd), { kind: 'exec', argv: ['/bin/sh', '-c', `exec ${cmd}`] });
  }
  const withAssignment = 'FOO=1 ./server --flag # a comment; not a list';
  assert.equal(shellSyntax(withAssignment), undefined);
  assert.deepEqual(planShellCommand(withAssignment), { kind: 'exec', argv: ['/bin/sh', '-c', 'FOO=1 exec ./server --flag # a comment; not a list'] });
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

test('-c: leading assignments go before exec, builtins and bare assignments run in the shell', () => {
  assert.deepEqual(planShellCommand('A=1 B="x y" prog --flag'), { kind: 'exec', argv: ['/bin/sh', '-c', 'A=1 B="x y" exec prog --flag'] });
  assert.deepEqual(planShellCommand("A='1 2' prog"), { kind: 'exec', argv: ['/bin/sh', '-c', "A='1 2' exec prog"] });
  for (const cmd of ['cd /tmp', 'exit 3', 'export A=1', '. ./env.sh'])
    assert.equal(planShellCommand(cmd).kind, 'shell', cmd);
  assert.deepEqual(planShellCommand('A=1'), { kind: 'shell', argv: ['/bin/sh', '-c', 'A=1'], syntax: 'assignments only' });
});
