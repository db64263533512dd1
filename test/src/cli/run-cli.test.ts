import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '@tapfleet/runtime';
import { KernelProfile, parseBundle, verifyBundle } from '@tapfleet/schemas';
import { loadOrCreateSigningKey } from '@tapfleet/compiler';
import { attachedRunner, linksHeldBy } from './runner-links.js';

function tapfleet(...args: string[]) {
  const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'tapfleet.js'), ...args], { encoding: 'utf8', env: process.env, cwd: PROJECT_ROOT });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('tapfleet run -c traces a command from its start and prints aggregations at the end', () => {
  const r = tapfleet('run', 'docs/examples/syscalls-by-comm.tap', '-c', '/usr/bin/python3.11 -c "import os\nfor i in range(300): os.getpid()"');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^@calls\[python3\.11\]: 300$/m);
  assert.match(r.stdout, /^@pids: $/m);
  assert.match(r.stderr, /attached in [0-9.]+ ms, detached in [0-9.]+ ms/);
});

test('tapfleet run --json prints one JSON event per line, decoded with the manifest layout', () => {
  const r = tapfleet('run', 'docs/examples/python-gc.tap', '--json', '--binary', 'python=/usr/bin/python3.11', '-c', '/usr/bin/python3.11 -c "import gc\nfor i in range(3): gc.collect()"');
  assert.equal(r.code, 0, r.stderr);
  const events = r.stdout.split('\n').filter((l) => l.startsWith('{"type":"event"')).map((l) => JSON.parse(l) as { event: string; comm: string; took_ns: number });
  assert.ok(events.length >= 3, r.stdout);
  for (const e of events) {
    assert.equal(e.event, 'gc');
    assert.equal(e.comm, 'python3.11');
    assert.ok(e.took_ns > 0);
  }
});

test('tapfleet check reports diagnostics with file:line:col and exits 1', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-check-'));
  const file = join(dir, 'bad.tap');
  writeFileSync(file, 'probe tracepoint:sched:sched_switch {\n  @a = sum(retval);\n}\n');
  const r = tapfleet('check', file);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`${file}:2:12: error: retval exists only in uretprobe probes`));
  const ok = tapfleet('check', 'docs/examples/syscalls-by-comm.tap');
  assert.equal(ok.code, 0, ok.stderr);
});

test('tapfleet profile, then compile for that profile: a signed bundle naming this kernel', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-compile-'));
  const prof = tapfleet('profile', '--tracepoint', 'syscalls:sys_enter_getpid');
  assert.equal(prof.code, 0, prof.stderr);
  const profile = JSON.parse(prof.stdout) as { kernel: unknown };
  const kernel = KernelProfile.parse(profile.kernel);
  assert.equal(kernel.buildId.length, 40);
  writeFileSync(join(dir, 'profile.json'), prof.stdout);
  const out = join(dir, 'b.bundle');
  const c = tapfleet('compile', 'docs/examples/syscalls-by-comm.tap', '--profile', join(dir, 'profile.json'), '-o', out);
  assert.equal(c.code, 0, c.stderr);
  const bundle = parseBundle(readFileSync(out, 'utf8'));
  assert.equal(bundle.manifest.kernel.buildId, kernel.buildId);
  const dataDir = process.env.TAPFLEET_DATA_DIR ?? join(PROJECT_ROOT, '.tapfleet');
  verifyBundle(bundle, loadOrCreateSigningKey(join(dataDir, 'keys', 'signing-key.pem')).publicKeyPem);
});

test('Ctrl-C (SIGINT) detaches cleanly: the run exits 0, prints its maps, and leaves no BPF link behind', async () => {
  const { spawn } = await import('node:child_process');
  const dir = mkdtempSync(join(tmpdir(), 'tf-sigint-'));
  const file = join(dir, 'sigint.tap');
  writeFileSync(file, 'probe tracepoint:syscalls:sys_enter_getppid { @sigint_probe = count(); }\n');
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'tapfleet.js'), 'run', file], { env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  // Wait until the probe is attached: this run's runner holds a BPF link.
  const runner = await attachedRunner(child.pid!);
  assert.ok(runner, 'the probe never attached');
  spawnSync('/bin/sh', ['-c', 'for i in 1 2 3; do cat /proc/self/stat > /dev/null; done']);
  child.kill('SIGINT');
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  assert.equal(code, 0, stderr);
  assert.match(stdout, /^@sigint_probe: \d+$/m);
  assert.match(stderr, /detached in [0-9.]+ ms/);
  assert.equal(linksHeldBy(runner), 0, 'no link survives the run');
});
