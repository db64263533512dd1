import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_DATA_DIR, PROJECT_ROOT } from '@tapfleet/runtime';

/**
 * kstack/ustack as event fields and printf() arguments on the real kernel: the probe copies
 * the stack into its record, `tapfleet run` names the frames (kallsyms, the process's mappings)
 * and prints them as bpftrace prints a stack; --json gives each stack as an array of frames.
 */
const TAPFLEET = join(PROJECT_ROOT, 'bin', 'tapfleet.js');

function tapfleet(...args: string[]) {
  const r = spawnSync(process.execPath, [TAPFLEET, ...args], { encoding: 'utf8', env: process.env, cwd: PROJECT_ROOT, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const dir = join(DEFAULT_DATA_DIR, 'test-bin', 'run-stack-events');
mkdirSync(dir, { recursive: true });
const bin = join(dir, 'stack-spin');
execFileSync('gcc', ['-O0', '-fno-omit-frame-pointer', '-Wl,--build-id', '-o', bin, join(PROJECT_ROOT, 'test', 'fixtures', 'stack-spin.c')]);
// The kernel stacks: a process in read() of /dev/zero, sampled.
const spinner = spawn(bin, ['syscall', '60'], { stdio: 'ignore' });
after(() => spinner.kill('SIGKILL'));

const script = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const userScript = script('ustack-event.tap', `probe uprobe:${bin}:tf_inner_spin { emit hit { n: pid, u: ustack(8) } }\n`);

test('tapfleet run: a ustack event field prints as bpftrace prints a stack: one frame a line, indented, leaf first, names from the binary', () => {
  const r = tapfleet('run', userScript, '-c', `${bin} user 0.05`);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^hit pid=(\d+) tid=\d+ comm="stack-spin" n=\1 u=\n {8}tf_inner_spin\+0\n {8}tf_middle\+\d+\n {8}tf_outer\+\d+\n {8}main\+\d+\n/m);
});

test('tapfleet run --json: a stack event field is an array of its frames, leaf first', () => {
  const r = tapfleet('run', userScript, '-c', `${bin} user 0.05`, '--json');
  assert.equal(r.code, 0, r.stderr);
  const hits = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; event?: string; u?: string[] }).filter((l) => l.type === 'event');
  assert.ok(hits.length > 0, r.stdout);
  for (const h of hits) {
    assert.equal(h.event, 'hit');
    assert.deepEqual(h.u!.slice(0, 4).map((f) => f.replace(/\+\d+$/, '')), ['tf_inner_spin', 'tf_middle', 'tf_outer', 'main']);
  }
});

test('tapfleet run: a kstack event field and a printf("%s", ustack) name the read path of a sampled process', () => {
  const path = script('kstack-event.tap', 'probe profile:hz:99 /comm == "stack-spin"/ { emit sample { k: kstack(6) } printf("u:%s|\\n", ustack(3)); }\n');
  const r = tapfleet('run', path, '-d', '2s');
  assert.equal(r.code, 0, r.stderr);
  // Leaf first: the read of /dev/zero under the syscall entry (the leaf may be a helper read_zero calls).
  assert.match(r.stdout, /^sample pid=\d+ tid=\d+ comm="stack-spin" k=\n(?: {8}\S+\n)? {8}read_zero\+\d+\n {8}vfs_read\+\d+\n {8}ksys_read\+\d+\n/m);
  // printf's %s prints a stack as bpftrace 0.17 does: a newline, each frame indented by 8 spaces.
  assert.match(r.stdout, /^u:\n {8}\S+\+\d+\n(?: {8}\S+\n)*\|$/m);
  assert.doesNotMatch(r.stdout, /k=\n {8}0x/, 'kernel frames are names');
});
