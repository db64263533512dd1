import type { Command } from '@tapfleet/runtime';
import { BUILD_PACKAGES, ensureDebianPackages, STACK_PACKAGES } from './debian-packages.js';
import { ensureTracefs } from './tracefs.js';

/**
 * `tapfleet setup`: everything a fresh machine needs before the stack and the
 * runner can work. Idempotent and quiet when nothing is missing.
 */
export const setupCommand: Command = {
  path: ['setup'],
  summary: 'install missing Debian packages (servers and the BPF toolchain) and mount tracefs',
  async run(_v, _p, { log }) {
    ensureDebianPackages([...STACK_PACKAGES, ...BUILD_PACKAGES], log);
    ensureTracefs(log);
    return 0;
  },
};
