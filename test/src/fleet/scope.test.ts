import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileBundle } from '@tapfleet/compiler';
import { hostKernelProfile, RunnerProcess, whenReady, decodeSnapshot, type ProcessScope } from '@tapfleet/runner';
import { TEST_SIGNING_KEY } from '../compiler/kernel-harness.js';
import { buildTraceeAt, fleetBinDir, sleep } from './fleet-harness.js';

/** Where cgroup v2 is mounted (/sys/fs/cgroup on unified hosts, /sys/fs/cgroup/unified on hybrid ones). */
const CGROUP_ROOT = readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')).find((f) => f[2] === 'cgroup2')?.[1];
const children: ChildProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'tapfleet-scope-'));
after(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** Counts getpid() calls per pid for 400 ms with the given scope; the kernel decides who is seen. */
async function pidsSeen(scope: ProcessScope): Promise<Set<number>> {
  const bundle = await compileBundle('scope.tap', 'probe tracepoint:syscalls:sys_enter_getpid { @n[pid] = count(); }\n', {
    signingKey: TEST_SIGNING_KEY,
    profiles: { kernel: hostKernelProfile(['syscalls:sys_enter_getpid']), binaries: [] },
  });
  const objectPath = join(dir, 'scope.bpf.o');
  writeFileSync(objectPath, bundle.object);
  const runner = new RunnerProcess({ objectPath, manifest: bundle.manifest, scope });
  const seen = new Set<number>();
  runner.on('record', (r) => {
    if (r.type === 'map') for (const e of decodeSnapshot(bundle.manifest.maps[0]!, r.entries)) seen.add(Number(e.key[0]));
  });
  await whenReady(runner);
  await sleep(400);
  await runner.stop();
  return seen;
}

test('scope by pid list: only the listed processes fire probes (checked in the kernel)', async () => {
  const bin = buildTraceeAt(join(fleetBinDir(), 'scope', 'tracee'));
  const [a, b, c] = [0, 1, 2].map(() => spawn(bin, ['loop', '1000'], { stdio: 'ignore' }));
  children.push(a!, b!, c!);
  const seen = await pidsSeen({ pids: [a!.pid!, c!.pid!] });
  assert.deepEqual([...seen].sort(), [a!.pid!, c!.pid!].sort());
});

test('scope by cgroup v2 directory: only processes in it fire probes', async () => {
  assert.ok(CGROUP_ROOT, 'this kernel has a cgroup v2 hierarchy mounted');
  const cg = join(CGROUP_ROOT, `tapfleet-test-${process.pid}`);
  mkdirSync(cg);
  try {
    const bin = buildTraceeAt(join(fleetBinDir(), 'scope', 'tracee'));
    const inside = spawn(bin, ['loop', '1000'], { stdio: 'ignore' });
    const outside = spawn(bin, ['loop', '1000'], { stdio: 'ignore' });
    children.push(inside, outside);
    writeFileSync(join(cg, 'cgroup.procs'), String(inside.pid));
    const seen = await pidsSeen({ cgroup: cg });
    assert.deepEqual([...seen], [inside.pid]);
    inside.kill('SIGKILL');
    await new Promise((r) => inside.once('exit', r));
  } finally {
    rmdirSync(cg);
  }
});
