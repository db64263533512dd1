import { existsSync, readFileSync, statSync } from 'node:fs';
import { sleep } from '@tapfleet/runtime';
import { isOwnedAlive, removePidFile, type PidRecord } from './owned-process.js';
import type { ServiceDirs, StackService } from './services/service.js';

/** Raised when the stack cannot be brought up; the message says what to read or change. */
export class StackError extends Error {
  readonly code = 'TAPFLEET_STACK';
}


export async function healthReason(svc: StackService): Promise<string | undefined> {
  try {
    await svc.checkHealth();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

export function logTail(file: string, lines = 15): string {
  if (!existsSync(file)) return '(no log yet)';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

/** CPU ticks the process has used and its log's size: either growing means it is still starting up. */
function progressMark(pid: number, logFile: string): string {
  let cpu = '';
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    cpu = `${fields[11]}+${fields[12]}`; // utime, stime
  } catch {
    // gone: the liveness check reports it
  }
  let size = 0;
  try {
    size = statSync(logFile).size;
  } catch {
    // no log yet
  }
  return `${cpu}/${size}`;
}

/** How long a service that keeps progressing may take, as a multiple of its start budget. */
const PROGRESS_BUDGETS = 6;

/**
 * Waits until a freshly started (or still starting) service answers its health check.
 * - It dies: fails at once, with its log tail.
 * - It is alive and progressing (CPU time or log growing, as a JVM or a first-run
 *   ClickHouse does on a loaded machine): the budget is renewed, up to
 *   PROGRESS_BUDGETS times `startTimeoutMs`.
 * - Only a check that *started* after the deadline can fail the wait: when this process
 *   itself was stalled (a synchronous Maven fetch once blocked the event loop past a
 *   10 s budget), the check in flight timed out on our side, not the service's.
 */
export async function waitHealthy(svc: StackService, rec: PidRecord, dirs: ServiceDirs): Promise<void> {
  const started = Date.now();
  const hardDeadline = started + PROGRESS_BUDGETS * svc.startTimeoutMs;
  let deadline = started + svc.startTimeoutMs;
  let mark = progressMark(rec.pid, dirs.logFile);
  for (;;) {
    if (!isOwnedAlive(rec)) {
      removePidFile(dirs.pidFile);
      throw new StackError(`${svc.binary} exited during start-up; read ${dirs.logFile}:\n${logTail(dirs.logFile)}`);
    }
    const checkStarted = Date.now();
    const reason = await healthReason(svc);
    if (reason === undefined) return;
    const now = Date.now();
    const nextMark = progressMark(rec.pid, dirs.logFile);
    if (nextMark !== mark) deadline = Math.min(hardDeadline, Math.max(deadline, now + svc.startTimeoutMs));
    mark = nextMark;
    if (checkStarted > deadline) {
      const waited = ((now - started) / 1000).toFixed(1);
      throw new StackError(`${svc.binary} (pid ${rec.pid}) not healthy after ${waited} s (${reason}); read ${dirs.logFile}:\n${logTail(dirs.logFile, 5)}`);
    }
    await sleep(200);
  }
}
