import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import type { Logger } from '@tapfleet/runtime';

const CGROUP_DIR = '/sys/fs/cgroup';

const cgroup2Mounted = () => readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[2] === 'cgroup2');

/**
 * Agents scoped by cgroup and `tapfleet run -c` with shell syntax need a cgroup v2 hierarchy.
 * Every systemd host has one; a fresh sysfs (a container, `ip netns exec`) may not: mount it.
 */
export function ensureCgroup2(log: Logger): 'mounted' | 'already' | 'unavailable' {
  if (cgroup2Mounted()) return 'already';
  if (process.getuid?.() !== 0 || !existsSync(CGROUP_DIR)) {
    log.warn(`no cgroup v2 hierarchy is mounted and ${CGROUP_DIR} cannot be used: cgroup scopes will not work`);
    return 'unavailable';
  }
  execFileSync('mount', ['-t', 'cgroup2', 'none', CGROUP_DIR]);
  log.info({ path: CGROUP_DIR }, 'mounted cgroup2');
  return 'mounted';
}
