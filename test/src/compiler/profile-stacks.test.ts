import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_DATA_DIR, PROJECT_ROOT } from '@tapfleet/runtime';
import { foldedLines } from '@tapfleet/schemas';
import { compileForThisHost, runSession } from '@tapfleet/local';
import { stackKeysOf, verifyBundle } from '@tapfleet/schemas';
import { TEST_PUBLIC_KEY, TEST_SIGNING_KEY } from './kernel-harness.js';

/** test/fixtures/stack-spin.c, with frame pointers: the kernel walks user stacks by them. */
function buildStackSpin(): string {
  const dir = join(DEFAULT_DATA_DIR, 'test-bin');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, 'stack-spin');
  execFileSync('gcc', ['-O0', '-fno-omit-frame-pointer', '-Wl,--build-id', '-o', out, join(PROJECT_ROOT, 'test', 'fixtures', 'stack-spin.c')]);
  return out;
}

const children: ChildProcess[] = [];
after(() => children.forEach((c) => c.kill('SIGKILL')));

/** The workload, running long enough for tapfleet and then bpftrace to sample it while it lives. */
function workload(mode: 'user' | 'syscall'): ChildProcess {
  // One at a time: an earlier test's workload would take a core from this one's.
  children.splice(0).forEach((c) => c.kill('SIGKILL'));
  const c = spawn(buildStackSpin(), [mode, '30'], { stdio: 'ignore' });
  children.push(c);
  return c;
}

/** Samples `script` for 2 s with tapfleet and returns the map's folded stacks, hottest first. */
async function tapfleetFolded(script: string, map: string): Promise<{ line: string; n: bigint }[]> {
  const bundle = await compileForThisHost('stacks.tap', script, { signingKey: TEST_SIGNING_KEY });
  verifyBundle(bundle, TEST_PUBLIC_KEY);
  const result = await runSession({ bundle, durationMs: 2000 });
  const layout = bundle.manifest.maps.find((m) => m.name === map)!;
  return byCount(foldedLines({ kind: layout.kind, stackKeys: stackKeysOf(layout) }, result.maps.get(map) ?? []));
}

const byCount = (lines: string[]) =>
  lines.map((l) => ({ line: l.slice(0, l.lastIndexOf(' ')), n: BigInt(l.slice(l.lastIndexOf(' ') + 1)) })).sort((a, b) => (b.n > a.n ? 1 : b.n < a.n ? -1 : 0));

/**
 * bpftrace 0.17 on the same script for 2 s, its `@m[\n frame\n ...]: N` blocks folded the same
 * way (offsets dropped, root first). -p PID: bpftrace 0.17 symbolises user frames only for it.
 */
function bpftraceFolded(script: string, pid: number): { line: string; n: bigint }[] {
  const r = spawnSync('bpftrace', ['-p', String(pid), '-e', `${script} interval:s:2 { exit(); }`], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const lines: string[] = [];
  for (const m of r.stdout.matchAll(/@\w*\[\n((?:\s+\S+\n)*)\]: (\d+)/g)) {
    const frames = m[1]!.trim().split('\n').map((f) => f.trim().replace(/\+[0-9]+$/, ''));
    lines.push(`${frames.reverse().join(';')} ${m[2]}`);
  }
  const merged = new Map<string, bigint>();
  for (const { line, n } of byCount(lines)) merged.set(line, (merged.get(line) ?? 0n) + n);
  return [...merged].map(([line, n]) => ({ line, n })).sort((a, b) => (b.n > a.n ? 1 : b.n < a.n ? -1 : 0));
}

test('profile:hz:99 + ustack: the busy call chain shows in order (main -> tf_outer -> tf_middle -> tf_inner_spin), as bpftrace shows it', async () => {
  const child = workload('user');
  const script = `probe profile:hz:99 /pid == ${child.pid}/ { @u[ustack] = count(); }`;
  const ours = await tapfleetFolded(script, '@u');
  assert.ok(ours.length > 0, 'samples were taken');
  const hottest = ours[0]!;
  assert.match(hottest.line, /;main;tf_outer;tf_middle;tf_inner_spin$/, `hottest stack: ${hottest.line}`);
  assert.ok(!/0x[0-9a-f]+;main/.test(hottest.line), `libc's frame below main is named (its debug file): ${hottest.line}`);
  // At 99 Hz for 2 s on 1 busy thread: about 200 samples, most of them in the loop.
  assert.ok(hottest.n >= 50n, `${hottest.n} samples in the busy loop`);
  const theirs = bpftraceFolded(`profile:hz:99 /pid == ${child.pid}/ { @u[ustack] = count(); }`, child.pid!);
  assert.equal(hottest.line, theirs[0]?.line, 'bpftrace names the same hottest stack, frame for frame');
});

test('profile:hz:99 + kstack: a read() storm on /dev/zero samples the kernel read path in order, as bpftrace does', async () => {
  const child = workload('syscall');
  const script = `probe profile:hz:99 /pid == ${child.pid}/ { @k[kstack] = count(); }`;
  const ours = await tapfleetFolded(script, '@k');
  const hottest = ours[0]!;
  assert.match(hottest.line, /^entry_SYSCALL_64\w*;.*\bksys_read;vfs_read;read_zero/, `hottest kernel stack: ${hottest.line}`);
  const theirs = bpftraceFolded(`profile:hz:99 /pid == ${child.pid}/ { @k[kstack] = count(); }`, child.pid!);
  assert.equal(hottest.line, theirs[0]?.line, 'bpftrace names the same hottest kernel stack, frame for frame');
});

test('kstack and ustack in one key, with a depth limit: the user stack is cut to N frames, the kernel one keyed alongside', async () => {
  const child = workload('syscall');
  const ours = await tapfleetFolded(`probe profile:hz:99 /pid == ${child.pid}/ { @b[kstack, ustack(2), comm] = count(); }`, '@b');
  const line = ours.find((l) => /read_zero/.test(l.line))?.line;
  assert.ok(line, `a sample in read_zero: ${ours.map((l) => l.line).join(' | ')}`);
  // Root first: comm, the user stack's 2 innermost frames, then the kernel's. libc's read() sets up
  // no frame, so the frame-pointer walk goes from it straight to main (tf_read_storm's return
  // address is not on the frame chain): bpftrace sees the same.
  const [comm, ...frames] = line.split(';');
  assert.equal(comm, 'stack-spin');
  assert.equal(frames[0], 'main');
  assert.match(frames[1]!, /read/);
  assert.match(frames[2]!, /^entry_SYSCALL_64/);
});
