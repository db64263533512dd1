import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '@tapfleet/runtime';

function tapfleet(...args: string[]) {
  const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'tapfleet.js'), ...args], { encoding: 'utf8', env: process.env, cwd: PROJECT_ROOT });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('tapfleet run prints value maps as bpftrace does: @m[key]: value, scalars as @x: value', () => {
  const r = tapfleet('run', 'docs/examples/read-latency.tap', '-c', 'dd if=/dev/zero of=/dev/null bs=4k count=300 status=none');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^@bytes\[dd\]: 4096$/m);
  assert.match(r.stdout, /^@us\[dd\]: $/m);
  const reads = Number(/^@reads: (\d+)$/m.exec(r.stdout)?.[1]);
  assert.ok(reads >= 301, `dd's 301 reads at least (the run sees every process's): ${r.stdout}`);
});

test('tapfleet run: string values, the anonymous map, and --json carries a string value as the value', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-values-'));
  const script = join(dir, 'opens.tap');
  writeFileSync(script, 'probe tracepoint:syscalls:sys_enter_openat { @file[comm] = str(args->filename, 10); @[comm] = count(); }\n');
  const r = tapfleet('run', script, '-c', 'cat /etc/os-release');
  assert.equal(r.code, 0, r.stderr);
  // str(p, 10): a 10-byte buffer, NUL included, so 9 characters of "/etc/os-release".
  assert.match(r.stdout, /^@file\[cat\]: \/etc\/os-r$/m);
  assert.match(r.stdout, /^@\[cat\]: [1-9][0-9]*$/m);
  const json = tapfleet('run', script, '--json', '-c', 'cat /etc/os-release');
  assert.equal(json.code, 0, json.stderr);
  const file = json.stdout.split('\n').filter((l) => l.startsWith('{"type":"map","map":"@file"')).map((l) => JSON.parse(l) as { kind: string; entries: { key: string[]; value: string }[] })[0]!;
  assert.equal(file.kind, 'value');
  assert.ok(file.entries.some((e) => e.key[0] === 'cat' && e.value === '/etc/os-r'), JSON.stringify(file));
});
