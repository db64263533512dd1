import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '@tapfleet/runtime';

// Review finding: a script inside every documented limit (one probe, 601 statements, 50 maps,
// well under 1M instructions) compiles and `check`s ok (so the API answers 201), then fails on
// every host: the body of one `if` is longer than a BPF jump can span (signed 16-bit offset,
// 32,767 instructions), and the kernel refuses `jump out of range from insn 1 to -18106`.
// At 900 statements the wrapped offset lands inside the program instead (`R6 !read_ok`):
// a silent miscompilation that only the verifier happens to catch.
// The invariant tested: whatever `tapfleet compile` accepts, `tapfleet run` can load.

function tapfleet(args: string[]) {
  const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'tapfleet.js'), ...args], { encoding: 'utf8', cwd: PROJECT_ROOT, timeout: 180_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'tf-jump-'));

for (const n of [600, 900])
  test(`a script compile accepts loads on this kernel (one if around ${n} hist updates)`, () => {
    const file = join(dir, `jump${n}.tap`);
    const body = Array.from({ length: n }, (_, i) => `    @m${i % 50}[comm, pid] = hist(pid);`).join('\n');
    writeFileSync(file, `probe tracepoint:syscalls:sys_enter_getpid {\n  if (pid == 1) {\n${body}\n  }\n}\n`);
    const c = tapfleet(['compile', file, '-o', join(dir, `jump${n}.bundle`)]);
    if (c.code !== 0) {
      // Refused at compile time is fine, as long as it is a positioned diagnostic.
      assert.match(c.stderr, new RegExp(`^${file}:\\d+:\\d+: error: `, 'm'), c.stderr.slice(0, 2000));
      return;
    }
    const r = tapfleet(['run', file, '--duration', '1s']);
    assert.equal(r.code, 0, `compile accepted it but the kernel refused it:\n${r.stderr.slice(-1500)}`);
  });
