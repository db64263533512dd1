import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where cgroup v2 is mounted (/sys/fs/cgroup on unified hosts, /sys/fs/cgroup/unified on hybrid ones), if it is. */
export function cgroup2Root(): string | undefined {
  try {
    return readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')).find((f) => f[2] === 'cgroup2')?.[1];
  } catch {
    return undefined;
  }
}

/**
 * A cgroup v2 directory of its own for one `tapfleet run -c` shell: every process the shell
 * starts inherits it, and the kernel-side scope check (bpf_get_current_cgroup_id) then sees
 * exactly the command's process tree, with no pid list to keep up to date.
 */
export class RunCgroup {
  private constructor(readonly dir: string) {}

  /** Creates the directory and moves `pid` (still stopped, so before it forks) into it. */
  static create(pid: number): RunCgroup {
    const root = cgroup2Root();
    if (!root) throw new Error('no cgroup v2 hierarchy is mounted (needed to trace every process of a shell command)');
    const dir = join(root, `tapfleet-run-${pid}`);
    mkdirSync(dir);
    try {
      writeFileSync(join(dir, 'cgroup.procs'), String(pid));
    } catch (e) {
      rmdirSync(dir);
      throw new Error(`cannot move pid ${pid} into ${dir}: ${(e as Error).message}`);
    }
    return new RunCgroup(dir);
  }

  /** Pids still in it (background jobs the shell left behind). */
  members(): number[] {
    try {
      return readFileSync(join(this.dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  }

  /** Removes the directory; the kernel refuses while a process is still in it, which the caller reports. */
  remove(): boolean {
    try {
      rmdirSync(this.dir);
      return true;
    } catch {
      return false;
    }
  }
}
