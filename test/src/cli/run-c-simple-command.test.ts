import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '@tapfleet/runtime';

// Review finding: `tapfleet run -c CMD` wraps a command without shell operators as
// `/bin/sh -c "exec CMD"`, so anything a shell accepts as a simple command but `exec` does not
// breaks: `FOO=1 prog` (`exec: FOO=1: not found`), builtins such as `exit 3` or `cd /tmp`
// (`exec: exit: not found`). The run then still exits 0, so a script sees success for a command
// that never ran. README: "-c runs ... as the user would expect from a shell".

const TAPFLEET = join(PROJECT_ROOT, 'bin', 'tapfleet.js');

function run(cmd: string) {
  const dir = mkdtempSync(join(tmpdir(), 'tf-run-c-'));
  const file = join(dir, 'c.tap');
  writeFileSync(file, 'probe tracepoint:syscalls:sys_enter_getppid { @c = count(); }\n');
  const r = spawnSync(process.execPath, [TAPFLEET, 'run', file, '-c', cmd], { encoding: 'utf8', env: process.env, cwd: PROJECT_ROOT, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('tapfleet run -c with a leading variable assignment runs the command with it set', () => {
  const r = run('TF_REVIEW_X=42 /usr/bin/python3.11 -c "import os; os.getppid(); print(\'x=\' + os.environ[\'TF_REVIEW_X\'])"');
  assert.doesNotMatch(r.stderr, /not found/, r.stderr);
  assert.match(r.stdout, /^x=42$/m, r.stdout + r.stderr);
});

test('tapfleet run -c with a shell builtin runs it as a shell would', () => {
  const r = run('cd /tmp');
  assert.doesNotMatch(r.stderr, /exec: cd: not found/, r.stderr);
});
