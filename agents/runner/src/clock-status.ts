import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { KernelClockStatus } from '@tapfleet/schemas';

/** Built next to the runner by `tapfleet setup` (make -C agents/runner). */
export const CLOCK_STATUS_BINARY = fileURLToPath(new URL('../build/tapfleet-clock-status', import.meta.url));

export class ClockStatusError extends Error {
  readonly code = 'TAPFLEET_CLOCK_STATUS';
  constructor(message: string) {
    super(message);
    this.name = 'ClockStatusError';
  }
}

/**
 * The kernel's clock discipline (adjtimex), read through tapfleet-clock-status: Node has no
 * adjtimex. Rejects with a ClockStatusError saying why (missing program, bad output).
 */
export function readKernelClockStatus(binary = CLOCK_STATUS_BINARY): Promise<KernelClockStatus> {
  return new Promise((resolve, reject) => {
    execFile(binary, [], { timeout: 2000 }, (err, stdout, stderr) => {
      if (err) return reject(new ClockStatusError(`${binary}: ${stderr.trim() || err.message}`));
      let json: unknown;
      try {
        json = JSON.parse(stdout);
      } catch {
        return reject(new ClockStatusError(`${binary} printed no JSON: ${stdout.slice(0, 200)}`));
      }
      const parsed = KernelClockStatus.safeParse(json);
      if (!parsed.success) return reject(new ClockStatusError(`${binary}: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`));
      resolve(parsed.data);
    });
  });
}
