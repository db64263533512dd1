import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '@tapfleet/runtime';

// Review finding: an event field named `p` collides with the generated event struct's prefix
// member (`struct tf_prefix p;`): `tapfleet check` says ok, `tapfleet compile` fails with
// "clang failed on generated code (a compiler bug ...)", and POST /v1/deployments answers 500.

test('an event field named p compiles (or is refused by check with a positioned diagnostic)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-field-p-'));
  const file = join(dir, 'p.tap');
  writeFileSync(file, 'probe tracepoint:syscalls:sys_enter_getppid { emit g { p: pid }; }\n');
  const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'tapfleet.js'), 'compile', file, '-o', join(dir, 'p.bundle')], { encoding: 'utf8', cwd: PROJECT_ROOT, timeout: 120_000 });
  assert.doesNotMatch(r.stderr, /clang failed on generated code/, r.stderr.slice(0, 1500));
  if (r.status !== 0) assert.match(r.stderr, new RegExp(`^${file}:1:\\d+: error: `, 'm'));
});
