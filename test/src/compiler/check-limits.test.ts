import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '@tapfleet/runtime';

function tapfleet(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'tapfleet.js'), ...args], { encoding: 'utf8', env: { ...process.env, ...env }, cwd: PROJECT_ROOT });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'tf-limits-'));
const TP = 'probe tracepoint:syscalls:sys_enter_getpid';

/** [name, script, expected `line:col: error: message` prefix] for `tapfleet check` on this host. */
const CASES: [string, string, string][] = [
  ['parens', `${TP} {\n  @a = sum(${'('.repeat(3000)}1${')'.repeat(3000)});\n}\n`, `2:${12 + 64}: error: expression nested more than 64 levels deep`],
  ['sum', `${TP} {\n  @a = sum(${Array(100_000).fill('1').join('+')});\n}\n`, `2:${11 + 128}: error: expression nested more than 64 levels deep`],
  ['nots', `${TP} /${'!'.repeat(10_000)}pid/ {\n  @a = count();\n}\n`, `1:${TP.length + 2 + 65}: error: expression nested more than 64 levels deep`],
  ['ifs', `${TP} {\n${'  if (1) {\n'.repeat(5000)}@a = count();\n${'}\n'.repeat(5000)}}\n`, '33:10: error: blocks are nested more than 32 deep'],
  ['else-ifs', `${TP} {\n  if (pid == 0) { @a = count(); }\n${Array.from({ length: 5000 }, (_, i) => `  else if (pid == ${i + 1}) { @a = count(); }`).join('\n')}\n}\n`, '33:8: error: blocks are nested more than 32 deep (each else if is one level deeper)'],
];

for (const [name, script, expected] of CASES)
  test(`tapfleet check on deep input (${name}): the diagnostic with a caret, exit 1, no JS stack trace`, () => {
    const file = join(dir, `${name}.tap`);
    writeFileSync(file, script);
    const r = tapfleet(['check', file]);
    assert.equal(r.code, 1, r.stderr.slice(0, 2000));
    const lines = r.stderr.split('\n');
    const at = lines.findIndex((l) => l.startsWith(`${file}:`));
    assert.ok(lines[at]!.startsWith(`${file}:${expected}`), `expected ${expected}, got: ${lines[at]}`);
    assert.match(lines[at + 2]!, /^ +\^/, 'a caret under the column');
    assert.doesNotMatch(r.stderr, /Maximum call stack|\n +at /);
  });

test('tapfleet compile with a clang that never finishes: stopped at compiler.clangTimeoutMs, reported at the script', () => {
  const sleepy = join(dir, 'clang');
  writeFileSync(sleepy, '#!/bin/sh\nsleep 600\n');
  chmodSync(sleepy, 0o755);
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ compiler: { clang: sleepy, clangTimeoutMs: 500 } }));
  const file = join(dir, 'ok.tap');
  writeFileSync(file, `${TP} { @a = count(); }\n`);
  const r = tapfleet(['compile', file, '-o', join(dir, 'ok.bundle')], { TAPFLEET_CONFIG: config });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`^${file}:1:1: error: building this script took longer than 500 ms, so it was stopped$`, 'm'));
});
