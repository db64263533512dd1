import { readFileSync } from 'node:fs';

/** Start time (field 22 of /proc/PID/stat) of a live, non-zombie process; undefined otherwise. */
export function liveStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' || fields[0] === 'X' ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

/**
 * Resolves once `pid` has exited (or become a zombie, or its pid was reused by another
 * process). Polling /proc every `everyMs`: the process is not our child, so there is no
 * exit event, and Node offers no pidfd.
 */
export function watchPidExit(pid: number, everyMs = 100): { exited: Promise<void>; stop: () => void } {
  const startTime = liveStartTime(pid);
  let timer: NodeJS.Timeout | undefined;
  const exited = new Promise<void>((resolve) => {
    const check = () => {
      if (startTime === undefined || liveStartTime(pid) !== startTime) {
        clearInterval(timer);
        resolve();
      }
    };
    timer = setInterval(check, everyMs);
    check();
  });
  return { exited, stop: () => clearInterval(timer) };
}
