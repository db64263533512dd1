import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BinaryRef, KernelSummary } from '@tapfleet/schemas';

export interface HostProfilesJob {
  /** NAME -> path of each probed binary the config names. */
  binaries: Record<string, string>;
}

/** A profile as the agent keeps it: what the hello says of it, and its gzipped JSON to send once. */
export interface ReadHostProfiles {
  kernel: KernelSummary & { body: Uint8Array };
  binaries: (BinaryRef & { body: Uint8Array })[];
}

/** Reads this host's profiles in a child process (host-profile-child.ts says why); rejects with the reader's error. */
export function readHostProfiles(job: HostProfilesJob): Promise<ReadHostProfiles> {
  return new Promise((resolve, reject) => {
    // `advanced`: the gzipped bodies cross as bytes, not as JSON arrays of numbers.
    const child = fork(fileURLToPath(new URL('./host-profile-child.js', import.meta.url)), [JSON.stringify(job)], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let answered = false;
    child.once('message', (m: ReadHostProfiles | { error: string }) => {
      answered = true;
      if ('error' in m) reject(new Error(m.error));
      else resolve(m);
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (!answered) reject(new Error(`the host profile reader exited (${signal ?? `code ${code}`}) without an answer`));
    });
  });
}
