/**
 * Compiling for this host: the compiler takes profiles, and here they are read from this
 * machine (its tracepoints' formats from tracefs, its binaries' ELF) for the targets a script names.
 */
import { existsSync } from 'node:fs';
import type { Bundle } from '@tapfleet/schemas';
import { compileBundle, scriptTargets, type Alias, type CompileOptions, type HostProfiles } from '@tapfleet/compiler';
import { hostKernelProfile, readBinaryProfile } from '@tapfleet/runner';

/** Reads the profiles a script needs from this host: its tracepoints' formats and its binaries' ELF. */
export function profilesForScript(file: string, text: string, tapsets: Alias[], binaryPaths: Record<string, string>, params: readonly string[] = []): HostProfiles {
  const { binaries, tracepoints } = scriptTargets(file, text, tapsets, binaryPaths, params);
  return {
    kernel: hostKernelProfile(tracepoints, { btfDigest: false }),
    // Missing binaries are left to the compiler, which reports them at the probe point.
    binaries: binaries.filter((p) => p.startsWith('/') && existsSync(p)).map(readBinaryProfile),
  };
}

/** Script -> signed bundle for this host: compileBundle with the profiles read here. */
export function compileForThisHost(file: string, text: string, options: Omit<CompileOptions, 'profiles'>): Promise<Bundle> {
  return compileBundle(file, text, { ...options, profiles: profilesForScript(file, text, options.tapsets ?? [], options.binaryPaths ?? {}, options.params ?? []) });
}
