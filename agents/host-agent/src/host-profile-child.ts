/**
 * Child-process entry (host-profile-read.ts): reads this host's profiles (the kernel's every
 * tracepoint format, ~2 MB as JSON, and the named binaries' ELF) and hands back only what the
 * agent keeps: digests, summaries and the gzipped bodies to send. The full objects live and die
 * in this process, whose memory all goes back when it exits. Read in the agent itself they
 * grew its heap for good (idle RSS ~120 MB instead of ~70); a worker thread still left ~12 MB
 * of its malloc arena behind.
 */
import { gzipSync } from 'node:zlib';
import { hostKernelProfile, readBinaryProfile } from '@tapfleet/runner';
import { canonicalJson, sha256Hex } from '@tapfleet/schemas';
import type { HostProfilesJob, ReadHostProfiles } from './host-profile-read.js';

const job = JSON.parse(process.argv[2] ?? '{}') as HostProfilesJob;
let answer: ReadHostProfiles | { error: string };
try {
  const kernel = hostKernelProfile('all');
  const kernelJson = canonicalJson(kernel);
  answer = {
    kernel: { buildId: kernel.buildId, release: kernel.release, version: kernel.version, arch: kernel.arch, profileDigest: sha256Hex(kernelJson), body: gzipSync(kernelJson) },
    binaries: Object.entries(job.binaries).map(([name, path]) => {
      const profile = readBinaryProfile(path);
      const json = canonicalJson(profile);
      return { name, path: profile.path, buildId: profile.buildId, profileDigest: sha256Hex(json), body: gzipSync(json) };
    }),
  };
} catch (e) {
  answer = { error: (e as Error).message };
}
process.send!(answer, () => process.disconnect());
