import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '@tapfleet/runtime';
import { attachedRunner, linksHeldBy } from './runner-links.js';

const TAPFLEET = join(PROJECT_ROOT, 'bin', 'tapfleet.js');
const PYTHON = '/usr/bin/python3.11';

function tapfleet(...args: string[]) {
  const r = spawnSync(process.execPath, [TAPFLEET, ...args], { encoding: 'utf8', env: process.env, cwd: PROJECT_ROOT, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const cgroup2Root = () => readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')).find((f) => f[2] === 'cgroup2')?.[1];

test('tapfleet run -p PID ends when PID exits, printing the final aggregations, and its runner (and links) go', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-pid-exit-'));
  const file = join(dir, 'pid-exit.tap');
  writeFileSync(file, 'probe tracepoint:syscalls:sys_enter_getppid { @pid_exit_probe = count(); }\n');
  // The target calls getppid() 50 times when told to, then exits.
  const target = spawn(PYTHON, ['-c', 'import os, sys\nsys.stdin.readline()\nfor i in range(50): os.getppid()\n'], { stdio: ['pipe', 'ignore', 'ignore'] });
  const run = spawn(process.execPath, [TAPFLEET, 'run', file, '-p', String(target.pid)], { env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  run.stdout.on('data', (d: Buffer) => (stdout += d));
  run.stderr.on('data', (d: Buffer) => (stderr += d));
  const exited = new Promise<number | null>((r) => run.on('exit', r));
  try {
    const runner = await attachedRunner(run.pid!);
    assert.ok(runner, `the probe never attached: ${stderr}`);
    target.stdin.end('go\n');
    // Before the fix the run outlived its target until Ctrl-C: bound the wait, then say so.
    let guard: NodeJS.Timeout | undefined;
    const code = await Promise.race([exited, new Promise<'still running'>((r) => (guard = setTimeout(() => r('still running'), 30_000)))]);
    clearTimeout(guard);
    assert.equal(code, 0, `tapfleet run: ${code}; ${stderr}`);
    assert.match(stderr, new RegExp(`process ${target.pid} exited`));
    const n = Number(/^@pid_exit_probe: (\d+)$/m.exec(stdout)?.[1]);
    assert.ok(n >= 50, stdout);
    assert.equal(linksHeldBy(runner), 0, 'the runner is gone, and its links with it');
  } finally {
    run.kill('SIGKILL');
    target.kill('SIGKILL');
  }
});

test('tapfleet run -p with a process that does not exist is a usage error', async () => {
  const gone = spawn('/bin/true');
  await new Promise((r) => gone.on('exit', r));
  const r = tapfleet('run', 'docs/examples/syscalls-by-comm.tap', '-p', String(gone.pid));
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`-p ${gone.pid}: no such process`));
});

test("tapfleet run -c 'a; b | c' runs every command as a shell would, and the probes see exactly its processes", () => {
  const getpids = (n: number) => `${PYTHON} -c "import os\nfor i in range(${n}): os.getpid()"`;
  const r = tapfleet('run', 'docs/examples/syscalls-by-comm.tap', '-c', `${getpids(120)}; ${getpids(80)} | cat`);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^@calls\[python3\.11\]: 200$/m, 'both python commands ran and were traced');
  const comms = [...r.stdout.matchAll(/^@calls\[([^\]]+)\]/gm)].map((m) => m[1]);
  for (const comm of comms) assert.ok(['python3.11', 'sh', 'cat'].includes(comm!), `only the command's processes fire probes, saw ${comm}`);
  const root = cgroup2Root();
  assert.ok(root, 'cgroup v2 is mounted (stack up mounts it where a fresh sysfs has none)');
  assert.deepEqual(readdirSync(root).filter((d) => d.startsWith('tapfleet-run-')), [], 'the run\'s cgroup is removed');
});

test('tapfleet run -c with shell syntax keeps USDT probes meaningful: they fire in the shell\'s child processes', () => {
  const r = tapfleet('run', 'docs/examples/python-gc.tap', '--json', '--binary', `python=${PYTHON}`, '-c', `true; ${PYTHON} -c "import gc\nfor i in range(3): gc.collect()"`);
  assert.equal(r.code, 0, r.stderr);
  const events = r.stdout.split('\n').filter((l) => l.startsWith('{"type":"event"')).map((l) => JSON.parse(l) as { event: string; comm: string });
  assert.ok(events.length >= 3, `gc events from the second command: ${r.stdout}${r.stderr}`);
  for (const e of events) assert.equal(e.comm, 'python3.11');
});

test('tapfleet run --duration rejects what is not a duration, and a long one does not end the run at once', () => {
  const bad = tapfleet('run', 'docs/examples/syscalls-by-comm.tap', '--duration', '99999999999999999999h');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--duration takes a duration like 30s/);
  // 700 h overflows Node's 32-bit timer (it would fire after 1 ms): the command's exit must end the run, not the timer.
  const r = tapfleet('run', 'docs/examples/syscalls-by-comm.tap', '--duration', '700h', '-c', `${PYTHON} -c "import os, time\ntime.sleep(0.5)\nfor i in range(40): os.getpid()"`);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^@calls\[python3\.11\]: 40$/m);
});
