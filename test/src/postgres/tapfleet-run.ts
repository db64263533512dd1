import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { z } from 'zod/v3';
import { PROJECT_ROOT } from '@tapfleet/runtime';

/** `tapfleet run --json` lines: events (builtins plus the emitted fields) and, at the end, maps. */
export const EventLine = z.object({ event: z.string(), pid: z.number().finite(), tid: z.number().finite(), ktime_ns: z.number().finite(), comm: z.string() }).catchall(z.union([z.number().finite(), z.string()]));
export type EventLine = z.infer<typeof EventLine>;
export const MapLine = z.object({ map: z.string(), kind: z.string(), entries: z.array(z.object({ key: z.array(z.number().finite()), value: z.number().finite() })) });
export type MapLine = z.infer<typeof MapLine>;

export interface RunOutput {
  code: number | null;
  stdout: string;
  stderr: string;
  events: EventLine[];
  maps: MapLine[];
}

/** The `tapfleet run` CLI (its pid, to wait for its runner's attach) and its parsed output once it exits. */
export function tapfleetRun(args: string[]): { pid: number; done: Promise<RunOutput> } {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'tapfleet.js'), 'run', '--json', ...args], { env: process.env, cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const done = new Promise<RunOutput>((resolve) =>
    child.on('exit', (code) => {
      const lines = stdout.split('\n').filter((l) => l.startsWith('{'));
      resolve({
        code, stdout, stderr,
        events: lines.filter((l) => l.startsWith('{"type":"event"')).map((l) => EventLine.parse(JSON.parse(l))),
        maps: lines.filter((l) => l.startsWith('{"type":"map"')).map((l) => MapLine.parse(JSON.parse(l))),
      });
    }),
  );
  return { pid: child.pid!, done };
}
