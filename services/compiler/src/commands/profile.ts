import { readBinaryProfile } from '@tapfleet/runner';
import { hostKernelProfile } from '@tapfleet/runner';
import type { Command } from '@tapfleet/runtime';

export const profileCommand: Command = {
  path: ['profile'],
  summary: "print this host's kernel profile (and binary profiles) as JSON, the input compiles are made from",
  options: {
    tracepoint: { type: 'string', multiple: true, description: 'include the format of this tracepoint (SUBSYS:EVENT)', valueName: 'TP' },
    all: { type: 'boolean', description: 'include every tracepoint format (large)' },
    binary: { type: 'string', multiple: true, description: 'include the profile of this ELF binary', valueName: 'PATH' },
  },
  async run(values, _p, { out }) {
    const kernel = hostKernelProfile(values.all ? 'all' : ((values.tracepoint as string[] | undefined) ?? []));
    const binaries = ((values.binary as string[] | undefined) ?? []).map(readBinaryProfile);
    out(JSON.stringify({ kernel, binaries }, null, 2));
    return 0;
  },
};
