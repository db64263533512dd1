import { readFileSync, writeFileSync } from 'node:fs';
import { readBinaryProfile } from '@tapfleet/runner';
import { hostKernelProfile } from '@tapfleet/runner';
import { parseOrThrow } from '@tapfleet/schemas';
import { stringOption, type Command } from '@tapfleet/runtime';
import { readKernelImage } from '../kernel-image/kernel-image.js';
import { deriveKernelProfile } from '../kernel-image/derive-profile.js';
import { ProfileFile } from './compile.js';

export const profileCommand: Command = {
  path: ['profile'],
  summary: "print this host's kernel profile (and binary profiles) as JSON, the input compiles are made from; or derive one from a kernel image's BTF",
  options: {
    tracepoint: { type: 'string', multiple: true, description: 'include the format of this tracepoint (SUBSYS:EVENT)', valueName: 'TP' },
    all: { type: 'boolean', description: 'include every tracepoint format (large)' },
    binary: { type: 'string', multiple: true, description: 'include the profile of this ELF binary', valueName: 'PATH' },
    'from-vmlinux': { type: 'string', description: 'derive the kernel profile from this kernel image (vmlinux, vmlinuz/bzImage, arm64 Image) without running it', valueName: 'FILE' },
    'names-from': { type: 'string', description: "with --from-vmlinux: a profile whose tracepointNames say each event's subsystem (BTF lacks it); default: this host's tracefs", valueName: 'PROFILE' },
    out: { type: 'string', description: 'write the JSON here instead of stdout', valueName: 'FILE' },
  },
  async run(values, _p, { out, log }) {
    const image = stringOption(values, 'from-vmlinux');
    let text: string;
    if (image) {
      const namesFrom = stringOption(values, 'names-from');
      const names = namesFrom ? parseOrThrow(ProfileFile, JSON.parse(readFileSync(namesFrom, 'utf8')), namesFrom).kernel.tracepointNames ?? [] : hostKernelProfile().tracepointNames ?? [];
      const derived = deriveKernelProfile(readKernelImage(image), names);
      text = JSON.stringify({ kernel: derived.profile, binaries: [], method: derived.method, underived: derived.underived }, null, 1);
      const formats = Object.keys(derived.profile.tracepoints).length;
      log.info({ image, method: derived.method, release: derived.profile.release, arch: derived.profile.arch, buildId: derived.profile.buildId, tracepoints: derived.profile.tracepointNames?.length ?? 0, formats, underived: derived.underived.length }, 'kernel profile derived from image');
    } else {
      const kernel = hostKernelProfile(values.all ? 'all' : ((values.tracepoint as string[] | undefined) ?? []));
      const binaries = ((values.binary as string[] | undefined) ?? []).map(readBinaryProfile);
      text = JSON.stringify({ kernel, binaries }, null, 2);
    }
    const file = stringOption(values, 'out');
    if (file) writeFileSync(file, text + '\n');
    else out(text);
    return 0;
  },
};
