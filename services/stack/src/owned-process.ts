import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { sleep } from '@tapfleet/runtime';

/**
 * A process the stack started, remembered by a pid file holding the pid and the
 * kernel's start time for it, so a recycled pid is never mistaken for ours.
 */
export interface PidRecord {
  pid: number;
  startTime: string;
  command: string;
}

/** Field 22 of /proc/PID/stat (start time in clock ticks since boot), or undefined if gone. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may hold spaces and parens: split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = fields[0];
    if (state === 'Z' || state === 'X') return undefined;
    return fields[19];
  } catch {
    return undefined;
  }
}

export function readPidFile(path: string): PidRecord | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const rec = JSON.parse(readFileSync(path, 'utf8')) as PidRecord;
    return typeof rec.pid === 'number' && typeof rec.startTime === 'string' ? rec : undefined;
  } catch {
    return undefined;
  }
}

/** True if the pid file names a process that is still the one we started. */
export function isOwnedAlive(rec: PidRecord | undefined): rec is PidRecord {
  return rec !== undefined && processStartTime(rec.pid) === rec.startTime;
}

/** Remembers a process this stack started (pid and kernel start time) in `pidFile`. */
export function writePidRecord(pidFile: string, pid: number, command: string): PidRecord {
  const rec: PidRecord = { pid, startTime: processStartTime(pid) ?? '', command };
  writeFileSync(pidFile, JSON.stringify(rec));
  return rec;
}

/** Starts `binary args` detached (it outlives this CLI), output appended to `logFile`. */
export function spawnDetached(binary: string, args: string[], logFile: string, pidFile: string, cwd: string, env: NodeJS.ProcessEnv = process.env): PidRecord {
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(binary, args, { cwd, env, detached: true, stdio: ['ignore', fd, fd] });
    if (child.pid === undefined) throw new Error(`could not start ${binary}`);
    child.unref();
    return writePidRecord(pidFile, child.pid, [binary, ...args].join(' '));
  } finally {
    closeSync(fd);
  }
}


/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopOwned(rec: PidRecord, graceMs = 15_000): Promise<'stopped' | 'killed' | 'not-running'> {
  if (!isOwnedAlive(rec)) return 'not-running';
  process.kill(rec.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isOwnedAlive(rec)) return 'stopped';
    await sleep(50);
  }
  process.kill(rec.pid, 'SIGKILL');
  while (isOwnedAlive(rec)) await sleep(20);
  return 'killed';
}

export function removePidFile(path: string): void {
  rmSync(path, { force: true });
}
