import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import type { Logger } from '@tapfleet/runtime';

export const TRACEFS = '/sys/kernel/tracing';

/** The runner needs tracefs for tracepoint ids and uprobe_events; mount it if it is not. */
export function ensureTracefs(log: Logger): 'mounted' | 'already' | 'not-root' {
  if (existsSync(`${TRACEFS}/events`)) return 'already';
  if (process.getuid?.() !== 0) {
    log.warn(`tracefs is not mounted at ${TRACEFS} and this is not root: tracing will not work`);
    return 'not-root';
  }
  execFileSync('mount', ['-t', 'tracefs', 'nodev', TRACEFS]);
  log.info({ path: TRACEFS }, 'mounted tracefs');
  return 'mounted';
}
