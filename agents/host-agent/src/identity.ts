import { readFileSync } from 'node:fs';
import { HostId, parseOrThrow } from '@tapfleet/schemas';

export interface HostIdentity {
  hostId: string;
  bootId: string;
}

/** Host id: configured, else /etc/machine-id. Boot id: the kernel's, so sequences restart per boot. */
export function hostIdentity(configuredHostId: string | undefined): HostIdentity {
  let hostId = configuredHostId;
  if (!hostId) {
    try {
      hostId = readFileSync('/etc/machine-id', 'utf8').trim();
    } catch (e) {
      throw new Error(`no host id configured and /etc/machine-id is unreadable (${(e as NodeJS.ErrnoException).code}); pass --host-id`);
    }
  }
  return {
    hostId: parseOrThrow(HostId, hostId, 'host id'),
    bootId: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(),
  };
}
