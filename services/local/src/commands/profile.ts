import { readFileSync, writeFileSync } from 'node:fs';
import { parseOrThrow, ProfileFile } from '@tapfleet/schemas';
import { stringOption, type Command } from '@tapfleet/runtime/light';

export const profileCommand: Command = {
  path: ['profile'],
  summary: "print this host's kernel profile (and binary profiles) as JSON, the input compiles are made from; or derive one from a kernel image without running it",
  options: {
    tracepoint: { type: 'string', multiple: true, description: 'include the format of this tracepoint (SUBSYS:EVENT)', valueName: 'TP' },
    all: { type: 'boolean', description: 'include every tracepoint format (large)' },
    binary: { type: 'string', multiple: true, description: 'include the profile of this ELF binary', valueName: 'PATH' },
    'from-vmlinux': { type: 'string', description: 'derive the kernel profile from this kernel image (vmlinux, vmlinuz/bzImage, arm64 Image) without running it', valueName: 'FILE' },
    'names-from': {
      type: 'string',
      description: "with --from-vmlinux: a profile (.json or .json.gz) whose tracepointNames give the x86_64 syscall table (and, for bare BTF, events' subsystems); default: this host's tracefs",
      valueName: 'PROFILE',
    },
    out: { type: 'string', description: 'write the JSON here instead of stdout', valueName: 'FILE' },
  },
  details:
    'With --from-vmlinux the profile lists every tracepoint the image has with its format, read from the\n' +
    "kernel's own event and syscall tables and BTF; what cannot be derived is listed under \"underived\" with why.",
  async run(values, _p, { out, log }) {
    const image = stringOption(values, 'from-vmlinux');
    const file = stringOption(values, 'out');
    let text: string;
    const { hostKernelProfile, readBinaryProfile, tracepointNames } = await import('@tapfleet/runner');
    if (image) {
      const { readKernelImage, deriveKernelProfile } = await import('@tapfleet/compiler');
      const namesFrom = stringOption(values, 'names-from');
      const reference = namesFrom ? (parseOrThrow(ProfileFile, JSON.parse(await readProfileText(namesFrom)), namesFrom).kernel.tracepointNames ?? []) : tracepointNames();
      const derived = deriveKernelProfile(readKernelImage(image), reference);
      text = JSON.stringify({ kernel: derived.profile, binaries: [], method: derived.method, underived: derived.underived }, null, 1);
      const k = derived.profile;
      const formats = Object.keys(k.tracepoints).length;
      log.info({ image, method: derived.method, release: k.release, arch: k.arch, buildId: k.buildId, tracepoints: k.tracepointNames?.length ?? 0, formats, underived: derived.underived.length }, 'kernel profile derived from image');
      if (file) out(`${file}: ${k.release} ${k.arch} build-id ${k.buildId}: ${k.tracepointNames?.length ?? 0} tracepoints, ${formats} with formats, ${derived.underived.length} not derived (from ${derived.method})`);
    } else {
      const kernel = hostKernelProfile(values.all ? 'all' : ((values.tracepoint as string[] | undefined) ?? []));
      const binaries = ((values.binary as string[] | undefined) ?? []).map(readBinaryProfile);
      text = JSON.stringify({ kernel, binaries }, null, 2);
    }
    if (file) writeFileSync(file, text + '\n');
    else out(text);
    return 0;
  },
};

/**
 * A profile file as `tapfleet profile` writes it, or gzipped as test/fixtures/kernels keeps them.
 * zlib is loaded only for a gzipped one: this file is in the command table every `run` loads.
 */
async function readProfileText(path: string): Promise<string> {
  const raw = readFileSync(path);
  return (path.endsWith('.gz') ? (await import('node:zlib')).gunzipSync(raw) : raw).toString('utf8');
}
