import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_DATA_DIR, PROJECT_ROOT } from '@tapfleet/runtime';

const TAPFLEET = join(PROJECT_ROOT, 'bin', 'tapfleet.js');

function tapfleet(...args: string[]) {
  const r = spawnSync(process.execPath, [TAPFLEET, ...args], { encoding: 'utf8', env: process.env, cwd: PROJECT_ROOT, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// docs/examples/kernel-stacks.tap samples processes named stack-spin: the fixture, in its read() mode.
const dir = join(DEFAULT_DATA_DIR, 'test-bin', 'run-stacks');
mkdirSync(dir, { recursive: true });
const bin = join(dir, 'stack-spin');
execFileSync('gcc', ['-O0', '-fno-omit-frame-pointer', '-Wl,--build-id', '-o', bin, join(PROJECT_ROOT, 'test', 'fixtures', 'stack-spin.c')]);
const spinner = spawn(bin, ['syscall', '60'], { stdio: 'ignore' });
after(() => spinner.kill('SIGKILL'));

test('tapfleet run prints kstack keys as bpftrace does: one frame a line, indented, leaf first', () => {
  const r = tapfleet('run', 'docs/examples/kernel-stacks.tap', '-d', '2s');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^@k\[\n {4}read_zero\+\d+\n {4}vfs_read\+\d+\n {4}ksys_read\+\d+\n(?: {4}\S+\n)* {4}entry_SYSCALL_64\w*\+\d+\n\]: \d+$/m);
});

test('tapfleet run --folded prints flame-graph input: root first, offsets dropped, a count per line', () => {
  const r = tapfleet('run', 'docs/examples/kernel-stacks.tap', '-d', '2s', '--folded');
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.ok(lines.every((l) => / \d+$/.test(l) && !/\+\d+[; ]/.test(l)), r.stdout);
  assert.ok(lines.some((l) => /^entry_SYSCALL_64\w*;.*ksys_read;vfs_read;read_zero \d+$/.test(l)), r.stdout);
});

test('tapfleet run: --folded and --json together is a usage error', () => {
  const r = tapfleet('run', 'docs/examples/kernel-stacks.tap', '-d', '1s', '--folded', '--json');
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--json or --folded, not both/);
});
