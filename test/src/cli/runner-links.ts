import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** The runner a `tapfleet run` started (its child), if any. */
export function runnerOf(pid: number): number | undefined {
  try {
    return Number(execFileSync('pgrep', ['-P', String(pid), '-f', 'tapfleet-runner'], { encoding: 'utf8' }).trim().split('\n')[0]) || undefined;
  } catch {
    return undefined;
  }
}

/**
 * BPF links a process holds (a link's fdinfo has `link_id:`). Counted per process: other
 * tracers share the machine, so a global `bpftool link list` count moves under a test's feet.
 */
export function linksHeldBy(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fdinfo`).filter((fd) => {
      try {
        return readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8').includes('link_id:');
      } catch {
        return false;
      }
    }).length;
  } catch {
    return 0;
  }
}

/** Resolves with the runner's pid once the `tapfleet run` process `pid` has a runner holding at least one link. */
export async function attachedRunner(pid: number, timeoutMs = 15_000): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  let runner: number | undefined;
  while (Date.now() < deadline) {
    runner ??= runnerOf(pid);
    if (runner && linksHeldBy(runner) > 0) return runner;
    await new Promise((r) => setTimeout(r, 50));
  }
  return undefined;
}
