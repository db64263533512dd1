/**
 * What the kernel tests that run one script under tapfleet and under bpftrace 0.17 share: both
 * commands, the lines a script printed, and a python worker writing N bytes to /dev/null every
 * 10 ms (told apart by pid and by size).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '@tapfleet/runtime';

export interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `tapfleet ARGS` with its own data dir (and config file when given), as a user runs it. */
export function tapfleetIn(dataDir: string, configFile?: string): (...args: string[]) => Outcome {
  return (...args) => {
    const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'tapfleet.js'), ...args, ...(configFile ? ['--config', configFile] : [])], {
      encoding: 'utf8', timeout: 90_000, cwd: PROJECT_ROOT, env: { ...process.env, TAPFLEET_DATA_DIR: dataDir, TAPFLEET_LOG_LEVEL: 'warn' },
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
}

/** bpftrace [OPTIONS] -e PROGRAM PARAMS...: options (-c) first, the parameters last. */
export function bpftrace(options: string[], program: string, ...params: string[]): Outcome {
  const r = spawnSync('bpftrace', [...options, '-e', program, ...params], { encoding: 'utf8', timeout: 90_000 });
  // bpftrace 0.17 complains about RLIMIT_MEMLOCK on this kernel (memcg accounting makes it moot).
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.split('\n').filter((l) => !l.includes('RLIMIT_MEMLOCK')).join('\n') };
}

/** The lines a script printed: printf() text and map entries, blank lines dropped. */
export const printedLines = (stdout: string): string[] => stdout.split('\n').map((l) => l.trimEnd()).filter((l) => l && !l.startsWith('Attaching'));

/** Starts writer workers (`size` bytes to /dev/null every 10 ms) on demand; `adopt` adds another process to kill; `stop` kills them all. */
export function writerWorkers(work: string): { start: (size: number) => number; adopt: (child: ChildProcess) => void; stop: () => void } {
  const script = join(work, 'worker.py');
  writeFileSync(script, `import os, sys, time
fd = os.open('/dev/null', os.O_WRONLY)
while True:
    os.write(fd, b'x' * int(sys.argv[1]))
    time.sleep(0.01)
`);
  const workers: ChildProcess[] = [];
  return {
    start: (size) => {
      const w = spawn('/usr/bin/python3', [script, String(size)], { stdio: 'ignore' });
      workers.push(w);
      return w.pid!;
    },
    adopt: (child) => void workers.push(child),
    stop: () => workers.forEach((w) => w.kill('SIGKILL')),
  };
}
