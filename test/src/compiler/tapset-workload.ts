import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { DecodedEvent } from '@tapfleet/schemas';
import { DEFAULT_DATA_DIR, PROJECT_ROOT } from '@tapfleet/runtime';
import { loadTapsets, type Alias } from '@tapfleet/compiler';
import { traceCommand, type TraceRun } from './kernel-harness.js';

/** This file's ports inside the test netns (tapset tests: 43500-43519). */
export const TAPSET_PORTS = 43500;
const PYTHON = '/usr/bin/python3.11';
const WORKLOAD = join(PROJECT_ROOT, 'test', 'tapsets', 'workload.py');

export type Mode = 'syscalls' | 'sched' | 'tcp' | 'block';

export interface WorkloadRun extends TraceRun {
  /** What test/tapsets/workload.py wrote to facts-MODE.json: its pid, fds, addresses. */
  facts: Record<string, number | string>;
  /** Events named `name`. */
  named(name: string): DecodedEvent[];
}

/** The tapsets' aliases, loaded once (every file must parse cleanly). */
export function tapsetAliases(): Alias[] {
  const { aliases, diagnostics } = loadTapsets();
  if (diagnostics.length) throw new Error(diagnostics.map((d) => d.message).join('\n'));
  return aliases;
}

/**
 * Runs test/tapsets/workload.py MODE under `script` (with the tapsets), on a fresh directory
 * under the data dir (on this VM's block device, so direct writes reach the disk).
 * `scoped`: trace only the workload's cgroup; unscoped, every process fires and the script
 * picks the workload's events (by its comm, tf-MODE): scheduler, block completion and TCP
 * events fire in other tasks' or interrupt context, which a scope would hide.
 */
export async function runWorkload(mode: Mode, script: string, opts: { scoped: boolean; port?: number }): Promise<WorkloadRun> {
  const dir = join(DEFAULT_DATA_DIR, 'tapset-tests', mode);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const argv = [PYTHON, WORKLOAD, mode, dir, ...(opts.port !== undefined ? [String(opts.port)] : [])];
  const r = await traceCommand(script, argv, { tapsets: tapsetAliases(), ringBufferBytes: 16 << 20, ...(opts.scoped ? { commandTree: true } : {}) });
  if (r.commandExit !== 0) throw new Error(`workload ${mode} exited with ${r.commandExit}`);
  const facts = JSON.parse(readFileSync(join(dir, `facts-${mode}.json`), 'utf8')) as Record<string, number | string>;
  return { ...r, facts, named: (name) => r.collected.filter((e) => e.name === name).map((e) => e.fields) };
}
